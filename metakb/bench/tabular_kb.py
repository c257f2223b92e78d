"""The tabular leave-one-task-out benchmark on the knowledge base's OpenML100 tables.

For every task of an algorithm's :class:`~metakb.models.MetaDataset` (tasks
with at least 100 runs), the task's whole dataset group is held out, each
meta-model is fitted once on the other tasks, and every method searches the
held-out task's evaluated configurations (a lookup table) for ``budget``
evaluations with each seed:

- ``random``: random search;
- ``bo``: cold Bayesian optimization (`metakb.search.BayesianOptimization`);
- ``bo+<model>``: BO with the model's top ``n_warm`` recommendations
  (among the task's configurations, values hidden) evaluated first;
- ``bo+transfer+prior``: ``transfer`` picks the first ``n_warm_prior``
  configurations one at a time from the values seen (`adaptive_picks`), then
  BO runs with the transfer model as its prior surrogate, reweighted by the
  observations (what ``metakb search --warm-start transfer`` does).

Searches run through `metakb.bench.tabular.pool_search`, which makes the
optimizers' exact choices without their bookkeeping, over a process pool of
held-out dataset groups; a search stops once it has found the table's best
configuration (its regret curve is 0 from there on).
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import resource
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metakb.bench.tabular import (
    REPORT_BUDGETS,
    BOSettings,
    TabularTask,
    evals_to_regret,
    mean_rank,
    pool_search,
    regret_table,
)
from metakb.configs import canonical_json
from metakb.models import WARM_STARTERS, MetaDataset, TaskData, TaskQuery, WarmStarter
from metakb.models._transfer import TransferWarmStarter, weighted_moments
from metakb.search import AdaptiveWarmStart, RandomSearch
from metakb.searching import PRIOR_WARM

log = logging.getLogger(__name__)

TABULAR_ALGORITHMS: tuple[str, ...] = ("random_forest", "adaboost", "svc")
"""The OpenML100 flows of the benchmark: RandomForest 6969, AdaBoost 6970, SVC 8784."""

MIN_RUNS = 100
"""Tasks with fewer evaluated configurations are left out (HPO-B's and DESIGN.md's protocol)."""

WARM_METHODS: tuple[str, ...] = ("portfolio", "knn", "transfer", "cf")
PRIOR_METHOD = "bo+transfer+prior"
METHODS: tuple[str, ...] = ("random", "bo", *(f"bo+{m}" for m in WARM_METHODS), PRIOR_METHOD)
"""Every method of the benchmark, baselines first."""

PEER_METHODS: tuple[str, ...] = ("optuna-tpe", "smac-bo")
"""Peers searched on the surrogate benchmark (`metakb.bench.tabular_peers`)."""

BASELINES: tuple[str, ...] = ("random", "bo")
REGRET_THRESHOLD = 0.05
WALL_LIMIT = 600.0
"""Issue #6: each benchmark run finishes within 10 minutes on the 2-core machine."""

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class LotoSettings:
    """What one benchmark run does.

    Attributes
    ----------
    budget : int
        Evaluations per search.
    seeds : tuple of int
        One search per seed, per method and task.
    n_warm : int
        Recommendations evaluated first by the warm-started methods.
    n_warm_prior : int
        Configurations ``transfer`` picks one at a time for
        ``bo+transfer+prior`` before its prior leads
        (`metakb.searching.PRIOR_WARM`, what ``metakb search`` does).
    bo : BOSettings
        The Bayesian optimization settings (shared by every BO method); the
        surrogate is refitted once the observations grew by 10%, which on
        these tables gives the same regret as refitting on every ask at a
        third of the cost.
    methods : tuple of str
        Names from `METHODS`.
    """

    budget: int = 100
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    n_warm: int = 10
    n_warm_prior: int = PRIOR_WARM
    bo: BOSettings = field(default_factory=lambda: BOSettings(refit_growth=0.1))
    methods: tuple[str, ...] = METHODS

    def __post_init__(self) -> None:
        known = (*METHODS, *PEER_METHODS)
        unknown = [m for m in self.methods if m not in known]
        if unknown:
            raise ValueError(f"unknown methods {unknown}; known: {list(known)}")
        if self.budget < 1 or min(self.n_warm, self.n_warm_prior) < 0 or not self.seeds:
            raise ValueError("budget must be >= 1, n_warm and n_warm_prior >= 0, seeds not empty")


