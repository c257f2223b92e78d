"""Warm-started BO against Optuna's TPE and SMAC3 on per-task surrogate benchmarks.

The protocol of `metakb.bench.loto` (leave one dataset group out,
meta-models fitted once per group, several seeds), but each held-out task is a
continuous benchmark: a random forest fitted on the task's evaluations
(`metakb.search.SurrogateObjective`), so every method proposes freely in the
algorithm's space instead of picking rows of a table. Regret is normalized by
the task's evaluated minimum and maximum; the forest predicts averages of
evaluated values, so it stays in ``[0, 1]`` (0 = the task's best evaluated value).

Methods: ``random``, ``bo`` (cold), ``bo+<model>`` (the model's top
recommendations of the whole space enqueued, `metakb.search.warm_start`),
``bo+transfer+prior`` (also the transfer model as BO's prior), ``optuna-tpe``
(Optuna's default TPE sampler) and ``smac-bo`` (SMAC3's
``HyperparameterOptimizationFacade`` with its defaults). SMAC3 costs seconds
per search, so it can be limited to a subset of the tasks.

Optuna and SMAC3 are optional: install ``metakb[optuna,smac]``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping, Sequence
from functools import partial
from typing import Any

import numpy as np

from metakb.bench.loto import PRIOR_METHOD, LotoResult, LotoSettings, SearchTask
from metakb.bench.metrics import regret_curve, summarize_curves
from metakb.bench.peers import optuna_tpe, smac_bo
from metakb.bench.tabular import loto_report, rank_target
from metakb.models import MetaDataset, Recommendation, TaskData, TaskQuery, WarmStarter
from metakb.search import (
    OPTIMIZERS,
    AdaptiveWarmStart,
    QueryPrior,
    SurrogateObjective,
    run_search,
    warm_start,
)
from metakb.spaces import SearchSpace

log = logging.getLogger(__name__)

PEER_BUDGET = 50
"""Issue #7's target compares ranks at every budget up to 50."""


class _Fixed:
    """A starter that returns recommendations computed once (shared by every seed)."""

    def __init__(self, recs: Sequence[Recommendation]) -> None:
        self.recs = list(recs)

    def recommend(self, query: Any, k: int) -> list[Recommendation]:
        return self.recs[:k]


def _scores(trials: Sequence[Any]) -> list[float]:
    return [t.score if t.score is not None else float("nan") for t in trials]


def _metakb(
    method: str,
    space: SearchSpace,
    objective: SurrogateObjective,
    settings: LotoSettings,
    seed: int,
    starter: Any,
    prior: QueryPrior | None,
    query: TaskQuery,
) -> list[float]:
    if method == "random":
        optimizer: Any = OPTIMIZERS["random"](space.configspace, seed=seed)
    else:
        bo = settings.bo
        # Configurations sampled from the space are already valid: skip validation
        # when encoding (the same rows, the meta-models' encoding for the prior).
        optimizer = OPTIMIZERS["bo"](
            space.configspace,
            seed=seed,
            encoder=partial(space.encode_many, validated=True),
            n_initial=bo.n_initial,
            random_fraction=bo.random_fraction,
            n_trees=bo.n_trees,
            prior_weight=bo.prior_weight,
            refit_growth=bo.refit_growth,
            prior=prior,
        )
        if prior is not None:
            encode = partial(space.encode_many, validated=True)
            optimizer = AdaptiveWarmStart(optimizer, starter, query, settings.n_warm_prior, encode)
        elif starter is not None:
            warm_start(optimizer, starter, None, settings.n_warm)
    return _scores(run_search(optimizer, objective, settings.budget).trials)


