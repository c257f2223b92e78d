"""Recommend configurations from the trained warm starters, and say when they extrapolate.

Every recommendation is weighed against the algorithm's library default
(:func:`metakb.models.select_over_default`): the default is always a
candidate, a configuration is ranked above it only when its predicted gain
exceeds that gain's uncertainty, and each one says why it holds its rank.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from metakb.datasets import Table
from metakb.errors import MetakbError, StoreError
from metakb.kb._artifacts import ArtifactError, load_model
from metakb.kb._layout import Layout
from metakb.kb._train import (
    algorithm_of,
    build,
    check_has_runs,
    check_metric,
    check_task_type,
    load_meta_dataset,
    method_of,
    no_runs_message,
)
from metakb.metafeatures import MetaFeatureResult
from metakb.models import (
    DefaultAwareWarmStarter,
    FitCostModel,
    Recommendation,
    RelativeCost,
    TaskQuery,
    WarmStarter,
    select_over_default,
)
from metakb.models._base import SIZE_META_FEATURES
from metakb.models._default import POOL
from metakb.models._metadataset import dataset_groups
from metakb.sources.local import KB_METRICS
from metakb.spaces import Algorithm, Params, TaskType, jsonable_kwargs, python_kwargs
from metakb.store import (
    MetaFrames,
    Store,
    find_table_datasets,
    find_task,
    get_fit_times,
    get_task_dataset,
    get_task_meta_features,
    load_meta_frames,
)


class ExtrapolationWarning(UserWarning):
    """The new task's size lies outside every training task's: recommendations extrapolate."""


class ModelFittedWarning(UserWarning):
    """No usable trained model, or none of the metric asked for: one was fitted for this call.

    It is not saved; ``train`` saves models learned from each task's own metric.
    """


def extrapolation_notes(
    meta_features: Mapping[str, float],
    ranges: Mapping[str, Sequence[float]],
    algorithm: str,
) -> list[str]:
    """Return one sentence per size meta-feature of the new task outside the training range.

    Parameters
    ----------
    meta_features : mapping
        The new task's meta-features.
    ranges : mapping
        ``{name: (smallest, largest)}`` over the tasks the model learned from
        (a manifest's ``meta_feature_ranges``).
    algorithm : str
        The algorithm's name, for the message.

    Returns
    -------
    list of str
        Empty when every size the new task has lies within its range.
    """
    return [
        f"{name} {_count(value)} is {side} every {algorithm} task the model learned "
        f"from ({_count(lo)} to {_count(hi)}): its recommendations extrapolate"
        for name, value, side, lo, hi in _outside(meta_features, ranges)
    ]


def _outside(
    meta_features: Mapping[str, float], ranges: Mapping[str, Sequence[float]]
) -> list[tuple[str, float, str, float, float]]:
    """Return ``(name, value, "below" or "above", lo, hi)`` per meta-feature outside its range."""
    found = []
    for name, (lo, hi) in ranges.items():
        value = meta_features.get(name)
        if value is None or not math.isfinite(value) or lo <= value <= hi:
            continue
        found.append((name, value, "below" if value < lo else "above", lo, hi))
    return found


def _count(value: float) -> str:
    # Digits grouped for counts; a hostile 1e300 stays one short word.
    return f"{value:,.0f}" if abs(value) < 1e12 else f"{value:.3g}"


SCORE_NOTE = (
    "predicted score: the meta-model's predicted normalized score (0-1 within each past task: "
    "1 = that task's best configuration, 0 = its worst), not the metric"
)
"""What ``predicted_score`` is, in one line (the CLI and the app print it under their tables)."""


@dataclass(frozen=True)
class RecommendedConfig:
    """One recommendation as a user sees it: the estimator's keyword arguments.

    Attributes
    ----------
    config : dict
        Keyword arguments of :attr:`estimator`: the estimator class called
        with them builds the configuration's model (an ensemble's base model,
        AdaBoost's tree, is an estimator object among them). Size-dependent
        values the table is too small for are capped (see :attr:`adapted`).
    flow_params : dict
        The configuration as the knowledge base stores it, under the flow's
        (OpenML's) parameter names: what ``observations``, the Optuna and
        SMAC integrations and :meth:`~metakb.spaces.SearchSpace.validate` take.
    algorithm : str
        The algorithm's name.
    estimator : str
        The import path of the estimator for :attr:`task_type`.
    task_type : {'classification', 'regression'}
    n_rows : int or None
        The rows :attr:`config` is fitted to (None: as it is).
    adapted : dict
        ``{hyperparameter: (value, value for n_rows)}`` for what was capped.
    predicted_score : float or None
        The meta-model's predicted normalized score (:data:`SCORE_NOTE`),
        when it makes one.
    predicted_gain, gain_sd : float or None
        The predicted normalized score over the library default and its
        spread (0 for the default; see :func:`metakb.models.select_over_default`).
    source_tasks : tuple of str
        The past tasks the recommendation was drawn from or weighted by.
    reason : str or None
        Why the configuration holds its rank.
    is_default : bool
        Whether it is the library default.
    relative_cost : float or None
        Predicted fit time as a multiple of the library default's, from the
        fit times the knowledge base stores (:class:`~metakb.models.FitCostModel`);
        None: unknown.
    cost_basis : str
        Where :attr:`relative_cost` comes from (``"measured on 12 tasks"``).
    """

    config: dict[str, Any]
    flow_params: Params
    algorithm: str
    estimator: str
    task_type: str
    n_rows: int | None = None
    adapted: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    predicted_score: float | None = None
    predicted_gain: float | None = None
    gain_sd: float | None = None
    source_tasks: tuple[str, ...] = ()
    reason: str | None = None
    is_default: bool = False
    relative_cost: float | None = None
    cost_basis: str = "unknown"

    def kwargs_text(self) -> str:
        """Return :attr:`config` as written in a call: ``learning_rate=0.05, ...``."""
        return python_kwargs(self.config)

    def gain_text(self) -> str:
        """Return the predicted gain for a table: ``"+0.087 ± 0.082"``, ``"default"`` or ``"-"``."""
        # One text column: "default" reads better than a 0 among predicted gains.
        if self.is_default:
            return "default"
        if self.predicted_gain is None or self.gain_sd is None:
            return "-"
        return f"{self.predicted_gain:+.3f} ± {self.gain_sd:.3f}"

    def cost_text(self) -> str:
        """Return :attr:`relative_cost` for a table: ``"0.52"``, ``"24"`` or ``"unknown"``."""
        value = self.relative_cost
        if value is None or not math.isfinite(value):
            return "unknown"
        return f"{value:.2g}" if value < 10 else f"{value:,.0f}"

    def code(self) -> str:
        """Return Python source that imports the estimator and builds this configuration."""
        algorithm = algorithm_of(self.algorithm)
        return algorithm.estimator_code(self.flow_params, self.task_type, self.n_rows)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON entry of :func:`recommendations_json`."""
        return {
            "config": jsonable_kwargs(self.config),
            "adapted": {name: {"from": a, "to": b} for name, (a, b) in self.adapted.items()},
            "flow_params": dict(self.flow_params),
            "predicted_score": self.predicted_score,
            "source_tasks": list(self.source_tasks),
            "predicted_gain": self.predicted_gain,
            "gain_sd": self.gain_sd,
            "reason": self.reason,
            "is_default": self.is_default,
            "relative_cost": self.relative_cost,
            "cost_basis": self.cost_basis,
        }


def shown_recommendation(
    algorithm: Algorithm,
    rec: Recommendation,
    task_type: str,
    n_rows: int | None = None,
    cost: RelativeCost | None = None,
) -> RecommendedConfig:
    """Return a meta-model's recommendation (flow parameter names) as a user sees it.

    Raises
    ------
    ValueError
        A task type the algorithm does not support, or a configuration not of its space.
    """
    task_type = algorithm.check_task_type(task_type)
    cost = cost or RelativeCost(None, "unknown")
    return RecommendedConfig(
        config=algorithm.estimator_params(rec.config, task_type, n_rows),
        flow_params=algorithm.space.to_flow_params(rec.config),
        algorithm=algorithm.name,
        estimator=algorithm.estimators[task_type],
        task_type=task_type,
        n_rows=n_rows,
        adapted={} if n_rows is None else algorithm.adaptations(rec.config, n_rows),
        predicted_score=rec.predicted_score,
        predicted_gain=rec.predicted_gain,
        gain_sd=rec.gain_sd,
        source_tasks=rec.source_tasks,
        reason=rec.reason,
        is_default=rec.is_default,
        relative_cost=cost.value,
        cost_basis=cost.basis,
    )


def recommend(
    store: Store,
    layout: Layout,
    meta_features: Mapping[str, float] | MetaFeatureResult | None,
    *,
    algorithm: str,
    k: int,
    method: str,
    task: str | None,
    task_type: str | None,
    observations: Sequence[tuple[Params, float]],
    seed: int,
    min_configs: int,
    leave_out: Sequence[str] = (),
    n_rows: int | None = None,
    max_relative_cost: float | None = None,
    metric: str | None = None,
) -> list[RecommendedConfig]:
    """Recommend configurations; see :meth:`metakb.kb.KnowledgeBase.recommend`."""
    record = algorithm_of(algorithm)
    space = record.space
    if metric is not None:
        check_metric(metric)  # before anything is read; its task type is checked below
    ranges: Mapping[str, Sequence[float]]
    if isinstance(meta_features, MetaFeatureResult):
        # extract()'s result knows its table's task type: asking again would invite a mismatch.
        if task_type is not None and task_type != meta_features.task_type:
            raise MetakbError(
                f"the meta-features are of a {meta_features.task_type} table, not {task_type}"
            )
        task_type, meta_features = meta_features.task_type, meta_features.values
    if task is not None:
        model, query, ranges, task_type = _model_without_task(
            store, record, method, task, task_type, seed, min_configs, metric
        )
        query = TaskQuery(query.meta_features, tuple(observations), None, query.task_id)
    else:
        if meta_features is None:
            raise MetakbError("give the task's meta-features or a task in the knowledge base")
        task_type = check_task_type(record, task_type or record.task_types[0])
        if metric is not None:
            check_metric(metric, task_type)
        folder = layout.artifact(space.name, method, task_type)
        refused: str | None = None
        try:
            # Cached: a process that recommends repeatedly unpickles a model once.
            model, manifest = load_model(folder, cached=True)
            ranges, trained = manifest.meta_feature_ranges, tuple(manifest.training_tasks)
            # A saved model learned from each task's own metric: another one means a refit.
            if metric is not None and manifest.metric != _kb_metric(metric):
                refused = (
                    f"the saved {method} model learned from {manifest.metric}, "
                    f"not {metric} ({_kb_metric(metric)})"
                )
        except ArtifactError as exc:
            refused = str(exc).split("; run `metakb train`")[0]
        if refused is not None:
            # As a search does: fit one on the knowledge base's runs now, and say so.
            model, ranges, trained = _fit_now(
                store, record, method, task_type, metric, refused, seed, min_configs
            )
        query = TaskQuery(_numbers(meta_features), tuple(observations))
        held = sorted(set(leave_out) & set(trained))
        if held:  # the saved model learned from them: fit one afresh without them
            with store.read() as con:
                frames = _frames(con, record, task_type, metric)
            model, ranges = _fit_without(frames, None, held, record, method, seed, min_configs)
    for note in extrapolation_notes(query.meta_features, ranges, space.name):
        warnings.warn(note, ExtrapolationWarning, stacklevel=3)
    # With a cost bound, more candidates compete, so that k remain after it.
    want = k if max_relative_cost is None else max(k, POOL)
    if not isinstance(model, DefaultAwareWarmStarter):  # every registered model is
        recs = model.recommend(query, want)
    else:
        outside = [
            f"{name} {_count(value)} {side} the training range"
            for name, value, side, _, _ in _outside(query.meta_features, ranges)
        ]
        default = record.library_config()
        recs = select_over_default(
            model, query, want, default=default, space=space, extrapolation=outside
        )
    if n_rows is None:
        n_rows = _rows_of(query.meta_features)
    costs = cost_model(store, record, task_type, query.task_id)
    shown = [
        shown_recommendation(record, r, task_type, n_rows, costs.relative_cost(r.config))
        for r in recs
    ]
    if max_relative_cost is not None:
        shown = [
            r for r in shown if r.relative_cost is not None and r.relative_cost <= max_relative_cost
        ]
    return shown[:k]


def _fit_now(
    store: Store,
    record: Algorithm,
    method: str,
    task_type: TaskType,
    metric: str | None,
    refused: str,
    seed: int,
    min_configs: int,
) -> tuple[WarmStarter, Mapping[str, Sequence[float]], tuple[str, ...]]:
    """Fit ``method`` on the task type's runs (in ``metric``, else each task's own) and warn.

    ``refused`` says why the saved model is not used. Returned with the model:
    its training tasks' size ranges and the tasks themselves.
    """
    name = record.name
    check_has_runs(store, record, task_type)  # else no model can be fitted
    try:
        data = load_meta_dataset(
            store, name, _kb_metric(metric), task_type=task_type, min_configs=min_configs
        )
    except StoreError as thin:
        if metric is not None:
            raise MetakbError(_thin_metric_message(record, task_type, metric, thin)) from None
        raise MetakbError(f"{refused}; none can be fitted instead ({thin})") from None
    model = method_of(method)(seed=seed).fit(data)
    saves = (
        "`metakb train` saves it"
        if metric is None
        else "not saved: `metakb train` learns from each task's own metric"
    )
    warnings.warn(
        f"{refused}: fitted {method} for {name} ({task_type}) now from the knowledge base "
        f"at {store.path.resolve()}; {saves}",
        ModelFittedWarning,
        stacklevel=4,
    )
    return model, data.feature_ranges(SIZE_META_FEATURES), data.task_ids


def _kb_metric(metric: str | None) -> str | None:
    """Return the knowledge base's name of a cross-validation metric (None: each task's own)."""
    return None if metric is None else KB_METRICS[metric][0]


def _thin_metric_message(record: Algorithm, task_type: str, metric: str, why: Exception) -> str:
    """Return the one line saying the knowledge base has too few runs in ``metric``."""
    return (
        f"too few runs of {record.name} on {task_type} tasks scored by {metric} "
        f"({_kb_metric(metric)}) in the knowledge base to recommend from ({why}); "
        "without a metric each task is read in its own"
    )


def _rows_of(meta_features: Mapping[str, float]) -> int | None:
    """Return the table's rows from its meta-features, None when they do not say."""
    value = meta_features.get("NumberOfInstances")
    if value is None or not math.isfinite(value) or value < 1:
        return None
    return int(value)


_COSTS: dict[tuple[Any, ...], FitCostModel] = {}


def cost_model(
    store: Store, algorithm: Algorithm, task_type: str, exclude: str | None
) -> FitCostModel:
    """Return the fit-time model of the algorithm's task type (cached while the file is unchanged).

    ``exclude``, a task being recommended for, is left out of the data. An
    unreadable knowledge base gives a model with no data: every cost unknown.
    """
    model = FitCostModel(algorithm.space, algorithm.library_config())
    try:
        stat = os.stat(store.path)
    except OSError:
        return model.fit(_NO_TIMES)
    key = (str(store.path), stat.st_mtime_ns, stat.st_size, algorithm.name, task_type, exclude)
    if key not in _COSTS:
        try:
            with store.read() as con:
                times = get_fit_times(con, algorithm.space.flow_ids[0], task_type=task_type)
        except StoreError:
            return model.fit(_NO_TIMES)
        if exclude is not None:
            times = times[times["task_id"] != exclude]
        _COSTS.clear()  # one knowledge base and task type at a time is the common case
        _COSTS[key] = model.fit(times)
    return _COSTS[key]


_NO_TIMES = pd.DataFrame({"task_id": [], "params": [], "runtime_s": []})


def _numbers(meta_features: Mapping[str, Any]) -> dict[str, float]:
    # NaN and infinities are fine (the models treat them as missing); words are not.
    values = {}
    for name, value in meta_features.items():
        try:
            values[str(name)] = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"meta-feature {name!r} is {value!r}, not a number") from None
    return values


def _model_without_task(
    store: Store,
    record: Algorithm,
    method: str,
    ref: str,
    task_type: str | None,
    seed: int,
    min_configs: int,
    metric: str | None = None,
) -> tuple[WarmStarter, TaskQuery, dict[str, tuple[float, float]], TaskType]:
    with store.read() as con:
        task_id = find_task(con, ref)
        if task_id is None:
            raise MetakbError(f"no task {ref!r} in the knowledge base")
        features = get_task_meta_features(con, task_id)
        row = get_task_dataset(con, task_id)
        own = row["task_type"].iloc[0]
        if not isinstance(own, str):
            raise MetakbError(f"task {task_id} has no task type in the knowledge base")
        if task_type is not None and own != task_type:
            raise MetakbError(f"task {task_id} is a {own} task, not {task_type}")
        own = check_task_type(record, own)
        if metric is not None:
            check_metric(metric, own)
        # Learned from the tasks of the held-out task's own task type only.
        frames = _frames(con, record, own, metric)
    try:
        model, ranges = _fit_without(frames, row, [task_id], record, method, seed, min_configs)
    except StoreError as thin:
        if metric is None:
            raise
        raise MetakbError(_thin_metric_message(record, own, metric, thin)) from None
    return model, TaskQuery(meta_features=features, task_id=task_id), ranges, own


def _frames(
    con: duckdb.DuckDBPyConnection, record: Algorithm, task_type: str, metric: str | None = None
) -> MetaFrames:
    flow = record.space.flow_ids[0]
    try:
        return load_meta_frames(con, flow, _kb_metric(metric), task_type=task_type)
    except StoreError as thin:
        if metric is None:
            raise MetakbError(no_runs_message(record, task_type)) from None
        raise MetakbError(_thin_metric_message(record, task_type, metric, thin)) from None


def _fit_without(
    frames: MetaFrames,
    held_rows: pd.DataFrame | None,
    held: Sequence[str],
    record: Algorithm,
    method: str,
    seed: int,
    min_configs: int,
) -> tuple[WarmStarter, dict[str, tuple[float, float]]]:
    """Fit ``method`` on every task but those of the datasets of ``held`` (and their copies)."""
    data = build(frames, record.space, min_configs)
    # held_rows: the held tasks' dataset rows, for tasks without runs of the flow.
    tasks = frames.tasks if held_rows is None else pd.concat([frames.tasks, held_rows])
    groups = dataset_groups(tasks.reset_index(drop=True))
    out = {groups[t] for t in held if t in groups}
    keep = [t for t in data.task_ids if groups.get(t) not in out]
    if not keep:
        raise MetakbError(f"no training task left once {', '.join(held)} is held out")
    train = data.subset(keep)
    return method_of(method)(seed=seed).fit(train), train.feature_ranges(SIZE_META_FEATURES)


@dataclass(frozen=True)
class TableMatch:
    """A knowledge-base dataset that a user's table is a copy of.

    Attributes
    ----------
    dataset_id, name : str
        The dataset's key and name.
    how : str
        ``"same file"`` (content hash) or ``"same name and shape"``.
    task_ids : tuple of str
        Its tasks.
    openml_dataset_id : int or None
        Its OpenML dataset id, when known.
    """

    dataset_id: str
    name: str
    how: str
    task_ids: tuple[str, ...]
    openml_dataset_id: int | None = None

    def describe(self) -> str:
        """Return ``this table is <dataset> (<name>) in the knowledge base (<how>; task ...)``."""
        openml = "" if self.openml_dataset_id is None else f", OpenML {self.openml_dataset_id}"
        tasks = ", ".join(self.task_ids)
        return (
            f"this table is {self.dataset_id} ({self.name}{openml}) in the knowledge base "
            f"({self.how}; task {tasks})"
        )


def match_table(store: Store, table: Table) -> list[TableMatch]:
    """Return the knowledge-base datasets ``table`` is a copy of (same file, or name and shape)."""
    if not store.path.exists():  # a search may be the first thing written
        return []
    with store.read() as con:
        rows = find_table_datasets(
            con,
            content_hash=table.content_hash,
            name=table.name,
            n_rows=(len(table.X), len(table.X) + table.n_dropped),
            n_features=table.X.shape[1],
        )
    return [
        TableMatch(
            dataset_id=str(r["dataset_id"]),
            name=str(r["name"]),
            how=str(r["how"]),
            task_ids=tuple(r["task_ids"]),
            openml_dataset_id=None
            if r["openml_dataset_id"] is None
            else int(r["openml_dataset_id"]),
        )
        for r in rows
    ]


def recommendations_json(
    algorithm: Algorithm,
    recs: Sequence[Recommendation | RecommendedConfig],
    task_type: str,
    n_rows: int | None = None,
) -> dict[str, Any]:
    """Return ``{"recommendations": [...]}`` with estimator keyword arguments, best first.

    ``estimator`` is the algorithm's estimator for ``task_type`` and
    ``config`` its keyword arguments
    (:meth:`~metakb.spaces.Algorithm.estimator_params`) for a model fitted on
    ``n_rows`` rows (the user's table): size-dependent values the table is too
    small for are capped (:meth:`~metakb.spaces.Algorithm.fit_to_rows`), and
    ``adapted`` says which, as ``{hyperparameter: {"from": value, "to":
    value}}`` (empty when none is, or ``n_rows`` is None). An argument that is
    an estimator object (AdaBoost's base tree) is written as its class path
    under its name plus its parameters in scikit-learn's nested
    ``name__param`` form, ready for ``set_params``. ``flow_params`` holds the
    configuration as the knowledge base knows it, under the flow's (OpenML's)
    parameter names. ``predicted_score`` is the meta-model's predicted
    normalized score (``score`` says so), ``predicted_gain`` the predicted
    normalized score over the library default and ``gain_sd`` its
    uncertainty (both 0 for the default, None when not weighed against it);
    ``reason`` says why the configuration holds its rank; ``is_default``
    marks the library default; ``relative_cost`` is the predicted fit time as
    a multiple of the default's (None: unknown) and ``cost_basis`` where it
    comes from. A :class:`RecommendedConfig` is written as it is (its own
    rows and cost); a meta-model's :class:`~metakb.models.Recommendation` is
    shown for ``n_rows`` first, its cost unknown.

    Raises
    ------
    ValueError
        A task type the algorithm does not support.
    """
    task_type = algorithm.check_task_type(task_type)
    shown = [
        r
        if isinstance(r, RecommendedConfig)
        else shown_recommendation(algorithm, r, task_type, n_rows)
        for r in recs
    ]
    return {
        "algorithm": algorithm.name,
        "task_type": task_type,
        "estimator": algorithm.estimators[task_type],
        "n_rows": n_rows,
        "score": SCORE_NOTE,
        "recommendations": [r.to_dict() for r in shown],
    }