@dataclass
class LotoResult:
    """Regret curves and timings of a benchmark run.

    Attributes
    ----------
    tasks : list of TabularTask
        The held-out tasks, in the order searched.
    curves : dict
        ``(method, task_id) -> (seeds, budget)`` normalized regret after each evaluation.
    fit_seconds : dict
        Seconds spent fitting and querying each meta-model, over all held-out groups.
    search_seconds : dict
        Seconds spent searching, per method, over all tasks and seeds.
    wall_seconds : float
        Wall time of the whole run.
    cpu_seconds : float
        CPU time of this process and its workers during the run.
    """

    tasks: list[TabularTask]
    curves: dict[tuple[str, str], np.ndarray]
    fit_seconds: dict[str, float]
    search_seconds: dict[str, float]
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0

    def frame(self) -> pd.DataFrame:
        """Return the curves in the long form of `metakb.bench.tabular.run_tabular_benchmark`."""
        return curves_frame(self.curves)


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


def tabular_tasks(data: MetaDataset) -> list[TabularTask]:
    """Return the MetaDataset's tasks as lookup-table tasks (values higher-is-better)."""
    return [
        TabularTask(
            t.task_id,
            list(t.configs),
            np.asarray(t.y, dtype=float),
            group=t.group,
            meta={"meta_features": data.meta_features_of(t.task_id)},
        )
        for t in data.tasks
    ]


def best_so_far(values: Sequence[float] | np.ndarray, budget: int) -> np.ndarray:
    """Return the best value after each of ``budget`` evaluations (-inf before a success).

    NaN values are failures; a search that stopped early carries its last best forward.
    """
    found = np.asarray(values, dtype=float)[:budget]
    found = np.where(np.isfinite(found), found, -np.inf)
    best = np.maximum.accumulate(found) if len(found) else np.array([-np.inf])
    return np.concatenate([best, np.full(budget - len(best), best[-1])])[:budget]


def regret_curve(task: TabularTask, order: Sequence[int], budget: int) -> np.ndarray:
    """Return the regret after each of ``budget`` evaluations of ``order`` (last value carried)."""
    best = best_so_far(np.asarray(task.values, dtype=float)[list(order)], budget)
    return np.array([task.regret(b) for b in best])


