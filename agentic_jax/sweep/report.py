"""A sweep's results the way the field reports them: rliable statistics per setting, and the files.

Every member (setting x seed) and every heuristic is evaluated on the same fixed episodes (common
random numbers), so a member's return on episode `e` and a heuristic's return on episode `e` are
paired. Per setting this module reports the interquartile mean (IQM) with a 95% stratified
bootstrap confidence interval, the probability of improvement over the best heuristic on the
paired episodes, and the paired margin over it with its CI; all through rliable (`library`,
`metrics`).

A leaf: NumPy and rliable only. The sweep engine calls `summarize`, then `write_results`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
from rliable import library, metrics

DEFAULT_REPS = 2000      # bootstrap replications (rliable's own default for profiles)
BOOTSTRAP_SEED = 0       # fixed, so a report is reproducible
CONFIDENCE = 0.95
RESULTS_CSV = "results.csv"
RESULTS_JSON = "results.json"

# the columns of results.csv, in order; a heuristic row fills only setting, kind and mean
COLUMNS = (
    "setting", "kind", "n_seeds", "mean", "median", "iqm", "iqm_ci_low", "iqm_ci_high",
    "best_heuristic", "best_heuristic_mean", "prob_improvement",
    "paired_margin_mean", "paired_margin_ci_low", "paired_margin_ci_high", "completion_mean",
)
TEXT_COLUMNS = ("setting", "kind", "best_heuristic")
SETTING, HEURISTIC = "setting", "heuristic"      # the values of a row's `kind`


@contextlib.contextmanager
def rliable_seed(seed: int) -> Iterator[None]:
    """Seed NumPy's global RNG for the block (rliable's bootstrap draws from it), then restore it.

    rliable 1.2's `StratifiedBootstrap.update_indices` draws with `np.random.choice`, the global
    RNG, and its `random_state` argument only reaches arch's generator, which those indices never
    use. So a fixed seed has to go through the global RNG; restoring its state afterwards keeps
    the caller's own random stream as it was.
    """
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def bootstrap_ci(scores: np.ndarray | Sequence[np.ndarray], func: Callable[..., float],
                 reps: int = DEFAULT_REPS,
                 seed: int = BOOTSTRAP_SEED) -> tuple[float, float, float]:
    """A statistic and its 95% stratified bootstrap CI, by `rliable.library.get_interval_estimates`.

    Args:
        scores: `(n_runs, n_tasks)` scores, or a list of such arrays (their runs resampled
            independently, rliable's `StratifiedIndependentBootstrap`) passed to `func` in order.
        func: the scalar statistic, e.g. `metrics.aggregate_iqm`.
        reps: bootstrap replications.
        seed: seed of the resampling.

    Returns:
        `(point, ci_low, ci_high)` as floats.
    """
    def statistic(*arrays: np.ndarray) -> np.ndarray:
        return np.array([func(*arrays)])

    with rliable_seed(seed), warnings.catch_warnings():
        # scipy's Mann-Whitney test warns about its p-value when every score ties; rliable
        # uses only its U statistic, which is exact (0.5 per tie) then
        warnings.simplefilter("ignore", RuntimeWarning)
        point, interval = library.get_interval_estimates(
            {"x": scores}, statistic, reps=reps, confidence_interval_size=CONFIDENCE)
    return float(point["x"][0]), float(interval["x"][0, 0]), float(interval["x"][1, 0])


def _check_inputs(final_returns: Mapping[str, np.ndarray],
                  heuristic_returns: Mapping[str, np.ndarray],
                  completion: Mapping[str, np.ndarray]) -> None:
    """Raise a ValueError naming the setting or heuristic whose array has the wrong shape."""
    if not final_returns:
        raise ValueError("final_returns is empty: no setting to summarize")
    n_episodes = None
    for label, returns in final_returns.items():
        returns = np.asarray(returns)
        if returns.ndim != 2 or 0 in returns.shape:
            raise ValueError(f"final_returns[{label!r}] must be (n_seeds, n_episodes), "
                             f"got shape {returns.shape}")
        if n_episodes is not None and returns.shape[1] != n_episodes:
            raise ValueError(f"final_returns[{label!r}] has {returns.shape[1]} episodes, "
                             f"other settings {n_episodes}: the episodes must be the same")
        n_episodes = returns.shape[1]
        if not np.all(np.isfinite(returns)):
            raise ValueError(f"final_returns[{label!r}] holds non-finite returns")
        if label not in completion or np.shape(completion[label]) != (returns.shape[0],):
            raise ValueError(f"completion[{label!r}] must be ({returns.shape[0]},) "
                             f"(one rate per seed)")
    for name, returns in heuristic_returns.items():
        if np.shape(returns) != (n_episodes,):
            raise ValueError(f"heuristic_returns[{name!r}] must be ({n_episodes},) "
                             f"(the settings' episodes), got {np.shape(returns)}")
        if not np.all(np.isfinite(returns)):
            raise ValueError(f"heuristic_returns[{name!r}] holds non-finite returns")


def _setting_row(label: str, returns: np.ndarray, completion: np.ndarray,
                 best: tuple[str, np.ndarray] | None, reps: int, seed: int) -> dict:
    """The statistics of one setting; `best` is the best heuristic's name and `(n_episodes,)`."""
    # A seed's score is its mean return over the fixed episodes: one run on one task, so the
    # stratified bootstrap (one stratum) resamples seeds. The seed is the unit that was drawn at
    # random; the episodes are fixed by design and their noise is already averaged within a run.
    # Taking episodes as tasks would let rliable resample seeds independently per episode, which
    # breaks each seed's correlation across episodes and narrows the CI as episodes are added,
    # though the evidence still comes from n_seeds trainings.
    seed_means = returns.mean(axis=1)
    iqm, iqm_low, iqm_high = bootstrap_ci(seed_means[:, None], metrics.aggregate_iqm, reps, seed)
    row = {
        "setting": label, "kind": SETTING, "n_seeds": int(returns.shape[0]),
        "mean": float(np.mean(seed_means)), "median": float(np.median(seed_means)),
        "iqm": iqm, "iqm_ci_low": iqm_low, "iqm_ci_high": iqm_high,
        "completion_mean": float(np.mean(completion)),
    }
    if best is None:
        return {key: row.get(key) for key in COLUMNS}
    name, rule = best
    # Probability of improvement with episodes as tasks (rliable's layout): per episode the
    # fraction of seeds beating the heuristic's return on that same episode (ties count half),
    # averaged over episodes. No CI: rliable's runs one Mann-Whitney test per episode per
    # replicate (about a minute per setting at 2000 replicates on a CPU core), not cheap.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # see `bootstrap_ci`
        poi = float(metrics.probability_of_improvement(returns, rule[None, :]))
    margins = (returns - rule[None, :]).mean(axis=1)      # (n_seeds,) paired per-episode margins
    margin, margin_low, margin_high = bootstrap_ci(margins[:, None], metrics.aggregate_mean,
                                                   reps, seed)
    row.update({
        "best_heuristic": name, "best_heuristic_mean": float(np.mean(rule)),
        "prob_improvement": poi, "paired_margin_mean": margin,
        "paired_margin_ci_low": margin_low, "paired_margin_ci_high": margin_high,
    })
    return {key: row.get(key) for key in COLUMNS}


def summarize(final_returns: Mapping[str, np.ndarray], heuristic_returns: Mapping[str, np.ndarray],
              completion: Mapping[str, np.ndarray], *, reps: int = DEFAULT_REPS,
              seed: int = BOOTSTRAP_SEED) -> list[dict]:
    """One row of rliable statistics per setting, best IQM first, then one row per heuristic.

    Args:
        final_returns: setting label -> `(n_seeds, n_episodes)` returns of each member's best
            model on the final fixed episodes (the same episodes for every setting).
        heuristic_returns: heuristic name -> `(n_episodes,)` returns on those same episodes.
        completion: setting label -> `(n_seeds,)` final completion rates.
        reps: bootstrap replications per confidence interval.
        seed: seed of every bootstrap (each CI is drawn from the same seed, so a setting's row
            does not depend on which other settings are in the sweep).

    Returns:
        Dicts with the keys of `COLUMNS`. Setting rows (`kind == "setting"`) sorted by IQM, best
        first; then heuristic rows (`kind == "heuristic"`, by mean), which fill only `setting`
        (the heuristic's name), `kind` and `mean`; the rest is None. Without heuristics the
        comparison columns are None.
    """
    _check_inputs(final_returns, heuristic_returns, completion)
    rules = {name: np.asarray(r, dtype=np.float64) for name, r in heuristic_returns.items()}
    best_name = max(rules, key=lambda name: float(np.mean(rules[name])), default=None)
    best = None if best_name is None else (best_name, rules[best_name])
    rows = [_setting_row(label, np.asarray(returns, dtype=np.float64),
                         np.asarray(completion[label], dtype=np.float64), best, reps, seed)
            for label, returns in final_returns.items()]
    rows.sort(key=lambda row: row["iqm"], reverse=True)
    heuristic_rows = [{**dict.fromkeys(COLUMNS), "setting": name, "kind": HEURISTIC,
                       "mean": float(np.mean(r))} for name, r in rules.items()]
    heuristic_rows.sort(key=lambda row: row["mean"], reverse=True)
    return rows + heuristic_rows


def _write_atomic(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as open() would (mkstemp's are 0600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_results(sweep_dir: str | Path, rows: Sequence[Mapping]) -> str:
    """Write `results.csv` and `results.json` into `sweep_dir` atomically; return Markdown.

    Args:
        sweep_dir: the sweep's directory (created if missing).
        rows: the rows of `summarize`.

    Returns:
        `markdown_table(rows)`.
    """
    sweep_dir = Path(sweep_dir)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    rows = [{key: row.get(key) for key in COLUMNS} for row in rows]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)       # None is written as an empty cell
    # both texts first: a row JSON cannot hold (NaN) fails before either file is touched
    as_json = json.dumps(rows, indent=2, allow_nan=False) + "\n"
    _write_atomic(sweep_dir / RESULTS_CSV, buffer.getvalue())
    _write_atomic(sweep_dir / RESULTS_JSON, as_json)
    return markdown_table(rows)


def load_results(sweep_dir: str | Path) -> list[dict]:
    """The rows `write_results` wrote to `sweep_dir/results.json`."""
    return json.loads((Path(sweep_dir) / RESULTS_JSON).read_text(encoding="utf-8"))


def _ci(row: Mapping, key: str, prefix: str, fmt: str) -> str:
    """`value [low, high]` of `row[key]` and `row[prefix_ci_low/high]`, or a dash when absent."""
    if row.get(key) is None:
        return "—"
    low, high = row.get(f"{prefix}_ci_low"), row.get(f"{prefix}_ci_high")
    if low is None or high is None:
        return fmt.format(row[key])
    return f"{fmt.format(row[key])} [{fmt.format(low)}, {fmt.format(high)}]"


def markdown_table(rows: Sequence[Mapping]) -> str:
    """A Markdown table of `summarize`'s rows: settings first, then the heuristics (marked rule).

    Columns: setting, seeds, IQM [95% CI], mean, median, P(improvement) over the best heuristic,
    paired margin vs the best heuristic [95% CI], completion rate.
    """
    header = ("| setting | seeds | IQM [95% CI] | mean | median | P(improvement) "
              "| margin vs best rule | completion |")
    lines = [header, "|---" * 8 + "|"]
    for row in rows:
        name = str(row["setting"]).replace("|", r"\|")
        if row.get("kind") == HEURISTIC:
            cells = [f"rule: {name}", "—", "—", f"{row['mean']:.2f}", "—", "—", "—", "—"]
        else:
            cells = [name, str(row["n_seeds"]), _ci(row, "iqm", "iqm", "{:.2f}"),
                     f"{row['mean']:.2f}", f"{row['median']:.2f}",
                     _ci(row, "prob_improvement", "prob_improvement", "{:.2f}"),
                     _ci(row, "paired_margin_mean", "paired_margin", "{:+.2f}"),
                     f"{row['completion_mean']:.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
