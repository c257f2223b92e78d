"""A warm-started hyperparameter search on a user's table, written back to the knowledge base.

This module joins the pieces :mod:`metakb.search` (optimizers, objectives, the
loop), :mod:`metakb.spaces`, :mod:`metakb.warmstart` (trained meta-models) and
:mod:`metakb.store` (write-back) for ``metakb search``:

1. load the table, compute its meta-features (the warm-start query, stored too);
2. build the optimizer of the algorithm's space and enqueue the meta-model's
   recommendations (for ``transfer`` with ``bo``/``bohb`` the meta-model is
   also the optimizer's prior surrogate);
3. cross-validate each asked configuration, and after every trial append it to
   a resume log and write it to the knowledge base as source ``local``.

Keys written to the knowledge base
----------------------------------
* dataset ``local:<content hash>`` (:func:`metakb.datasets.kb_dataset_id`);
* task ``local:<content hash[:16]>:<target>`` (:func:`metakb.sources.local.local_task_id`);
* configurations under the flow's own parameter names with the flow's
  constants (:meth:`~metakb.spaces.SearchSpace.to_flow_params`), so a setting
  is the same ``configs`` row as in the published runs;
* evaluations with ``source='local'`` and ``provenance='search:<search id>'``.

Everything is an upsert on natural keys: a rerun or a resume adds nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from metakb.datasets import DEFAULT_MAX_BYTES, Table, kb_dataset_id, load_table
from metakb.errors import MetakbError
from metakb.kb import Layout, extrapolation_notes
from metakb.kb._train import load_starter as _load_starter
from metakb.metafeatures import METAFEATURES_VERSION, extract_table
from metakb.metafeatures import result_rows as meta_feature_rows
from metakb.models import (
    WARM_STARTERS,
    AdaptiveWarmStarter,
    PredictiveWarmStarter,
    TaskQuery,
    WarmStarter,
)
from metakb.search import (
    MULTI_FIDELITY,
    OPTIMIZERS,
    AdaptiveWarmStart,
    CVObjective,
    PriorGuidedOptimizer,
    QueryPrior,
    SearchResult,
    SpaceEstimators,
    TrialLog,
    TrialRecord,
    WarmStartReport,
    load_trials,
    run_search,
    successive_halving_rungs,
    warm_start,
)
from metakb.sources.local import KB_METRICS, register_table, write_trials
from metakb.spaces import ALGORITHMS, SPACES, SearchSpace, get_space
from metakb.store import Store

log = logging.getLogger(__name__)

WARM_START_METHODS = (*WARM_STARTERS, "none")
"""``--warm-start`` choices: a name of :data:`~metakb.models.WARM_STARTERS` or ``none``."""

SEARCH_METHODS = ("bo", "hyperband", "bohb", "random", "sh")
"""``--method`` choices (keys of :data:`~metakb.search.OPTIMIZERS`)."""

# The imputer is part of the OpenML flows' pipelines, so it is a hyperparameter of the spaces.
_IMPUTER = "columntransformer__numeric__imputer__strategy"

Progress = Callable[[TrialRecord, SearchResult], None]


@dataclass(frozen=True)
class SearchSettings:
    """What identifies a search: the same settings on the same file are the same search.

    Attributes
    ----------
    content_hash, target, algorithm, method, warm_start, seed, budget
        As given to :func:`search_table` (``content_hash`` of the table's file).
    """

    content_hash: str
    target: str
    algorithm: str
    method: str
    warm_start: str
    seed: int
    budget: int

    @property
    def search_id(self) -> str:
        """Return a short stable hash of the settings (names the resume log and provenance)."""
        text = json.dumps(
            [
                self.content_hash,
                self.target,
                self.algorithm,
                self.method,
                self.warm_start,
                self.seed,
                self.budget,
            ]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TableSearch:
    """The outcome of :func:`search_table`.

    Attributes
    ----------
    search_id : str
        See :attr:`SearchSettings.search_id`.
    result : SearchResult
        Every finished trial (replayed ones of a resume included).
    space : SearchSpace
        The algorithm's space; ``space.to_estimator_params(config)`` gives kwargs.
    dataset_id, task_id : str
        Knowledge-base keys the trials were written under.
    metric : str
        The CV objective's metric (a key of :data:`~metakb.search.SCORERS`).
    warm : WarmStartReport
        What the warm start enqueued.
    log_path : Path
        The resume log.
    evaluations_added : int
        New ``evaluations`` rows written by this call.
    notes : list of str
        What the user should know (a model fitted on the fly, nothing to resume).
    """

    search_id: str
    result: SearchResult
    space: SearchSpace
    dataset_id: str
    task_id: str
    metric: str
    warm: WarmStartReport
    log_path: Path
    evaluations_added: int = 0
    notes: list[str] = field(default_factory=list)

    def best_estimator_params(self) -> dict[str, Any] | None:
        """Return the best configuration as the estimator's keyword arguments (None if none)."""
        best = self.result.best
        return None if best is None else self.space.to_estimator_params(best.config)

    def best_imputer(self) -> str | None:
        """Return the best configuration's numeric imputer strategy (part of the OpenML flows)."""
        best = self.result.best
        return None if best is None else best.config.get(_IMPUTER)

    def best_curve(self) -> list[float | None]:
        """Return the best full-fidelity score after each trial (None before the first)."""
        curve: list[float | None] = []
        best: float | None = None
        for record in self.result.trials:
            if record.status == "ok" and record.score is not None and record.fidelity >= 1.0:
                best = record.score if best is None else max(best, record.score)
            curve.append(best)
        return curve


def _space(algorithm: str) -> SearchSpace:
    try:
        return get_space(algorithm)
    except KeyError:
        raise MetakbError(f"unknown algorithm {algorithm!r}; known: {sorted(SPACES)}") from None


def _check_choices(method: str, warm: str) -> None:
    if method not in OPTIMIZERS:
        raise MetakbError(f"unknown method {method!r}; known: {', '.join(SEARCH_METHODS)}")
    if warm not in WARM_START_METHODS:
        raise MetakbError(f"unknown warm start {warm!r}; known: {', '.join(WARM_START_METHODS)}")


def check_searchable(table: Table, n_splits: int) -> None:
    """Refuse a table no configuration can be cross-validated on, before anything is stored.

    Such a search would only fill the knowledge base with failed trials: too
    few rows (or, for classification, no class with a row in every fold) for
    ``n_splits`` folds, or infinite values, which every space's imputer refuses.

    Raises
    ------
    MetakbError
        Saying which, in one line.
    """
    n_rows = len(table.y)
    if n_rows < n_splits:
        raise MetakbError(
            f"{table.name}: {n_rows} row(s) cannot be split into {n_splits} folds; "
            "a search needs at least one row per fold"
        )
    if table.task_type == "classification" and table.y.value_counts().max() < n_splits:
        raise MetakbError(
            f"{table.name}: no class has {n_splits} rows, one per fold of the stratified "
            "cross-validation; use fewer folds or more rows"
        )
    numeric = [c for c in table.X.columns if table.kinds.get(c) == "numeric"]
    values = table.X[numeric].to_numpy(dtype="float64", na_value=np.nan)
    infinite = [numeric[j] for j in np.flatnonzero(np.isinf(values).any(axis=0))]
    if infinite:
        raise MetakbError(
            f"{table.name}: infinite values in column(s) {', '.join(map(str, infinite[:5]))}; "
            "no model of the search spaces accepts them: replace or drop them"
        )


def load_starter(
    store: Store, algorithm: str, method: str, *, seed: int = 0, notes: list[str] | None = None
) -> tuple[WarmStarter, Mapping[str, Sequence[float]]]:
    """Return the trained warm starter of ``method`` for ``algorithm``, fitting one if needed.

    See :meth:`metakb.kb.KnowledgeBase.starter`.
    """
    return _load_starter(store, Layout(store.path), algorithm, method, seed=seed, notes=notes)


def min_fidelity(budget: int, eta: int = 3) -> float:
    """Return the lowest fidelity (1/27, 1/9 or 1/3) whose first bracket fits half the budget.

    Successive halving's bracket from fidelity ``eta**-s`` runs ``eta**s``
    configurations and promotes a third each rung; with 1/27 that is 40
    trials before any full-fidelity result. Starting higher on a small budget
    makes the search end with full-fidelity trials, the only ones whose
    scores are comparable to a model the user would train.
    """
    for s in (3, 2):
        if sum(r.n_configs for r in successive_halving_rungs(eta**s, s, eta)) <= budget / 2:
            return float(eta**-s)
    return 1.0 / eta


def build_optimizer(
    space: SearchSpace,
    method: str,
    budget: int,
    *,
    starter: WarmStarter | None = None,
    query: TaskQuery | None = None,
    seed: int = 0,
) -> Any:
    """Return the ``method`` optimizer over ``space`` (nothing enqueued yet).

    The optimizer encodes configurations as the meta-models do
    (:meth:`~metakb.spaces.SearchSpace.encode_many`), so a starter that
    predicts (``transfer``) is ``bo``/``bohb``'s prior surrogate for ``query``;
    multi-fidelity methods start at :func:`min_fidelity` of the budget.
    """
    options: dict[str, Any] = {"seed": seed, "encoder": space.encode_many}
    if isinstance(starter, PredictiveWarmStarter) and method in ("bo", "bohb"):
        options["prior"] = QueryPrior(starter, query)
    if method in MULTI_FIDELITY:
        options["min_fidelity"] = min_fidelity(budget)
    return OPTIMIZERS[method](space.configspace, **options)


PRIOR_WARM = 5
"""Recommendations evaluated first when the starter is also BO's prior, which leads after."""


def default_n_warm(budget: int, *, prior: bool) -> int:
    """Return how many recommendations a search of ``budget`` trials evaluates first.

    Without a prior, up to 10 (half the budget at most); with one,
    `PRIOR_WARM` (picked one at a time from the trials seen, where the
    starter can): the prior, reweighted by what the search observes, then
    picks better than the rest of a list fixed in advance (the tabular
    benchmark, docs/benchmarks/tabular_*.md).
    """
    return min(PRIOR_WARM if prior else 10, max(1, budget // 2))


def search_log_path(store: Store, search_id: str) -> Path:
    """Return the resume log of a search (:meth:`metakb.kb.Layout.search_log`)."""
    return Layout(store.path).search_log(search_id)


def search_table(
    path: str | Path,
    *,
    target: str | None,
    algorithm: str,
    budget: int,
    method: str = "bo",
    warm_start_method: str = "knn",
    db: str | Path | None = None,
    executor: str = "inprocess",
    seed: int = 0,
    resume: bool = False,
    time_limit: float | None = None,
    n_warm: int | None = None,
    n_splits: int = 5,
    metric: str | None = None,
    on_trial: Progress | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> TableSearch:
    """Run a warm-started search on a table file and write every trial to the knowledge base.

    Parameters
    ----------
    path : str or Path
        The table (CSV, TSV, Parquet, ARFF).
    target : str, optional
        Target column (default: ``target`` or ``class``).
    algorithm : str
        ``random_forest``, ``adaboost``, ``svc`` or ``lightgbm``.
    budget : int
        Number of trials (a multi-fidelity trial counts as one; the lowest
        fidelity follows the budget, see :func:`min_fidelity`).
    method : {'bo', 'hyperband', 'bohb', 'random', 'sh'}
        The optimizer.
    warm_start_method : {'knn', 'portfolio', 'transfer', 'cf', 'ensemble', 'none'}
        The meta-model whose recommendations are evaluated first; with
        ``transfer`` or ``ensemble`` and ``bo``/``bohb`` it is also the prior surrogate.
    db : str or Path, optional
        The knowledge base (default ``$METAKB_DB`` or ``data/metakb.duckdb``);
        created if missing (then only ``none`` warm starts work).
    executor : str
        A spec of :func:`metakb.search.open_executor` (``inprocess``,
        ``dask:local:N``, ``dask:tcp://HOST:PORT``, ``process:N``).
    seed : int
        Seeds the optimizer, folds and models.
    resume : bool
        Replay the search's log and continue it instead of starting over.
    time_limit : float, optional
        Seconds per trial; a longer trial fails.
    n_warm : int, optional
        Recommendations to enqueue (default `default_n_warm`).
    n_splits : int
        Cross-validation folds.
    metric : str, optional
        A key of :data:`~metakb.search.SCORERS` (default accuracy / neg_rmse).
    on_trial : callable, optional
        ``on_trial(record, result_so_far)`` after each trial is logged and
        stored (progress display; raising stops the search, which can be resumed).
    max_bytes : int
        Refuse a table larger than this, on disk or decompressed (the app's
        upload limit; default that of :func:`~metakb.datasets.load_table`).

    Returns
    -------
    TableSearch

    Raises
    ------
    MetakbError
        A bad file, target, algorithm, method or warm start; a table too
        small to cross-validate or with infinite values
        (:func:`check_searchable`); a warm start without a trained model or
        runs to fit one.
    """
    if budget < 1:
        raise MetakbError("the budget must be at least one trial")
    space = _space(algorithm)
    _check_choices(method, warm_start_method)
    table = load_table(path, target, max_bytes=max_bytes)
    check_searchable(table, n_splits)
    record = ALGORITHMS[space.name]
    try:
        task_type = record.check_task_type(table.task_type)
    except ValueError as error:
        others = [a.name for a in ALGORITHMS.values() if table.task_type in a.task_types]
        raise MetakbError(
            f"{error}; use {' or '.join(others)} for a {table.task_type} target"
        ) from None
    metric = metric or ("accuracy" if table.task_type == "classification" else "neg_rmse")
    if metric not in KB_METRICS:
        raise MetakbError(f"unknown metric {metric!r}; known: {sorted(KB_METRICS)}")
    settings = SearchSettings(
        table.content_hash, table.target, space.name, method, warm_start_method, seed, budget
    )
    search_id = settings.search_id
    store = Store(db)
    notes: list[str] = []
    starter: WarmStarter | None = None
    ranges: Mapping[str, Sequence[float]] = {}
    if warm_start_method != "none":  # before anything is written: it may fail
        starter, ranges = load_starter(store, space.name, warm_start_method, seed=seed, notes=notes)
    features = extract_table(table, seed=seed)
    dataset_id, task_id = register_table(
        store, table, meta_feature_rows(kb_dataset_id(table), features), space, metric
    )
    log.info("search %s on %s (meta-features %s)", search_id, task_id, METAFEATURES_VERSION)
    query = TaskQuery(
        {k: v for k, v in features.values.items() if math.isfinite(v)}, task_id=task_id
    )
    notes.extend(extrapolation_notes(query.meta_features, ranges, space.name))

    optimizer = build_optimizer(space, method, budget, starter=starter, query=query, seed=seed)
    prior = isinstance(optimizer, PriorGuidedOptimizer) and optimizer.prior is not None
    k = n_warm if n_warm is not None else default_n_warm(budget, prior=prior)
    adaptive = None
    if isinstance(starter, AdaptiveWarmStarter) and prior:
        # The starter picks the first k one at a time, from the trials seen.
        optimizer = adaptive = AdaptiveWarmStart(optimizer, starter, query, k, space.encode_many)
    else:
        report = warm_start(optimizer, starter, query, k)

    # Multi-fidelity trials shrink the ensemble where there is one, else the training rows.
    fidelity_kind: Literal["rows", "rounds"] = (
        record.fidelity if method in MULTI_FIDELITY else "rows"
    )
    objective = CVObjective(
        table.X,
        table.y,
        SpaceEstimators(record, task_type, seed),
        task_type=task_type,
        metric=metric,
        n_splits=n_splits,
        fidelity_kind=fidelity_kind,
        time_limit=time_limit,
        seed=seed,
    )
    log_path = search_log_path(store, search_id)
    previous = load_trials(log_path) if resume else []
    if resume and not previous:
        notes.append("nothing to resume for these settings: started afresh")
    if not resume and log_path.exists():
        log_path.unlink()  # a fresh run of the same settings starts its log over
    trial_log = TrialLog(log_path)
    provenance = f"search:{search_id}"
    added = 0

    def after_trial(record: TrialRecord, result: SearchResult) -> None:
        nonlocal added
        trial_log(record, result)
        added += write_trials(
            store, [record], space=space, task_id=task_id, metric=metric, provenance=provenance
        )
        if on_trial is not None:
            on_trial(record, result)

    result = run_search(
        optimizer,
        objective,
        budget,
        executor=executor,
        on_trial=after_trial,
        previous=previous,
        trial_timeout=None if time_limit is None else 2 * time_limit,
    )
    # Replayed trials were stored by the interrupted run; this catches one that was
    # logged but not stored (an interruption between the two writes).
    added += write_trials(
        store, result.trials, space=space, task_id=task_id, metric=metric, provenance=provenance
    )
    return TableSearch(
        search_id=search_id,
        result=result,
        space=space,
        dataset_id=dataset_id,
        task_id=task_id,
        metric=metric,
        warm=report if adaptive is None else adaptive.report,
        log_path=log_path,
        evaluations_added=added,
        notes=notes,
    )


def executor_spec(dask: str | None) -> str:
    """Return the executor spec for ``--dask`` (``local:N``, ``tcp://HOST:PORT``; None: in-process).

    Raises
    ------
    MetakbError
        Anything else.
    """
    if dask is None:
        return "inprocess"
    text = dask.strip()
    if re.fullmatch(r"local:[1-9]\d*", text) or re.fullmatch(r"tcp://[^\s:]+:\d+", text):
        return f"dask:{text}"
    raise MetakbError(f"--dask takes local:N or tcp://HOST:PORT, not {dask!r}")
