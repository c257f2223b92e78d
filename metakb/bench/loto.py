"""The leave-one-task-out harness the search suites share (group-aware).

For every task of an algorithm's :class:`~metakb.models.MetaDataset`, the
task's whole dataset group is held out (the same dataset under two task ids
never warm-starts itself), each meta-model a method needs is fitted once on
the other tasks, and a suite's `SearchTask` searches each held-out task with
every method and seed. Held-out groups run in a process pool.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metakb.bench.metrics import curves_frame
from metakb.models import WARM_STARTERS, MetaDataset, TaskData, WarmStarter
from metakb.search import PRIOR_WARM

WARM_METHODS: tuple[str, ...] = ("portfolio", "knn", "transfer", "cf")
PRIOR_METHOD = "bo+transfer+prior"
METHODS: tuple[str, ...] = ("random", "bo", *(f"bo+{m}" for m in WARM_METHODS), PRIOR_METHOD)
"""Every method of the benchmark, baselines first."""

PEER_METHODS: tuple[str, ...] = ("optuna-tpe", "smac-bo")
"""Peers searched on the surrogate benchmark (`metakb.bench.peers`)."""


@dataclass(frozen=True)
class BOSettings:
    """The settings of `metakb.search.BayesianOptimization` that `pool_search` reproduces.

    Attributes
    ----------
    n_initial : int
        Random configurations before the model is used (without a prior).
    random_fraction : float
        Share of proposals drawn at random once something has been observed.
    n_trees : int
        Trees of the random-forest surrogate.
    prior_weight : float
        Pseudo-count of a prior surrogate, in observations.
    refit_growth : float
        Refit the surrogate once the observations grew by this fraction (0: every ask).
    """

    n_initial: int = 5
    random_fraction: float = 0.1
    n_trees: int = 20
    prior_weight: float = 10.0
    refit_growth: float = 0.0


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
        (`metakb.search.PRIOR_WARM`, what ``metakb search`` does).
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
    tasks : list of TaskData
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

    tasks: list[TaskData]
    curves: dict[tuple[str, str], np.ndarray]
    fit_seconds: dict[str, float]
    search_seconds: dict[str, float]
    wall_seconds: float = 0.0
    cpu_seconds: float = 0.0

    def frame(self) -> pd.DataFrame:
        """Return the curves as one long frame (`metakb.bench.metrics.curves_frame`)."""
        return curves_frame(self.curves)


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


# -- driver --------------------------------------------------------------------


def run_loto(
    data: MetaDataset,
    settings: LotoSettings | None = None,
    *,
    workers: int = 1,
    task_ids: Sequence[str] | None = None,
    progress: Progress | None = None,
    search: SearchTask,
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
        What each held-out task is searched with (a suite's function, e.g.
        `metakb.bench.tabular.search_lookup_task`).

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
    return LotoResult(
        tasks=[data.task(t) for t in wanted],
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
