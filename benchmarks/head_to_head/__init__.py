"""The head-to-head against the seed's Stable-Baselines3 design (``benchmarks/compare.py``).

In one run on one machine, every system trains PPO on the same environment (the seed
configuration's ``env:`` section) and is evaluated, deterministically, on the same fixed
episodes (one key; :mod:`head_to_head.episodes`):

- ``sb3``: SB3 PPO, the seed's exact setup (``DummyVecEnv`` of 4 Gymnasium envs, pi/vf
  ``[256, 256, 128]`` ReLU, lr 3e-4, 2048 steps, batch 64, 10 epochs, torch CPU);
- ``sbx``: SBX PPO with the same setup, when ``sbx-rl`` is installed;
- ``ours_seed`` / ``ours_quick``: our ``make_train`` with configs/default.yaml and
  configs/quick.yaml (``sb3_vec``, SB3 on :class:`agentic_jax.compat.sb3.SB3VecEnv`, on
  request).

It reports env steps/s, wall time to the target (the expertise-greedy heuristic's score on
those episodes) and to the best heuristic's score, the evaluation table at equal env steps and
three ratios (:data:`head_to_head.report.GOALS`), and writes
``benchmarks/results/compare/<tag>/result.json``, ``.md`` and ``.png``.
"""
