"""Head-to-head: JaxMARL's own IPPO and MAPPO baselines, unmodified, against our recipe.

    python benchmarks/jaxmarl_head_to_head.py --jaxmarl PATH            # 5 seeds, recipe budget
    python benchmarks/jaxmarl_head_to_head.py --jaxmarl PATH --seeds 2 --steps 16384 --out /tmp/x
    python benchmarks/jaxmarl_head_to_head.py --jaxmarl PATH --setting 11 --tag cpu_heldout11
    python benchmarks/jaxmarl_head_to_head.py --methods ours_mappo,jaxmarl_mappo --seeds 3 \
        --set 'ppo.net_arch={pi: [64, 64], vf: [64, 64]}' --reuse OLD/result.json --tag t

PATH is a JaxMARL checkout (`git clone https://github.com/FLAIROx/JaxMARL`): its baseline files
(baselines/IPPO/ippo_ff_mpe.py, baselines/MAPPO/mappo_rnn_mpe.py) are imported from there as
they are, and run on our env through agentic_jax.compat.jaxmarl.JaxMARLEnv with their shipped
hyperparameters; nothing of them is copied here. Needs the marl-baselines extra
(`pip install -e ".[marl-baselines]"`: jaxmarl, hydra-core, omegaconf, wandb) and a checkout of
the installed jaxmarl's version. Every method trains on the recipe's env (configs/select.yaml)
for the same env steps, and every final policy is evaluated on the same fixed episodes as every
rule. `--setting K` trains and evaluates every method on held-out setting K of
configs/heldout.yaml instead (its values replace the recipe's env: values, as
benchmarks/heldout.py applies them; recorded in meta.json and result.md). Reports the paired
margin over the best rule (IQM, 95% CI, rliable), learning curves, env steps/s, run and compile
time in benchmarks/results/jaxmarl_head_to_head/<tag>/ (default tag cpu). `--set` changes our
recipe; `--reuse` takes their runs from an earlier result of the same budget, env and fixed
episodes (checked, docs/jaxmarl.md). A missing checkout,
dependency or version, a setting out of range, or a baseline that raises, prints one line and
exits 2. The logic lives in benchmarks/head_to_head/jaxmarl_*.py; docs/jaxmarl.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's agentic_jax, installed or not

from head_to_head.jaxmarl_main import main  # noqa: E402  (the script's folder is on sys.path)

if __name__ == "__main__":
    sys.exit(main(root=ROOT))
