"""`learning_curve.png`: training episode return and evaluation reward against env steps."""

from __future__ import annotations

from pathlib import Path

from agentic_jax.system.run_dir import PLOT_FILE, read_records


def plot_learning_curve(run_dir: str | Path, heuristics: dict[str, dict[str, float]] | None = None,
                        path: str | Path | None = None) -> Path:
    """Draw the run's learning curve (heuristic baselines as dashed lines) and save it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    path = Path(path) if path is not None else run_dir / PLOT_FILE
    train = read_records(run_dir, "train")
    evals = read_records(run_dir, "eval")
    fig, ax = plt.subplots(figsize=(7, 4))
    if train:
        ax.plot([r["timestep"] for r in train], [r["episode_return"] for r in train],
                color="tab:blue", alpha=0.5, label="training episode return")
    if evals:
        ax.plot([r["timestep"] for r in evals], [r["mean_reward"] for r in evals],
                "o-", color="tab:red", label="evaluation (deterministic)")
    for i, (name, metrics) in enumerate((heuristics or {}).items()):
        ax.axhline(metrics["mean_reward"], ls="--", lw=1, color=f"C{(i + 2) % 10}", label=name)
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return")
    ax.set_title("learning curve")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
