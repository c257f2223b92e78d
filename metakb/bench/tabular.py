"""Tabular leave-one-task-out benchmark of optimizers and warm starts (HPO-B style).

Each task is a table of evaluated configurations; an optimizer may only pick
among them (`metakb.search.LookupObjective`), so a search costs no fits. Every
method searches every task for ``budget`` evaluations with several seeds,
seeing only the *other* tasks (minus those on the same dataset) as its
knowledge. Quality is the normalized regret of the best configuration found,
``(task max - best found) / (task max - task min)``, i.e. 1 minus the
normalized best score.

References
----------
Pineda Arango, Jomaa, Wistuba and Grabocka (2021), HPO-B: a large-scale
reproducible benchmark for black-box HPO based on OpenML. NeurIPS Datasets and
Benchmarks.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from metakb.search import EIProposer, LookupObjective, Optimizer, PriorSurrogate, run_search

logger = logging.getLogger(__name__)

REPORT_BUDGETS = (1, 5, 10, 25, 50, 100)


@dataclass(frozen=True)
class TabularTask:
    """A task's evaluated configurations.

    Attributes
    ----------
    task_id : str
        The knowledge base's task id.
    configs : list of dict
        Evaluated configurations (distinct).
    values : numpy.ndarray
        Their values, higher is better (negate errors); NaN for failed runs.
    group : str
        The dataset the task is on: tasks of the same group never warm-start
        each other (the same dataset under two task ids).
    meta : dict
        Anything a method needs (e.g. meta-features).
    """

    task_id: str
    configs: list[dict[str, Any]]
    values: np.ndarray
    group: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.configs) != len(self.values):
            raise ValueError(f"task {self.task_id}: configs and values differ in length")
        finite = np.asarray(self.values, dtype=float)
        if np.isfinite(finite).sum() < 2:
            raise ValueError(f"task {self.task_id}: needs at least two finite values")

    @property
    def best(self) -> float:
        """The best value in the table."""
        return float(np.nanmax(self.values))

    @property
    def worst(self) -> float:
        """The worst value in the table."""
        return float(np.nanmin(self.values))

    def regret(self, best_found: float) -> float:
        """Return the normalized regret of ``best_found`` (1 when nothing succeeded yet)."""
        span = self.best - self.worst
        if not math.isfinite(best_found):
            return 1.0
        return 0.0 if span <= 0 else float((self.best - best_found) / span)


MethodFactory = Callable[[TabularTask, Sequence[TabularTask], int], Optimizer]
"""``(query task, training tasks, seed) -> optimizer``; candidates are ``query.configs``."""


def training_tasks(tasks: Sequence[TabularTask], query: TabularTask) -> list[TabularTask]:
    """Return the tasks a method may learn from when ``query`` is searched (leave one out)."""
    return [
        t
        for t in tasks
        if t.task_id != query.task_id and (not query.group or t.group != query.group)
    ]


def run_tabular_benchmark(
    tasks: Sequence[TabularTask],
    methods: Mapping[str, MethodFactory],
    *,
    budget: int = 100,
    seeds: Sequence[int] = (0, 1, 2, 3, 4),
    progress: Callable[[str, int, int], None] | None = None,
) -> pd.DataFrame:
    """Search every task with every method and seed; return the regret curves.

    Parameters
    ----------
    tasks : sequence of TabularTask
        The benchmark tasks (each is in turn the query, the rest its knowledge).
    methods : mapping of name to factory
        ``factory(query, training_tasks, seed)`` returns a fresh optimizer over
        ``candidates=query.configs`` (warm-started or not).
    budget : int
        Evaluations per search.
    seeds : sequence of int
        One search per seed.
    progress : callable, optional
        ``progress(description, done, total)`` after each search.

    Returns
    -------
    pandas.DataFrame
        One row per (method, task, seed, n_evals) with ``n_evals`` 1..budget:
        ``best`` (best value so far, carried forward when the table runs out)
        and ``regret`` (normalized).
    """
    if budget < 1:
        raise ValueError("budget must be >= 1")
    if not tasks or not methods:
        raise ValueError("need at least one task and one method")
    total = len(tasks) * len(methods) * len(seeds)
    frames = []
    done = 0
    for query in tasks:
        training = training_tasks(tasks, query)
        objective = LookupObjective(query.configs, list(query.values))
        for name, factory in methods.items():
            for seed in seeds:
                optimizer = factory(query, training, seed)
                result = run_search(optimizer, objective, budget)
                frames.append(_curve(query, name, seed, result.trials, budget))
                done += 1
                if progress is not None:
                    progress(f"{name} on {query.task_id}", done, total)
    return pd.concat(frames, ignore_index=True)


def _curve(
    task: TabularTask, method: str, seed: int, trials: Sequence[Any], budget: int
) -> pd.DataFrame:
    scores = [t.score if t.score is not None else -math.inf for t in trials[:budget]]
    best = np.maximum.accumulate(np.asarray(scores, dtype=float)) if scores else np.array([])
    if len(best) < budget:
        pad = best[-1] if len(best) else -math.inf
        best = np.concatenate([best, np.full(budget - len(best), pad)])
    return pd.DataFrame(
        {
            "method": method,
            "task_id": task.task_id,
            "seed": seed,
            "n_evals": np.arange(1, budget + 1),
            "best": best,
            "regret": [task.regret(b) for b in best],
        }
    )


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


def evals_to_regret(curves: pd.DataFrame, threshold: float = 0.05) -> pd.DataFrame:
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


def pool_search(
    rows: np.ndarray,
    values: np.ndarray,
    budget: int,
    *,
    seed: int,
    bo: BOSettings | None = None,
    queue: Sequence[int] = (),
    prior: PriorSurrogate | None = None,
    stop_value: float | None = None,
) -> list[int]:
    """Search a finite candidate list by index; return the indices evaluated, in order.

    Makes the same choices as `metakb.search.BayesianOptimization` (``bo``
    given) or `metakb.search.RandomSearch` (``bo=None``) created with
    ``seed=seed`` and ``candidates`` encoded as ``rows``, with the configurations
    of ``queue`` enqueued, run sequentially on a `LookupObjective` (the tests
    check the trial sequences are identical). It skips what a benchmark does
    not need (configuration dicts, keys, trial records), which is most of the
    cost of a search over a lookup table.

    Parameters
    ----------
    rows : numpy.ndarray
        ``(n, d)`` encoded candidates (the optimizer's encoding).
    values : numpy.ndarray
        ``(n,)`` their values, higher is better; NaN is a failed run.
    budget : int
        Evaluations at most (fewer when the candidates run out).
    seed : int
        The optimizer's seed.
    bo : BOSettings, optional
        Bayesian optimization with these settings; None for random search.
    queue : sequence of int
        Candidate indices evaluated first (a warm start), repeats skipped.
    prior : PriorSurrogate, optional
        A prior surrogate over ``rows`` (BO only).
    stop_value : float, optional
        Stop once a value at least this good is found (the table's best:
        nothing after it can change a regret curve).
    """
    n = len(rows)
    if len(values) != n:
        raise ValueError("rows and values differ in length")
    rng = np.random.default_rng(seed)
    proposer = (
        None
        if bo is None
        else EIProposer(prior, bo.prior_weight, bo.n_trees, refit_growth=bo.refit_growth)
    )
    free = np.ones(n, dtype=bool)
    pending = list(queue)
    order: list[int] = []
    while len(order) < min(budget, n):
        pick = -1
        while pending:
            candidate = int(pending.pop(0))
            if free[candidate]:
                pick = candidate
                break
        if pick < 0:
            pick = _propose(rows, values, order, free, rng, bo, proposer)
        free[pick] = False
        order.append(pick)
        if stop_value is not None and values[pick] >= stop_value:
            break
    return order


def _propose(
    rows: np.ndarray,
    values: np.ndarray,
    order: list[int],
    free: np.ndarray,
    rng: np.random.Generator,
    bo: BOSettings | None,
    proposer: EIProposer | None,
) -> int:
    remaining = np.flatnonzero(free)
    if bo is None or proposer is None:
        return int(remaining[rng.permutation(len(remaining))[0]])
    # As BayesianOptimization._propose: one draw of the main generator per proposal.
    sub = np.random.default_rng(int(rng.integers(2**63 - 1)))
    observed = values[order] if order else np.empty(0)
    ok = np.isfinite(observed)
    n_ok = int(ok.sum())
    explore = n_ok > 0 and sub.random() < bo.random_fraction
    if explore or (proposer.prior is None and n_ok < max(bo.n_initial, 2)):
        return int(remaining[int(sub.integers(len(remaining)))])
    if n_ok:
        # Failures count as the worst value observed (metakb.search's training_data).
        y_obs = np.where(ok, observed, observed[ok].min())
        x_obs = rows[order]
    else:
        y_obs, x_obs = np.empty(0), np.empty((0, rows.shape[1]))
    return int(remaining[proposer.choose(x_obs, y_obs, rows[remaining], sub)])