class CandidatePrior:
    """The ``transfer`` prior of a query over a fixed list of rows, served by row lookup.

    A tabular search only ever asks about the task's candidates: every
    member's prediction at them is computed once per task (instead of on
    every ask of every seed), and the prior's weights (meta-feature
    similarity, or ranking agreement with the observations, as in
    `TransferWarmStarter.weights`) combine the stored rows. The numbers are
    those of ``QueryPrior(model, query)`` (a test checks it).

    Parameters
    ----------
    model : TransferWarmStarter
        The fitted transfer model.
    query : TaskQuery
        The held-out task, without observations.
    rows : numpy.ndarray
        The encoded candidates.
    """

    def __init__(self, model: TransferWarmStarter, query: TaskQuery, rows: np.ndarray) -> None:
        self.model = model
        self.rows = np.asarray(rows, dtype=float)
        self.preds = model.member_predictions(query, self.rows)
        self.weights = model.weights(query)
        self._index = {row.tobytes(): i for i, row in enumerate(self.rows)}

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the prior's (mean, std) at rows ``x`` (KeyError for an unknown row)."""
        return self._moments(self.weights, x)

    def predict_given(
        self, x: np.ndarray, x_obs: np.ndarray, y_obs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the prior's (mean, std) at rows ``x`` given observed rows and values."""
        w = None
        if len(y_obs) >= 2:
            w = self.model.ranking_weights(self.preds[:, self._rows_of(x_obs)], y_obs)
        return self._moments(self.weights if w is None else w, x)

    def _rows_of(self, x: np.ndarray) -> np.ndarray:
        return np.array([self._index[row.tobytes()] for row in np.asarray(x, dtype=float)], int)

    def _moments(self, w: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        used = np.flatnonzero(w)
        return weighted_moments(w[used], self.preds[np.ix_(used, self._rows_of(x))])


def adaptive_picks(
    model: TransferWarmStarter, query: TaskQuery, values: np.ndarray, k: int
) -> list[int]:
    """Return the first ``k`` picks of `metakb.search.AdaptiveWarmStart` on a lookup table.

    The wrapper itself picks (over a plain random search, which asks
    enqueued configurations first), told each pick's value (a failed run,
    NaN, is not shown to the starter); no seed is involved, so the picks are
    the same for every search of the table.

    Parameters
    ----------
    model : TransferWarmStarter
        The fitted transfer model.
    query : TaskQuery
        The held-out task with its configurations as ``candidates``.
    values : numpy.ndarray
        The candidates' values (higher is better).

    Returns
    -------
    list of int
        Positions in ``query.candidates``, in the order picked.
    """
    space = model.space_
    position = {canonical_json(c): i for i, c in enumerate(query.candidates or ())}
    warm = AdaptiveWarmStart(
        RandomSearch(space.configspace, seed=0), model, query, k, space.encode_many
    )
    picked: list[int] = []
    for _ in range(min(k, len(position))):
        trial = warm.ask()
        i = position.get(canonical_json(trial.config))
        if i is None:  # the starter ran out: the random search drew its own
            break
        picked.append(i)
        warm.tell(trial, float(values[i]))
    return picked


# -- worker side -------------------------------------------------------------

SearchTask = Callable[
    [MetaDataset, TaskData, Mapping[str, WarmStarter], LotoSettings, dict[str, float]],
    dict[str, np.ndarray],
]
"""``(data, held-out task, fitted starters, settings, seconds) -> {method: regret}``.

Each regret array is ``(seeds, budget)``. The function adds its timings to
``seconds`` under ``fit:<what>`` and ``search:<method>``.
"""

_STATE: dict[str, Any] = {}


def _init_worker(data: MetaDataset, settings: LotoSettings, search: SearchTask) -> None:
    _STATE["data"] = data
    _STATE["settings"] = settings
    _STATE["search"] = search


def _starter_names(methods: Iterable[str]) -> list[str]:
    names = {m.split("+")[1] for m in methods if m.startswith("bo+")}
    return [m for m in WARM_METHODS if m in names]


def _run_group(
    task_ids: Sequence[str],
) -> list[tuple[str, dict[str, np.ndarray], dict[str, float]]]:
    """Hold out one dataset group: fit the meta-models once, search each of its tasks."""
    data: MetaDataset = _STATE["data"]
    settings: LotoSettings = _STATE["settings"]
    train, _ = data.split_out(task_ids[0])
    seconds: dict[str, float] = {}
    starters: dict[str, WarmStarter] = {}
    for name in _starter_names(settings.methods):
        t0 = time.perf_counter()
        starters[name] = WARM_STARTERS[name](seed=0).fit(train)
        seconds[f"fit:{name}"] = time.perf_counter() - t0
    out = []
    for task_id in task_ids:
        held = data.task(task_id)
        task_seconds = dict(seconds) if task_id == task_ids[0] else {}
        curves = _STATE["search"](data, held, starters, settings, task_seconds)
        out.append((task_id, curves, task_seconds))
    return out


def search_lookup_task(
    data: MetaDataset,
    held: TaskData,
    starters: Mapping[str, WarmStarter],
    settings: LotoSettings,
    seconds: dict[str, float],
) -> dict[str, np.ndarray]:
    """Search the held-out task's lookup table with every method and seed (a `SearchTask`)."""
    meta = data.meta_features_of(held.task_id)
    query = TaskQuery(meta_features=meta, candidates=held.configs, task_id=held.task_id)
    position = {canonical_json(c): i for i, c in enumerate(held.configs)}
    queues: dict[str, list[int]] = {}
    for name, starter in starters.items():
        t0 = time.perf_counter()
        recs = starter.recommend(query, settings.n_warm) if settings.n_warm else []
        queues[name] = [position[canonical_json(r.config)] for r in recs]
        seconds[f"fit:{name}"] = seconds.get(f"fit:{name}", 0.0) + time.perf_counter() - t0
    prior = None
    if PRIOR_METHOD in settings.methods:
        t0 = time.perf_counter()
        model: Any = starters["transfer"]
        prior = CandidatePrior(model, TaskQuery(meta_features=meta, task_id=held.task_id), held.X)
        queues[PRIOR_METHOD] = adaptive_picks(model, query, held.y, settings.n_warm_prior)
        seconds["fit:prior"] = time.perf_counter() - t0
    task = TabularTask(held.task_id, list(held.configs), np.asarray(held.y), group=held.group)
    curves: dict[str, np.ndarray] = {}
    for method in settings.methods:
        t0 = time.perf_counter()
        bo = None if method == "random" else settings.bo
        queue = queues.get(method if method == PRIOR_METHOD else method.split("+")[-1], [])
        curves[method] = np.vstack(
            [
                regret_curve(
                    task,
                    pool_search(
                        held.X,
                        held.y,
                        settings.budget,
                        seed=seed,
                        bo=bo,
                        queue=queue,
                        prior=prior if method == PRIOR_METHOD else None,
                        stop_value=task.best,
                    ),
                    settings.budget,
                )
                for seed in settings.seeds
            ]
        )
        seconds[f"search:{method}"] = time.perf_counter() - t0
    return curves


# -- driver --------------------------------------------------------------------


def run_loto(
    data: MetaDataset,
    settings: LotoSettings | None = None,
    *,
    workers: int = 1,
    task_ids: Sequence[str] | None = None,
    progress: Progress | None = None,
    search: SearchTask = search_lookup_task,
) -> LotoResult:
    """Run the leave-one-task-out benchmark on one table.

    Parameters
    ----------
    data : MetaDataset
        The table (every task is held out in turn, with its dataset group).
    settings : LotoSettings, optional
        Budget, seeds, warm-start size, BO settings, methods.
    workers : int
        Processes searching held-out groups in parallel (1: in this process).
    task_ids : sequence of str, optional
        Hold out only these tasks (default: all).
    progress : callable, optional
        ``progress(description, done, total)`` after each held-out group.
    search : SearchTask
        What each held-out task is searched with (default: its lookup table).

    Returns
    -------
    LotoResult
        Regret curves per method and task, and timings.
    """
    settings = settings or LotoSettings()
    if workers < 1:
        raise ValueError("workers must be >= 1")
    wanted = list(task_ids) if task_ids is not None else list(data.task_ids)
    groups: dict[str, list[str]] = {}
    for task_id in wanted:
        groups.setdefault(data.task(task_id).group, []).append(task_id)
    # Large groups first, so the pool's last jobs are short ones.
    jobs = sorted(groups.values(), key=len, reverse=True)
    start, cpu_start = time.perf_counter(), _cpu_seconds()
    # Every split reuses the per-task surrogates: fit them once, before the
    # workers fork, so each worker inherits them instead of refitting.
    for task in data.tasks:
        task.surrogate(0)
    curves: dict[tuple[str, str], np.ndarray] = {}
    seconds: dict[str, float] = {}
    results: Iterable[list[tuple[str, dict[str, np.ndarray], dict[str, float]]]]
    pool = None
    if workers > 1 and len(jobs) > 1:
        context = multiprocessing.get_context("fork")
        pool = context.Pool(min(workers, len(jobs)), _init_worker, (data, settings, search))
        results = pool.imap_unordered(_run_group, jobs)
    else:
        _init_worker(data, settings, search)
        results = map(_run_group, jobs)
    try:
        for done, group_result in enumerate(results, start=1):
            for task_id, by_method, task_seconds in group_result:
                for method, regret in by_method.items():
                    curves[(method, task_id)] = regret
                for key, value in task_seconds.items():
                    seconds[key] = seconds.get(key, 0.0) + value
            if progress is not None:
                progress(f"{data.space.name}: held-out groups", done, len(jobs))
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        _STATE.clear()
    by_id = {t.task_id: t for t in tabular_tasks(data)}
    return LotoResult(
        tasks=[by_id[t] for t in wanted],
        curves={key: curves[key] for key in sorted(curves)},
        fit_seconds={k[4:]: round(v, 2) for k, v in seconds.items() if k.startswith("fit:")},
        search_seconds={k[7:]: round(v, 2) for k, v in seconds.items() if k.startswith("search:")},
        wall_seconds=round(time.perf_counter() - start, 1),
        cpu_seconds=round(_cpu_seconds() - cpu_start, 1),
    )


def _cpu_seconds() -> float:
    """CPU seconds of this process plus its finished (joined) child processes."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


# -- report ----------------------------------------------------------------------


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


def rank_target(
    summary: Mapping[str, Any], candidates: Sequence[str], budget: int
) -> dict[str, Any]:
    """Check whether the best of ``candidates`` has the best mean rank at every budget.

    The best candidate is the one with the lowest mean rank averaged over
    budgets 1..``budget``; the check is made against every other method
    (``first_everywhere``) and against the non-candidates only (``beats_others``).
    """
    ranks = {m: np.asarray(r[:budget]) for m, r in summary["rank"].items()}
    pool = [m for m in candidates if m in ranks]
    if not pool:
        return {"met": False, "best": None}
    best = min(pool, key=lambda m: float(ranks[m].mean()))
    others = [m for m in ranks if m != best]
    rivals = [m for m in others if m not in candidates]
    lost_any = [n + 1 for n in range(budget) if any(ranks[o][n] < ranks[best][n] for o in others)]
    lost_rival = [
        n + 1 for n in range(budget) if any(ranks[o][n] <= ranks[best][n] for o in rivals)
    ]
    return {
        "best": best,
        "first_everywhere": not lost_any,
        "budgets_not_first": lost_any,
        "beats_others": not lost_rival,
        "budgets_not_better_than_others": lost_rival,
        "met": not lost_any,
    }


def tabular_targets(summary: Mapping[str, Any], budget: int) -> dict[str, Any]:
    """Issue #6's targets: warm BO's regret at 10 vs cold BO's at 50; best warm variant's rank."""
    regret = summary["regret"]
    warm = [m for m in regret if m.startswith("bo+")]
    out: dict[str, Any] = {}
    if "bo" in regret and "50" in regret["bo"] and warm:
        cold50 = regret["bo"]["50"]
        best = min(warm, key=lambda m: regret[m]["10"])
        out["warm10_vs_cold50"] = {
            "cold_bo_at_50": cold50,
            "best_warm": best,
            "best_warm_at_10": regret[best]["10"],
            "met_by": [m for m in warm if regret[m]["10"] <= cold50],
            "met": regret[best]["10"] <= cold50,
        }
    out["rank"] = rank_target(summary, warm, budget)
    return out


def wall_time_target(seconds: float, limit: float = WALL_LIMIT) -> dict[str, Any]:
    """Issue #6's time target: the run's wall time against ``limit`` seconds."""
    return {"seconds": seconds, "limit": limit, "met": seconds <= limit}


def constant_tasks_note(report: Mapping[str, Any]) -> list[str]:
    """Return a Markdown note on the report's tasks whose configurations all scored the same.

    Such a task's regret is 0 for every method at every budget, so all methods
    tie on it; it dilutes rank differences without changing their order.
    """
    flat = [t for t, entry in report["curves"].items() if entry["best"] == entry["worst"]]
    if not flat:
        return []
    return [
        f"- {len(flat)} of the {len(report['curves'])} tasks have the same value for every "
        f"evaluated configuration ({', '.join(sorted(flat))}): every method has regret 0 "
        "on them and they tie in rank.",
    ]


def loto_report(
    data: MetaDataset,
    result: LotoResult,
    settings: LotoSettings,
    *,
    workers: int,
    load: Sequence[float] = (),
) -> dict[str, Any]:
    """Return a JSON-able report: settings, timings, summary, targets and every raw curve."""
    summary = summarize_curves(result.frame(), settings.methods)
    return {
        "benchmark": "tabular",
        "algorithm": data.space.name,
        "flow_id": data.flow_id,
        "metric": data.metric,
        "tasks": len(result.tasks),
        "groups": len({t.group for t in result.tasks}),
        "configs_per_task_median": float(np.median([len(t.configs) for t in result.tasks])),
        "settings": {**asdict(settings), "seeds": list(settings.seeds)},
        "timing": {
            "wall_seconds": result.wall_seconds,
            "cpu_seconds": result.cpu_seconds,
            "workers": workers,
            "cpu_count": os.cpu_count(),
            "load_average": [round(x, 2) for x in load],
            "fit_seconds": result.fit_seconds,
            "search_seconds": result.search_seconds,
        },
        **summary,
        "targets": {
            **tabular_targets(summary, settings.budget),
            "wall_time": wall_time_target(result.wall_seconds),
        },
        "curves": {
            task.task_id: {
                "group": task.group,
                "configs": len(task.configs),
                "best": task.best,
                "worst": task.worst,
                "regret": {
                    m: [change_points(r) for r in result.curves[(m, task.task_id)]]
                    for m in settings.methods
                    if (m, task.task_id) in result.curves
                },
            }
            for task in result.tasks
        },
    }


def report_frame(report: Mapping[str, Any]) -> pd.DataFrame:
    """Rebuild the long regret curves from a report's raw change points."""
    budget = int(report["settings"]["budget"])
    curves = {
        (method, task_id): np.vstack([expand_change_points(p, budget) for p in seeds])
        for task_id, entry in report["curves"].items()
        for method, seeds in entry["regret"].items()
    }
    return curves_frame(curves)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_loto_markdown(
    report: Mapping[str, Any],
    command: str,
    *,
    title: str,
    intro: str,
    extra: Sequence[str] = (),
) -> str:
    """Return the report as Markdown: regret, rank, evaluations to 0.05, targets, timing.

    ``extra`` lines go between the tables and the targets.
    """
    timing = report["timing"]
    lines = [
        f"# {title}",
        "",
        intro,
        "",
        f"Produced by: `{command}` in {timing['wall_seconds']:.0f} s wall time "
        + (f"({timing['cpu_seconds']:.0f} CPU seconds) " if "cpu_seconds" in timing else "")
        + f"with {timing['workers']} worker processes on {timing['cpu_count']} cores shared "
        f"with other jobs (load average 1/5/15 min before, then after: "
        f"{timing['load_average']}). {report['tasks']} tasks on "
        f"{report['groups']} datasets, median {report['configs_per_task_median']:.0f} "
        f"configurations per task; seeds {report['settings']['seeds']}.",
        "",
        *summary_lines(report),
        *extra,
        "## Targets",
        "",
        *_target_lines(report["targets"], report["settings"]),
        "",
        "## Time",
        "",
        "Meta-model fit + recommend seconds (summed over held-out groups): "
        + ", ".join(f"{k} {v:.1f}" for k, v in timing["fit_seconds"].items())
        + ". Search seconds (summed over tasks and seeds): "
        + ", ".join(f"{k} {v:.1f}" for k, v in timing["search_seconds"].items())
        + ".",
        "",
    ]
    return "\n".join(lines)


def summary_lines(summary: Mapping[str, Any], heading: str = "##") -> list[str]:
    """Return Markdown tables of a `summarize_curves` result: regret, rank, evaluations to 0.05."""
    budgets = [str(b) for b in summary["budgets"]]
    methods = list(summary["regret"])
    header = ["| method | " + " | ".join(f"{b} evals" for b in budgets) + " |"]
    header.append("|---|" + "---|" * len(budgets))
    lines = [f"{heading} Mean normalized regret (± standard error over tasks)", "", *header]
    for m in methods:
        regret, sem = summary["regret"][m], summary["regret_sem"][m]
        cells = [f"{regret[b]:.4f} ± {sem[b]:.4f}" for b in budgets]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"{heading} Mean rank (1 = best; seeds averaged per task, ranked within each task)",
        "",
        *header,
    ]
    for m in methods:
        ranks = summary["rank"][m]
        lines.append(f"| {m} | " + " | ".join(f"{ranks[int(b) - 1]:.2f}" for b in budgets) + " |")
    reach = summary["evals_to_regret"]
    lines += [
        "",
        f"{heading} Evaluations to reach regret {reach['threshold']}",
        "",
        "| method | searches that reached it | median evals | mean evals |",
        "|---|---|---|---|",
    ]
    for m in methods:
        r = reach[m]
        lines.append(
            f"| {m} | {100 * r['reached']:.0f}% | {_fmt(r['median_evals'], 1)} | "
            f"{_fmt(r['mean_evals'], 1)} |"
        )
    return [*lines, ""]


def _target_lines(targets: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    lines = []
    wall = targets.get("wall_time")
    if wall:
        lines.append(
            f"- The run finishes within {wall['limit'] / 60:.0f} minutes: "
            f"**{'met' if wall['met'] else 'MISSED'}** ({wall['seconds']:.0f} s wall time "
            "under the load stated above)."
        )
    warm = targets.get("warm10_vs_cold50")
    if warm:
        verdict = "met" if warm["met"] else "MISSED"
        lines.append(
            f"- Warm-started BO's mean regret at 10 evaluations <= cold BO's at 50 "
            f"({warm['cold_bo_at_50']:.4f}): **{verdict}**; best warm variant at 10: "
            f"{warm['best_warm']} {warm['best_warm_at_10']:.4f}; variants meeting it: "
            f"{', '.join(warm['met_by']) or 'none'}."
        )
    for key, rank in targets.items():
        if not key.startswith("rank") or not rank.get("best"):
            continue
        label = rank.get("label", "the best warm-started variant")
        label = label[0].upper() + label[1:]
        horizon = rank.get("budget", settings["budget"])
        verdict = "met" if rank["met"] else "MISSED"
        lines.append(
            f"- {label} ({rank['best']}) has the best mean rank of all methods at every "
            f"budget up to {horizon}: **{verdict}**"
            + (
                ""
                if rank["first_everywhere"]
                else f" (not first at {_ranges(rank['budgets_not_first'])} evaluations)"
            )
            + "; better than every baseline at every budget: "
            + ("yes" if rank["beats_others"] else "no")
            + (
                ""
                if rank["beats_others"]
                else f" (not at {_ranges(rank['budgets_not_better_than_others'])})"
            )
            + "."
        )
        for peer in PEER_METHODS:
            if f"beats_{peer}" in rank:
                lost = rank[f"budgets_not_better_than_{peer}"]
                lines.append(
                    f"- {label} ({rank['best']}) has a better mean rank than {peer} at every "
                    f"budget up to {horizon}: **{'met' if not lost else 'MISSED'}**"
                    + (f" (not at {_ranges(lost)} evaluations)." if lost else ".")
                )
    return lines


def _ranges(values: Sequence[int]) -> str:
    """Return ``[1, 2, 3, 7]`` as ``1-3, 7``."""
    parts: list[str] = []
    for v in values:
        if parts and parts[-1].split("-")[-1] == str(v - 1):
            parts[-1] = f"{parts[-1].split('-')[0]}-{v}"
        else:
            parts.append(str(v))
    return ", ".join(parts)


def write_loto_report(
    report: Mapping[str, Any], path: Path, *, title: str, intro: str, extra: Sequence[str] = ()
) -> None:
    """Write ``path`` with ``.md`` (see :func:`render_loto_markdown`) and ``.png`` suffixes.

    The plot is skipped, with a log line, when matplotlib is not installed.
    """
    markdown = render_loto_markdown(
        report, report["command"], title=title, intro=intro, extra=extra
    )
    path.with_suffix(".md").write_text(markdown)
    try:
        plot_loto(report, path.with_suffix(".png"))
    except ImportError:
        log.info("matplotlib not installed: no plot (pip install metakb[bench])")
    log.info("wrote %s (%.0f s)", path.with_suffix(".md"), report["timing"]["wall_seconds"])


def plot_loto(report: Mapping[str, Any], path: str | Path) -> None:
    """Plot mean regret and mean rank against evaluations (needs matplotlib).

    One row of two panels for the report's summary, and one more for its
    ``subset`` summary when it has one (methods run on only some tasks).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = report_frame(report)
    seeds = len(report["settings"]["seeds"])
    views = [(report, f"{report['algorithm']} ({report['tasks']} tasks, {seeds} seeds)")]
    if "subset" in report:
        subset = report["subset"]
        views.append((subset, f"{report['algorithm']}: subset of {len(subset['task_ids'])} tasks"))
    fig, axes = plt.subplots(len(views), 2, figsize=(11, 4 * len(views)), squeeze=False)
    for (view, name), (left, right) in zip(views, axes, strict=True):
        rows = frame
        if "task_ids" in view:
            rows = frame[frame["task_id"].isin(view["task_ids"])]
        regret = rows.groupby(["method", "n_evals"])["regret"].mean()
        for method in view["regret"]:
            style = "-" if method.startswith("bo+") else "--"
            curve = regret.loc[method]
            left.plot(curve.index, np.maximum(curve.to_numpy(), 1e-4), style, label=method)
            ranks = view["rank"][method]
            right.plot(range(1, len(ranks) + 1), ranks, style, label=method)
        left.set_yscale("log")
        left.set_ylabel("mean normalized regret")
        right.set_ylabel("mean rank (1 = best)")
        for ax in (left, right):
            ax.set_xscale("log")
            ax.set_xlabel("evaluations")
            ax.set_title(name)
            ax.grid(alpha=0.3)
        right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
