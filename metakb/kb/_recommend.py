"""Recommend configurations from the trained warm starters, and say when they extrapolate.

Every recommendation is weighed against the algorithm's library default
(:func:`metakb.models.select_over_default`): the default is always a
candidate, a configuration is ranked above it only when its predicted gain
exceeds that gain's uncertainty, and each one says why it holds its rank.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from metakb.errors import MetakbError, StoreError
from metakb.kb._artifacts import ArtifactError, load_model
from metakb.kb._layout import Layout
from metakb.kb._train import (
    algorithm_of,
    build,
    check_has_runs,
    check_task_type,
    load_meta_dataset,
    method_of,
    no_runs_message,
)
from metakb.models import (
    DefaultAwareWarmStarter,
    Recommendation,
    TaskQuery,
    WarmStarter,
    select_over_default,
)
from metakb.models._base import SIZE_META_FEATURES
from metakb.models._metadataset import dataset_groups
from metakb.spaces import Algorithm, Params
from metakb.store import (
    Store,
    find_task,
    get_task_dataset,
    get_task_meta_features,
    load_meta_frames,
)


class ExtrapolationWarning(UserWarning):
    """The new task's size lies outside every training task's: recommendations extrapolate."""


class ModelFittedWarning(UserWarning):
    """No usable trained model: one was fitted for this call (not saved; ``train`` saves it)."""


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


def recommend(
    store: Store,
    layout: Layout,
    meta_features: Mapping[str, float] | None,
    *,
    algorithm: str,
    k: int,
    method: str,
    task: str | None,
    task_type: str | None,
    observations: Sequence[tuple[Params, float]],
    seed: int,
    min_configs: int,
) -> list[Recommendation]:
    """Recommend configurations; see :meth:`metakb.kb.KnowledgeBase.recommend`."""
    record = algorithm_of(algorithm)
    space = record.space
    ranges: Mapping[str, Sequence[float]]
    if task is not None:
        model, query, ranges = _model_without_task(
            store, record, method, task, task_type, seed, min_configs
        )
        query = TaskQuery(query.meta_features, tuple(observations), None, query.task_id)
    else:
        if meta_features is None:
            raise MetakbError("give the task's meta-features or a task in the knowledge base")
        task_type = check_task_type(record, task_type or record.task_types[0])
        folder = layout.artifact(space.name, method, task_type)
        try:
            # Cached: a process that recommends repeatedly unpickles a model once.
            model, manifest = load_model(folder, cached=True)
            ranges = manifest.meta_feature_ranges
        except ArtifactError as exc:
            check_has_runs(store, record, task_type)  # else no model can be fitted
            reason = str(exc).split("; run `metakb train`")[0]
            # As a search does: fit one on the knowledge base's runs now, and say so.
            try:
                data = load_meta_dataset(
                    store, space.name, task_type=task_type, min_configs=min_configs
                )
            except StoreError as thin:
                raise MetakbError(f"{reason}; none can be fitted instead ({thin})") from None
            model = method_of(method)(seed=seed).fit(data)
            ranges = data.feature_ranges(SIZE_META_FEATURES)
            warnings.warn(
                f"{reason}: fitted {method} for {space.name} ({task_type}) now from the "
                f"knowledge base at {store.path.resolve()}; `metakb train` saves it",
                ModelFittedWarning,
                stacklevel=3,
            )
        query = TaskQuery(_numbers(meta_features), tuple(observations))
    for note in extrapolation_notes(query.meta_features, ranges, space.name):
        warnings.warn(note, ExtrapolationWarning, stacklevel=3)
    if not isinstance(model, DefaultAwareWarmStarter):  # every registered model is
        return model.recommend(query, k)
    outside = [
        f"{name} {_count(value)} {side} the training range"
        for name, value, side, _, _ in _outside(query.meta_features, ranges)
    ]
    default = record.library_config()
    return select_over_default(model, query, k, default=default, space=space, extrapolation=outside)


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
) -> tuple[WarmStarter, TaskQuery, dict[str, tuple[float, float]]]:
    space = record.space
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
        try:
            # Learned from the tasks of the held-out task's own task type only.
            frames = load_meta_frames(con, space.flow_ids[0], task_type=own)
        except StoreError:
            raise MetakbError(no_runs_message(record, own)) from None
    data = build(frames, space, min_configs)
    groups = dataset_groups(pd.concat([frames.tasks, row], ignore_index=True))
    held = groups[task_id]
    keep = [t for t in data.task_ids if groups.get(t) != held]
    if not keep:
        raise MetakbError(f"no training task left once {task_id} is held out")
    train = data.subset(keep)
    model = method_of(method)(seed=seed).fit(train)
    query = TaskQuery(meta_features=features, task_id=task_id)
    return model, query, train.feature_ranges(SIZE_META_FEATURES)


def recommendations_json(
    algorithm: Algorithm,
    recs: Sequence[Recommendation],
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
    parameter names. ``predicted_gain`` is the predicted normalized score over
    the library default and ``gain_sd`` its uncertainty (both 0 for the
    default, None when not weighed against it); ``reason`` says why the
    configuration holds its rank; ``is_default`` marks the library default.

    Raises
    ------
    ValueError
        A task type the algorithm does not support.
    """
    space = algorithm.space
    task_type = algorithm.check_task_type(task_type)

    def entry(r: Recommendation) -> dict[str, Any]:
        adapted = {} if n_rows is None else algorithm.adaptations(r.config, n_rows)
        return {
            "config": _jsonable_kwargs(algorithm.estimator_params(r.config, task_type, n_rows)),
            "adapted": {name: {"from": a, "to": b} for name, (a, b) in adapted.items()},
            "flow_params": space.to_flow_params(r.config),
            "predicted_score": r.predicted_score,
            "source_tasks": list(r.source_tasks),
            "predicted_gain": r.predicted_gain,
            "gain_sd": r.gain_sd,
            "reason": r.reason,
            "is_default": r.is_default,
        }

    return {
        "algorithm": algorithm.name,
        "task_type": task_type,
        "estimator": algorithm.estimators[task_type],
        "n_rows": n_rows,
        "recommendations": [entry(r) for r in recs],
    }


def _jsonable_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    from sklearn.base import BaseEstimator

    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if isinstance(value, BaseEstimator):
            cls = type(value)
            out[key] = f"{cls.__module__.split('._')[0]}.{cls.__name__}"
            defaults = cls().get_params()
            for p, v in value.get_params().items():
                if v != defaults.get(p):
                    out[f"{key}__{p}"] = v
        elif isinstance(value, np.generic):
            out[key] = value.item()
        else:
            out[key] = value
    return out
