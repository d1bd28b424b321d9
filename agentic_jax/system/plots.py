"""`learning_curve.png`: episode return and completion rate against env steps, beside the rules.

Two panels sharing the step axis: the training episode return (thin) and the deterministic
evaluation (black, markers) over the heuristics' returns (dashed, one colour each), then the
evaluated completion rate over theirs. The legend sits right of the panels, outside the data;
steps are written in full (`1,200,000`), without an offset.
"""

from __future__ import annotations

import os
from pathlib import Path

from agentic_jax.training.store import PLOT_FILE, read_records

# colours of the rules: tab10 without its blue (training) and grey; the evaluation is black
RULE_COLOURS = ("tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
                "tab:olive", "tab:cyan")


def plot_learning_curve(run_dir: str | Path, heuristics: dict[str, dict[str, float]] | None = None,
                        path: str | Path | None = None) -> Path:
    """Draw the run's learning curve (heuristic baselines as dashed lines) and save it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    run_dir = Path(run_dir)
    path = Path(path) if path is not None else run_dir / PLOT_FILE
    train = read_records(run_dir, "train")
    evals = read_records(run_dir, "eval")
    fig, (ret, done) = plt.subplots(2, 1, figsize=(9, 6), sharex=True,
                                    gridspec_kw={"height_ratios": [3, 2]})
    if train:
        ret.plot([r["timestep"] for r in train], [r["episode_return"] for r in train],
                 color="tab:blue", alpha=0.45, lw=1, label="training episode return")
    if evals:
        steps = [r["timestep"] for r in evals]
        ret.plot(steps, [r["mean_reward"] for r in evals], "o-", color="black", lw=2, ms=4,
                 label="learned policy (evaluation)")
        done.plot(steps, [r["completion_rate"] for r in evals], "o-", color="black", lw=2, ms=4)
    for i, (name, metrics) in enumerate((heuristics or {}).items()):
        style = {"ls": "--", "lw": 1.2, "color": RULE_COLOURS[i % len(RULE_COLOURS)]}
        ret.axhline(metrics["mean_reward"], label=name, **style)
        if "completion_rate" in metrics:
            done.axhline(metrics["completion_rate"], **style)
    ret.set_ylabel("episode return")
    ret.set_title("learning curve")
    done.set_ylabel("completion rate")
    done.set_xlabel("env steps")
    done.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    for ax in (ret, done):
        ax.grid(alpha=0.3)
    ret.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp")  # written whole, then renamed over the old one
    try:
        fig.savefig(tmp, dpi=100, format="png", bbox_inches="tight")
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path