def search_surrogate_task(
    data: MetaDataset,
    held: TaskData,
    starters: Mapping[str, WarmStarter],
    settings: LotoSettings,
    seconds: dict[str, float],
    *,
    smac_tasks: Collection[str] | None = None,
) -> dict[str, np.ndarray]:
    """Search the held-out task's surrogate benchmark with every method and seed.

    A `metakb.bench.loto.SearchTask`; bind ``smac_tasks`` with
    `functools.partial` to run ``smac-bo`` on those tasks only (None: all).
    """
    space = data.space
    t0 = time.perf_counter()
    objective = SurrogateObjective(space.configspace, seed=0).fit(held.configs, list(held.y))
    seconds["fit:objective"] = seconds.get("fit:objective", 0.0) + time.perf_counter() - t0
    lo, hi = float(held.y.min()), float(held.y.max())
    query = TaskQuery(meta_features=data.meta_features_of(held.task_id), task_id=held.task_id)
    fixed: dict[str, _Fixed] = {}
    for name, starter in starters.items():
        if f"bo+{name}" not in settings.methods:
            continue  # only bo+transfer+prior uses transfer, picking as it goes
        t0 = time.perf_counter()
        fixed[name] = _Fixed(starter.recommend(query, settings.n_warm) if settings.n_warm else [])
        seconds[f"fit:{name}"] = seconds.get(f"fit:{name}", 0.0) + time.perf_counter() - t0
    curves: dict[str, np.ndarray] = {}
    for method in settings.methods:
        if method == "smac-bo" and smac_tasks is not None and held.task_id not in smac_tasks:
            continue
        t0 = time.perf_counter()
        runs = []
        for seed in settings.seeds:
            if method == "optuna-tpe":
                values = optuna_tpe(space, objective, settings.budget, seed)
            elif method == "smac-bo":
                values = smac_bo(space, objective, settings.budget, seed)
            else:
                warm: Any = fixed.get(method.split("+")[1]) if "+" in method else None
                prior = None
                if method == PRIOR_METHOD:
                    warm = starters["transfer"]
                    prior = QueryPrior(warm, query)
                values = _metakb(method, space, objective, settings, seed, warm, prior, query)
            runs.append(regret_curve(values, lo, hi, settings.budget))
        curves[method] = np.vstack(runs)
        seconds[f"search:{method}"] = seconds.get(f"search:{method}", 0.0) + (
            time.perf_counter() - t0
        )
    return curves


def peers_search(smac_tasks: Collection[str] | None) -> SearchTask:
    """Return `search_surrogate_task` with SMAC3 limited to ``smac_tasks`` (None: every task)."""
    chosen = None if smac_tasks is None else frozenset(smac_tasks)
    return partial(search_surrogate_task, smac_tasks=chosen)


def peers_report(
    data: MetaDataset,
    result: LotoResult,
    settings: LotoSettings,
    *,
    workers: int,
    smac_tasks: Collection[str] | None,
    load: Sequence[float] = (),
    warm: str | None = None,
) -> dict[str, Any]:
    """Return the JSON-able report: the full summary without SMAC3, and one on SMAC3's subset.

    Ranks are only comparable over one set of tasks and methods: the main
    summary ranks every method but ``smac-bo`` over all tasks; ``subset``
    ranks every method over the tasks SMAC3 ran on.
    """
    report = loto_report(data, result, settings, workers=workers, load=load)
    frame = result.frame()
    subset_ids = sorted(frame.loc[frame["method"] == "smac-bo", "task_id"].unique())
    main_methods = [m for m in settings.methods if m != "smac-bo" or smac_tasks is None]
    main = summarize_curves(frame[frame["method"].isin(main_methods)], main_methods)
    report.update(main)
    if smac_tasks is not None and subset_ids:
        sub = summarize_curves(frame[frame["task_id"].isin(subset_ids)], settings.methods)
        report["subset"] = {"task_ids": subset_ids, **sub}
    report["targets"] = peer_targets(report, settings.budget, warm)
    return report


def peer_targets(report: Mapping[str, Any], budget: int, warm: str | None) -> dict[str, Any]:
    """Issue #7's target: warm-started BO ranks better than Optuna TPE and SMAC3 at every budget.

    ``warm`` is the warm-started variant to judge (default: the best by mean
    rank over budgets on the main summary).
    """
    horizon = min(budget, PEER_BUDGET)
    candidates = [warm] if warm else [m for m in report["regret"] if m.startswith("bo+")]
    out: dict[str, Any] = {}
    for key, summary in (("rank", report), ("rank_subset", report.get("subset"))):
        if summary is None:
            continue
        check = rank_target(summary, candidates, horizon)
        if not check.get("best"):
            continue
        ranks = summary["rank"]
        best = check["best"]
        for peer in ("optuna-tpe", "smac-bo"):
            if peer in ranks:
                lost = [n + 1 for n in range(horizon) if ranks[best][n] >= ranks[peer][n]]
                check[f"beats_{peer}"] = not lost
                check[f"budgets_not_better_than_{peer}"] = lost
        check["budget"] = horizon
        check["label"] = "warm-started BO" + (
            " on the SMAC3 subset" if key == "rank_subset" else ""
        )
        out[key] = check
    return out
