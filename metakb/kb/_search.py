"""A warm-started search on a user's table, written back to the knowledge base.

``metakb search`` in four steps, each a function of its own:

1. :func:`plan_search`: check the settings and load the table; nothing is
   written, so a bad input leaves the knowledge base as it was;
2. :func:`prepare_search`: load (or fit) the warm starter, compute the
   table's meta-features (the warm start's query), register the table in the
   knowledge base, and set up the optimizer and the cross-validation objective
   (:mod:`metakb.search._setup` decides how the search starts);
3. :func:`run_prepared`: cross-validate each asked configuration; after every
   trial append it to the resume log and write it back
   (:func:`metakb.sources.local.write_trials`, source ``local``, provenance
   ``search:<search id>``).

What is written where is :mod:`metakb.sources.local`'s business: a rerun or
a resume adds nothing twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metakb.datasets import DEFAULT_MAX_BYTES, Table, kb_dataset_id, load_table
from metakb.errors import MetakbError, SearchExistsError, SearchInterrupted, UsageError
from metakb.kb._layout import Layout
from metakb.kb._recommend import cost_model, extrapolation_notes, match_table
from metakb.kb._train import algorithm_of, check_metric, check_task_type, load_starter
from metakb.metafeatures import METAFEATURES_VERSION, extract_table
from metakb.metafeatures import result_rows as meta_feature_rows
from metakb.models import WARM_STARTERS, TaskQuery, WarmStarter
from metakb.search import (
    DEFAULT_METRIC,
    OPTIMIZERS,
    CVObjective,
    SearchResult,
    SearchStop,
    SpaceEstimators,
    StartedOptimizer,
    TrialLog,
    TrialRecord,
    WarmStartReport,
    fidelity_kind,
    load_trials,
    run_search,
    start_optimizer,
)
from metakb.sources.local import register_table, write_trials
from metakb.spaces import Algorithm, SearchSpace, TaskType, get_algorithm, jsonable_kwargs
from metakb.store import Store

log = logging.getLogger(__name__)

NO_WARM_START = "none"
"""The ``--warm-start`` value of a cold search."""

Progress = Callable[[TrialRecord, SearchResult], None]


@dataclass(frozen=True)
class SearchSettings:
    """What identifies a search: the same settings on the same file are the same search.

    Attributes
    ----------
    content_hash, target, algorithm, method, warm_start, seed, budget
        As given to :func:`plan_search` (``content_hash`` of the table's file).
    metric : str
        The CV metric when it is not the task type's default, else empty.
    """

    content_hash: str
    target: str
    algorithm: str
    method: str
    warm_start: str
    seed: int
    budget: int
    metric: str = ""

    @property
    def search_id(self) -> str:
        """Return a short stable hash of the settings (names the resume log and provenance)."""
        fields: list[Any] = [
            self.content_hash,
            self.target,
            self.algorithm,
            self.method,
            self.warm_start,
            self.seed,
            self.budget,
        ]
        # Only a metric other than the task type's default joins the hash, so the
        # ids (and resume logs) of searches run before --metric existed still match.
        text = json.dumps([*fields, self.metric] if self.metric else fields)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class BestConfig:
    """A search's best trial as a user sees it: the estimator's keyword arguments.

    Attributes
    ----------
    config : dict
        Keyword arguments of :attr:`estimator` for a model fitted on the whole
        table (size-dependent values capped as every trial's folds were).
    flow_params : dict
        The configuration under the flow's parameter names (the trial's own).
    estimator : str
        The estimator's import path.
    score : float
        Its cross-validated score (higher is better).
    code : str
        Python source that builds the model (imputer and scaler included).
    """

    config: dict[str, Any]
    flow_params: dict[str, Any]
    estimator: str
    score: float
    code: str


@dataclass(frozen=True)
class TableSearch:
    """The outcome of a search on a table.

    Attributes
    ----------
    search_id : str
        See :attr:`SearchSettings.search_id`.
    result : SearchResult
        Every finished trial (replayed ones of a resume included).
    space : SearchSpace
        The algorithm's space.
    task_type : {'classification', 'regression'}
        The table's task type: :attr:`estimator` is the algorithm's estimator for it.
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
    n_rows : int or None
        The table's rows, which the best configuration's estimator arguments
        are fitted to (None: the configuration as it is).
    task_name : str
        The task's name: its file's name without extensions (``metakb show
        task`` takes it, or a unique prefix of :attr:`task_id`).
    column_notes : list of str
        What was done to the table's columns before the models and the
        meta-features saw them (:attr:`metakb.datasets.Table.notes`: dates
        encoded, ids and free text dropped), one line per column.
    """

    @property
    def stop(self) -> SearchStop | None:
        """Why the search stopped (:attr:`SearchResult.stop`): budget, time budget or exhausted."""
        return self.result.stop

    search_id: str
    result: SearchResult
    space: SearchSpace
    task_type: TaskType
    dataset_id: str
    task_id: str
    metric: str
    warm: WarmStartReport
    log_path: Path
    evaluations_added: int = 0
    notes: list[str] = field(default_factory=list)
    n_rows: int | None = None
    task_name: str = ""
    column_notes: list[str] = field(default_factory=list)

    @property
    def estimator(self) -> str:
        """The import path of the estimator searched: the algorithm's for :attr:`task_type`."""
        return get_algorithm(self.space.name).estimators[self.task_type]

    def estimator_params(self, record: TrialRecord) -> dict[str, Any]:
        """Return a trial's configuration as :attr:`estimator`'s keyword arguments.

        For a model fitted on the whole table, as :meth:`best_estimator_params`;
        what every shown trial is written as.
        """
        algorithm = get_algorithm(self.space.name)
        return algorithm.estimator_params(record.config, self.task_type, self.n_rows)

    def best_code(self) -> str | None:
        """Return Python source that builds the best configuration's model (None if none)."""
        best = self.result.best
        if best is None:
            return None
        algorithm = get_algorithm(self.space.name)
        return algorithm.estimator_code(best.config, self.task_type, self.n_rows)

    def to_dict(self) -> dict[str, Any]:
        """Return the search as JSON: configurations as estimator keyword arguments.

        ``{"search_id", "task_id", "estimator", "task_type", "metric", "n_rows",
        "column_notes", "stop": {"reason", "message", ...} (:class:`SearchStop`),
        "best": {"config", "flow_params", "adapted", "score"} or None,
        "trials": [{"config", "flow_params", "score", "fidelity", "seconds",
        "status", "error"}, ...]}``, where ``config`` holds :attr:`estimator`'s
        keyword arguments (as :func:`~metakb.kb.recommendations_json` writes
        them) and ``flow_params`` the configuration under the flow's names.
        """

        def trial(t: TrialRecord) -> dict[str, Any]:
            return {
                "config": jsonable_kwargs(self.estimator_params(t)),
                "flow_params": dict(t.config),
                "score": t.score,
                "fidelity": t.fidelity,
                "seconds": t.seconds,
                "status": t.status,
                "error": t.error,
            }

        best = self.result.best
        return {
            "search_id": self.search_id,
            "task_id": self.task_id,
            "estimator": self.estimator,
            "task_type": self.task_type,
            "metric": self.metric,
            "n_rows": self.n_rows,
            "column_notes": list(self.column_notes),
            "stop": None if self.stop is None else self.stop.to_dict(),
            "best": None
            if best is None
            else {
                "config": jsonable_kwargs(self.estimator_params(best)),
                "flow_params": dict(best.config),
                "adapted": {
                    k: {"from": a, "to": b} for k, (a, b) in self.best_adaptations().items()
                },
                "score": best.score,
            },
            "trials": [trial(t) for t in self.result.trials],
        }

    @property
    def best(self) -> BestConfig | None:
        """The best trial (:attr:`SearchResult.best`) in estimator keyword arguments (or None)."""
        best = self.result.best
        if best is None or best.score is None:
            return None
        return BestConfig(
            config=self.estimator_params(best),
            flow_params=dict(best.config),
            estimator=self.estimator,
            score=best.score,
            code=self.best_code() or "",
        )

    def best_estimator_params(self) -> dict[str, Any] | None:
        """Return the best configuration as :attr:`estimator`'s keyword arguments (None if none).

        They are for a model fitted on the whole table: size-dependent values
        the table is too small for are capped
        (:meth:`~metakb.spaces.Algorithm.fit_to_rows`, see
        :meth:`best_adaptations`), as every trial's folds were.
        """
        best = self.result.best
        algorithm = get_algorithm(self.space.name)
        if best is None:
            return None
        return algorithm.estimator_params(best.config, self.task_type, self.n_rows)

    def best_adaptations(self) -> dict[str, tuple[Any, Any]]:
        """Return ``{hyperparameter: (value, value for the table)}`` for what is capped."""
        best = self.result.best
        if best is None or self.n_rows is None:
            return {}
        return get_algorithm(self.space.name).adaptations(best.config, self.n_rows)

    def best_imputer(self) -> str | None:
        """Return the best configuration's numeric imputer strategy (part of the OpenML flows)."""
        best = self.result.best
        param = get_algorithm(self.space.name).imputer_param
        return None if best is None or param is None else best.config.get(param)

    def best_curve(self) -> list[float | None]:
        """Return the best full-fidelity score after each trial (None before the first)."""
        curve: list[float | None] = []
        best: float | None = None
        for record in self.result.trials:
            if record.status == "ok" and record.score is not None and record.fidelity >= 1.0:
                best = record.score if best is None else max(best, record.score)
            curve.append(best)
        return curve


# -- 1. plan: settings checked, table loaded, nothing written ---------------------------


@dataclass(frozen=True)
class SearchPlan:
    """A search's checked settings and its table."""

    table: Table
    algorithm: Algorithm
    task_type: TaskType
    method: str
    warm_start: str
    budget: int
    metric: str
    n_splits: int
    seed: int

    @property
    def settings(self) -> SearchSettings:
        """What identifies the search."""
        return SearchSettings(
            self.table.content_hash,
            self.table.target,
            self.algorithm.name,
            self.method,
            self.warm_start,
            self.seed,
            self.budget,
            "" if self.metric == DEFAULT_METRIC[self.task_type] else self.metric,
        )


def plan_search(
    path: str | Path,
    *,
    target: str | None,
    algorithm: str,
    budget: int,
    method: str,
    warm_start: str,
    n_splits: int = 5,
    metric: str | None = None,
    seed: int = 0,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> SearchPlan:
    """Check a search's settings and load its table; nothing is written.

    Raises
    ------
    UsageError
        An unknown algorithm, method, warm start or metric (or a metric of the
        other task type), a budget below one.
    MetakbError
        A bad file or target; a task type the algorithm does not support; a
        table too small to cross-validate or with infinite values
        (:func:`check_searchable`).
    """
    if budget < 1:
        raise UsageError("the budget must be at least one trial")
    record = algorithm_of(algorithm)
    if method not in OPTIMIZERS:
        raise UsageError(f"unknown method {method!r}; known: {', '.join(OPTIMIZERS)}")
    if warm_start not in (*WARM_STARTERS, NO_WARM_START):
        known = ", ".join((*WARM_STARTERS, NO_WARM_START))
        raise UsageError(f"unknown warm start {warm_start!r}; known: {known}")
    if metric is not None:
        check_metric(metric)  # before the table is read
    table = load_table(path, target, max_bytes=max_bytes)
    check_searchable(table, n_splits)
    task_type = check_task_type(record, table.task_type)
    metric = check_metric(metric or DEFAULT_METRIC[task_type], task_type)
    return SearchPlan(table, record, task_type, method, warm_start, budget, metric, n_splits, seed)


def check_rerun(layout: Layout, plan: SearchPlan, *, resume: bool, new: bool) -> None:
    """Refuse to start a search over silently when its settings already have logged trials.

    Raises
    ------
    UsageError
        Both ``resume`` and ``new``.
    SearchExistsError
        Neither, and the search's resume log holds trials (nothing is written then).
    """
    if resume and new:
        raise UsageError("give --resume or --new, not both")
    if resume or new:
        return
    search_id = plan.settings.search_id
    log_path = layout.search_log(search_id)
    n_trials = len(load_trials(log_path))
    if n_trials:
        raise SearchExistsError(
            f"search {search_id} already has {n_trials} trial(s) in {log_path}; "
            "pass resume=True to continue it or new=True to start it over",
            search_id=search_id,
            log_path=str(log_path),
            n_trials=n_trials,
        )


def check_time_budget(time_budget: float | None) -> None:
    """Refuse a time budget that is not a positive number of seconds (None: no time budget).

    Raises
    ------
    UsageError
        Zero, negative or NaN.
    """
    if time_budget is not None and not time_budget > 0:
        raise UsageError(
            f"the time budget must be a positive number of seconds, not {time_budget:g}"
        )


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


# -- 2. prepare: warm starter, meta-features, table registered, optimizer ----------------


@dataclass(frozen=True)
class PreparedSearch:
    """A planned search with its optimizer and objective, its table in the knowledge base."""

    plan: SearchPlan
    started: StartedOptimizer
    objective: CVObjective
    dataset_id: str
    task_id: str
    notes: list[str]


def prepare_search(
    store: Store,
    layout: Layout,
    plan: SearchPlan,
    *,
    n_warm: int | None = None,
    time_limit: float | None = None,
) -> PreparedSearch:
    """Load the warm starter, register the table and set up the optimizer and objective.

    Raises
    ------
    MetakbError
        A warm start without a trained model or runs to fit one (raised
        before anything is written).
    """
    space, seed = plan.algorithm.space, plan.seed
    notes: list[str] = []
    starter: WarmStarter | None = None
    ranges: Mapping[str, Sequence[float]] = {}
    if plan.warm_start != NO_WARM_START:  # before anything is written: it may fail
        starter, ranges = load_starter(
            store,
            layout,
            space.name,
            plan.warm_start,
            task_type=plan.task_type,
            seed=seed,
            notes=notes,
        )
    own = kb_dataset_id(plan.table)  # a rerun on the same file is no news
    notes.extend(m.describe() for m in match_table(store, plan.table) if m.dataset_id != own)
    features = extract_table(plan.table, seed=seed)
    dataset_id, task_id = register_table(
        store,
        plan.table,
        meta_feature_rows(kb_dataset_id(plan.table), features),
        space,
        plan.metric,
    )
    log.info(
        "search %s on %s (meta-features %s)",
        plan.settings.search_id,
        task_id,
        METAFEATURES_VERSION,
    )
    query = TaskQuery(
        {k: v for k, v in features.values.items() if math.isfinite(v)}, task_id=task_id
    )
    notes.extend(extrapolation_notes(query.meta_features, ranges, space.name))
    started = start_optimizer(
        space, plan.method, plan.budget, starter=starter, query=query, n_warm=n_warm, seed=seed
    )
    objective = CVObjective(
        plan.table.X,
        plan.table.y,
        SpaceEstimators(plan.algorithm, plan.task_type, seed),
        task_type=plan.task_type,
        metric=plan.metric,
        n_splits=plan.n_splits,
        fidelity_kind=fidelity_kind(plan.algorithm, plan.method),
        time_limit=time_limit,
        seed=seed,
    )
    return PreparedSearch(plan, started, objective, dataset_id, task_id, notes)


# -- 3. run and write back ---------------------------------------------------------------


def run_prepared(
    store: Store,
    layout: Layout,
    prepared: PreparedSearch,
    *,
    executor: str = "inprocess",
    resume: bool = False,
    time_limit: float | None = None,
    time_budget: float | None = None,
    on_trial: Progress | None = None,
) -> TableSearch:
    """Run a prepared search; log and write back every trial as it finishes.

    With ``time_budget`` (seconds of this run; a resume gets it whole again),
    no trial starts that is expected to end after it
    (:func:`metakb.search.run_search`): its expected duration is the mean
    time of the trials so far, scaled by its predicted fit time relative to
    theirs where the knowledge base's fit times tell
    (:class:`~metakb.models.FitCostModel`), else the plain mean. A
    warm-start configuration predicted to take longer than all the time left
    is skipped, with a note; it is logged (so a resume replays the same
    search) but not stored and not passed to ``on_trial``.

    Raises
    ------
    SearchInterrupted
        On Ctrl-C (a :class:`KeyboardInterrupt`), saying how many trials the log holds.
    """
    plan, notes = prepared.plan, list(prepared.notes)
    search_id = plan.settings.search_id
    space = plan.algorithm.space
    log_path = layout.search_log(search_id)
    previous = load_trials(log_path) if resume else []
    if resume and not previous:
        notes.append("nothing to resume for these settings: started afresh")
    if not resume and log_path.exists():
        log_path.unlink()  # a fresh run of the same settings starts its log over
    trial_log = TrialLog(log_path)
    added, logged = 0, len(previous)

    def write_back(records: list[TrialRecord]) -> int:
        return write_trials(
            store,
            records,
            space=space,
            task_id=prepared.task_id,
            metric=plan.metric,
            provenance=f"search:{search_id}",
        )

    def after_trial(record: TrialRecord, result: SearchResult) -> None:
        nonlocal added, logged
        trial_log(record, result)
        logged = len(result.trials)
        if record.status == "skipped":
            return
        added += write_back([record])
        if on_trial is not None:
            on_trial(record, result)

    try:
        result = run_search(
            prepared.started.optimizer,
            prepared.objective,
            plan.budget,
            executor=executor,
            on_trial=after_trial,
            previous=previous,
            trial_timeout=None if time_limit is None else 2 * time_limit,
            time_budget=time_budget,
            cost=None if time_budget is None else _relative_cost(store, plan),
            n_warm=prepared.started.n_warm_trials,
        )
    except KeyboardInterrupt as stop:
        # Every logged trial is also in the knowledge base (or is written back on resume).
        raise SearchInterrupted(search_id, str(log_path), logged) from stop
    # Replayed trials were stored by the interrupted run; this catches one that was
    # logged but not stored (an interruption between the two writes).
    added += write_back(result.trials)
    notes.extend(
        f"skipped warm-start configuration (trial {t.trial_id}): {t.error}"
        for t in result.trials
        if t.status == "skipped"
    )
    return TableSearch(
        search_id=search_id,
        result=result,
        space=space,
        task_type=plan.task_type,
        dataset_id=prepared.dataset_id,
        task_id=prepared.task_id,
        metric=plan.metric,
        warm=prepared.started.report,
        log_path=log_path,
        evaluations_added=added,
        notes=notes,
        n_rows=len(plan.table.X),
        task_name=plan.table.name,
        column_notes=list(plan.table.notes),
    )


def _relative_cost(store: Store, plan: SearchPlan) -> Callable[[Mapping[str, Any]], float | None]:
    """Return ``config -> predicted fit time relative to the default`` (None: unknown).

    Read once, at the start: the search's own trials, written back as it
    runs, would otherwise refit the model after every trial.
    """
    model = cost_model(store, plan.algorithm, plan.task_type, None)
    return lambda config: model.relative_cost(config).value
