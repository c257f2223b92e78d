"""The benchmarks' one normalized score and regret, and the statistics of regret curves.

Every suite scores a configuration against the task's own evaluations (HPO-B's
normalization): ``score = (value - task min) / (task max - task min)`` (1 =
the task's best evaluated value, 0 = its worst) and the regret of the best
value found is ``1 - score``.

References
----------
Pineda Arango, Jomaa, Wistuba and Grabocka (2021), HPO-B: a large-scale
reproducible benchmark for black-box HPO based on OpenML. NeurIPS Datasets and
Benchmarks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from math import comb
from typing import Any

import numpy as np
import pandas as pd

REPORT_BUDGETS: tuple[int, ...] = (1, 5, 10, 25, 50, 100)
"""The budgets a regret table reports (DESIGN.md's protocol)."""

REGRET_THRESHOLD = 0.05
"""The regret whose first reach `evals_to_regret` counts (DESIGN.md's protocol)."""


def normalized_score(values: Any, lo: Any, hi: Any) -> Any:
    """Return ``(values - lo) / (hi - lo)``, and 1 where ``hi <= lo`` (every value ties).

    Parameters
    ----------
    values : float or numpy.ndarray
        Values, higher is better.
    lo, hi : float or numpy.ndarray
        The task's minimum and maximum value (broadcast against ``values``,
        e.g. one per row).
    """
    span = np.asarray(hi, dtype=float) - lo
    ok = span > 0
    score = np.where(ok, (np.asarray(values, dtype=float) - lo) / np.where(ok, span, 1.0), 1.0)
    return float(score) if np.ndim(score) == 0 else score


def normalized_regret(best_found: Any, lo: Any, hi: Any) -> Any:
    """Return HPO-B's normalized regret of ``best_found``: ``(hi - best_found) / (hi - lo)``.

    This is ``1 - normalized_score(best_found, lo, hi)``, computed as a
    difference from the task's best so that finding the best gives exactly 0
    and equal means over seeds stay equal (mean ranks count ties exactly;
    the committed tabular figures were made with this arithmetic). Clipped to
    ``[0, 1]`` (a surrogate objective may predict past the evaluated range);
    0 where every value ties (``hi <= lo``) and 1 where nothing succeeded yet
    (``best_found`` not finite).
    """
    found = np.asarray(best_found, dtype=float)
    span = np.asarray(hi, dtype=float) - lo
    finite = np.isfinite(found)
    ok = span > 0
    gap = np.where(finite, hi - np.where(finite, found, hi), 0.0)
    regret = np.where(finite, np.where(ok, gap / np.where(ok, span, 1.0), 0.0), 1.0)
    regret = np.clip(regret, 0.0, 1.0)
    return float(regret) if np.ndim(regret) == 0 else regret


def task_scores(values: np.ndarray) -> np.ndarray:
    """Return a task's values as normalized scores against the task's own min and max."""
    y = np.asarray(values, dtype=float)
    return np.asarray(normalized_score(y, float(y.min()), float(y.max())), dtype=float)


def regret_of_picks(values: np.ndarray, picks: Sequence[int] | np.ndarray) -> float:
    """Return the normalized regret of the best of a task's configurations ``picks``.

    ``values`` are all of the task's values (they set its min and max); 1 when
    nothing was picked. Computed as ``1 - normalized_score`` of the best pick,
    the arithmetic the committed zero-shot and portfolio figures were made with.
    """
    y = np.asarray(values, dtype=float)
    if not len(picks):
        return 1.0
    return float(
        1.0 - normalized_score(float(y[list(picks)].max()), float(y.min()), float(y.max()))
    )


def expected_random_regret(normalized: np.ndarray, k: int) -> float:
    """Return the expected regret of the best of ``k`` configurations drawn without replacement.

    Exact: with normalized scores sorted ascending, the ``i``-th smallest
    (1-based) is the best of the draw with probability ``C(i-1, k-1) / C(n, k)``.
    """
    v = np.sort(np.asarray(normalized, dtype=float))
    n = len(v)
    k = min(k, n)
    total = comb(n, k)
    probs = np.array([comb(i - 1, k - 1) / total for i in range(1, n + 1)])
    return float(1.0 - probs @ v)


def best_so_far(values: Sequence[float] | np.ndarray, budget: int) -> np.ndarray:
    """Return the best value after each of ``budget`` evaluations (-inf before a success).

    NaN values are failures; a search that stopped early carries its last best forward.
    """
    found = np.asarray(values, dtype=float)[:budget]
    found = np.where(np.isfinite(found), found, -np.inf)
    best = np.maximum.accumulate(found) if len(found) else np.array([-np.inf])
    return np.concatenate([best, np.full(budget - len(best), best[-1])])[:budget]


def regret_curve(
    values: Sequence[float] | np.ndarray, lo: float, hi: float, budget: int
) -> np.ndarray:
    """Return the normalized regret after each of ``budget`` evaluations of ``values``, in order."""
    return np.asarray(normalized_regret(best_so_far(values, budget), lo, hi), dtype=float)


def curves_frame(curves: Mapping[tuple[str, str], np.ndarray]) -> pd.DataFrame:
    """Return ``(method, task_id) -> (seeds, budget)`` regret arrays as one long frame.

    Columns: method, task_id, seed (position in the seed list), n_evals, regret.
    """
    frames = []
    for (method, task_id), regret in curves.items():
        n_seeds, budget = regret.shape
        frames.append(
            pd.DataFrame(
                {
                    "method": method,
                    "task_id": task_id,
                    "seed": np.repeat(np.arange(n_seeds), budget),
                    "n_evals": np.tile(np.arange(1, budget + 1), n_seeds),
                    "regret": regret.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def change_points(regret: np.ndarray) -> list[list[float]]:
    """Return a regret curve as ``[[n_evals, regret], ...]`` at each evaluation where it changes."""
    keep = np.flatnonzero(np.r_[True, np.diff(regret) != 0])
    return [[int(i) + 1, round(float(regret[i]), 6)] for i in keep]


def expand_change_points(points: Sequence[Sequence[float]], budget: int) -> np.ndarray:
    """Invert `change_points`: the regret after each of ``budget`` evaluations."""
    out = np.empty(budget)
    for (n, value), nxt in zip(points, [*points[1:], [budget + 1, 0.0]], strict=True):
        out[int(n) - 1 : int(nxt[0]) - 1] = value
    return out


def regret_table(curves: pd.DataFrame, budgets: Sequence[int] = REPORT_BUDGETS) -> pd.DataFrame:
    """Mean normalized regret per method (rows) at each budget (columns)."""
    kept = curves[curves["n_evals"].isin(list(budgets))]
    return kept.pivot_table(index="method", columns="n_evals", values="regret", aggfunc="mean")


def mean_rank(curves: pd.DataFrame) -> pd.DataFrame:
    """Mean rank of each method per budget (1 = best; ties share the average rank).

    Regret is averaged over seeds per (task, method, budget), methods are ranked
    within each task and budget, and ranks are averaged over tasks.
    """
    per_task = curves.groupby(["task_id", "n_evals", "method"], as_index=False)["regret"].mean()
    per_task["rank"] = per_task.groupby(["task_id", "n_evals"])["regret"].rank(method="average")
    return per_task.pivot_table(index="method", columns="n_evals", values="rank", aggfunc="mean")


def evals_to_regret(curves: pd.DataFrame, threshold: float = REGRET_THRESHOLD) -> pd.DataFrame:
    """Summarize per method how many evaluations searches needed to reach ``threshold``.

    Returns
    -------
    pandas.DataFrame
        Per method: ``reached`` (share of searches that got there within the
        budget), ``median_evals`` and ``mean_evals`` over the searches that did.
    """
    hit = curves[curves["regret"] <= threshold]
    first = hit.groupby(["method", "task_id", "seed"])["n_evals"].min()
    searches = curves.groupby(["method", "task_id", "seed"]).size()
    rows = []
    for method in sorted(curves["method"].unique()):
        reached = first[first.index.get_level_values("method") == method]
        n = int((searches.index.get_level_values("method") == method).sum())
        rows.append(
            {
                "method": method,
                "reached": len(reached) / n if n else 0.0,
                "median_evals": float(reached.median()) if len(reached) else math.nan,
                "mean_evals": float(reached.mean()) if len(reached) else math.nan,
            }
        )
    return pd.DataFrame(rows).set_index("method")


def summarize_curves(
    frame: pd.DataFrame, methods: Sequence[str], threshold: float = REGRET_THRESHOLD
) -> dict[str, Any]:
    """Return mean regret (and standard error over tasks), mean rank and evaluations to threshold.

    Parameters
    ----------
    frame : pandas.DataFrame
        Long regret curves (method, task_id, seed, n_evals, regret).
    methods : sequence of str
        Order of the methods in the output.
    threshold : float
        The regret to reach for ``evals_to_regret``.
    """
    budget = int(frame["n_evals"].max())
    budgets = [b for b in REPORT_BUDGETS if b <= budget]
    means = regret_table(frame, budgets)
    per_task = frame[frame["n_evals"].isin(budgets)].groupby(["method", "n_evals", "task_id"])
    sem = per_task["regret"].mean().groupby(["method", "n_evals"]).sem()
    ranks = mean_rank(frame)
    reach = evals_to_regret(frame, threshold)
    present = [m for m in methods if m in means.index]
    # Plain dicts: typed scalars for the JSON (pandas' .loc is typed as any cell value).
    mean_of: dict[Any, dict[Any, Any]] = means.to_dict(orient="index")
    sem_of: dict[Any, Any] = sem.to_dict()
    rank_of: dict[Any, dict[Any, Any]] = ranks.to_dict(orient="index")
    reach_of: dict[Any, dict[Any, Any]] = reach.to_dict(orient="index")
    return {
        "budgets": budgets,
        "regret": {m: {str(b): round(float(mean_of[m][b]), 5) for b in budgets} for m in present},
        "regret_sem": {
            m: {str(b): round(float(np.nan_to_num(sem_of[(m, b)])), 5) for b in budgets}
            for m in present
        },
        "rank": {
            m: [round(float(rank_of[m][n]), 4) for n in range(1, budget + 1)] for m in present
        },
        "evals_to_regret": {
            "threshold": threshold,
            **{
                m: {
                    "reached": round(float(reach_of[m]["reached"]), 4),
                    "median_evals": _num(reach_of[m]["median_evals"]),
                    "mean_evals": _num(reach_of[m]["mean_evals"]),
                }
                for m in present
            },
        },
    }


def _num(value: float) -> float | None:
    return None if not math.isfinite(float(value)) else round(float(value), 2)
