"""Train warm starters from the knowledge base, save them, and recommend configurations.

This module joins the store (SQL) and the models (no SQL): it reads one
flow's tables through :mod:`metakb.store`, builds a
:class:`~metakb.models.MetaDataset`, fits the models of
:data:`~metakb.models.WARM_STARTERS` and keeps them as versioned artifacts in
``<knowledge base folder>/artifacts/<algorithm>/<method>/``.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metakb.errors import MetakbError, StoreError
from metakb.models import WARM_STARTERS, MetaDataset, Recommendation, TaskQuery, WarmStarter
from metakb.models._artifacts import Manifest, artifact_dir, load_model, save_model
from metakb.models._base import SIZE_META_FEATURES
from metakb.models._metadataset import build_meta_dataset, dataset_groups
from metakb.spaces import SPACES, Params, SearchSpace, get_space
from metakb.store import (
    MetaFrames,
    Store,
    find_task,
    get_task_dataset,
    get_task_meta_features,
    load_meta_frames,
)

log = logging.getLogger(__name__)

DEFAULT_METHOD = "transfer"
"""The method the leave-one-task-out measurement shows best (docs/benchmarks/zeroshot.md)."""

MIN_CONFIGS = 10
"""Tasks with fewer evaluated configurations are too thin to learn from (per-task surrogates)."""

Progress = Callable[[str, int, int], None]


class ExtrapolationWarning(UserWarning):
    """The new task's size lies outside every training task's: recommendations extrapolate."""


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
    notes = []
    for name, (lo, hi) in ranges.items():
        value = meta_features.get(name)
        if value is None or not math.isfinite(value) or lo <= value <= hi:
            continue
        side = "below" if value < lo else "above"
        notes.append(
            f"{name} {_count(value)} is {side} every {algorithm} task the model learned "
            f"from ({_count(lo)} to {_count(hi)}): its recommendations extrapolate"
        )
    return notes


def _count(value: float) -> str:
    # Digits grouped for counts; a hostile 1e300 stays one short word.
    return f"{value:,.0f}" if abs(value) < 1e12 else f"{value:.3g}"


def artifacts_root(store: Store) -> Path:
    """Return the folder that holds the knowledge base's trained models."""
    return store.path.parent / "artifacts"


def _space(algorithm: str) -> SearchSpace:
    try:
        return get_space(algorithm)
    except KeyError:
        raise MetakbError(f"unknown algorithm {algorithm!r}; known: {sorted(SPACES)}") from None


def _method(method: str) -> Callable[..., WarmStarter]:
    if method not in WARM_STARTERS:
        raise MetakbError(f"unknown method {method!r}; known: {sorted(WARM_STARTERS)}")
    return WARM_STARTERS[method]


def load_meta_dataset(
    store: Store,
    algorithm: str,
    metric: str | None = None,
    *,
    min_configs: int = MIN_CONFIGS,
) -> MetaDataset:
    """Read one algorithm's evaluations from the knowledge base as a :class:`MetaDataset`.

    Raises
    ------
    MetakbError
        The algorithm is unknown or the knowledge base holds no usable runs of it.
    """
    space = _space(algorithm)
    with store.read() as con:
        frames = load_meta_frames(con, space.flow_ids[0], metric)
    return _build(frames, space, min_configs)


def _build(frames: MetaFrames, space: SearchSpace, min_configs: int) -> MetaDataset:
    try:
        return build_meta_dataset(
            frames.evaluations,
            frames.tasks,
            frames.meta_features,
            space=space,
            flow_id=frames.flow_id,
            metric=frames.metric,
            direction=frames.direction,
            min_configs=min_configs,
        )
    except ValueError as exc:
        raise StoreError(str(exc)) from None


def train(
    store: Store,
    algorithms: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    *,
    seed: int = 0,
    min_configs: int = MIN_CONFIGS,
    progress: Progress | None = None,
) -> list[Manifest]:
    """Fit and save the warm starters of each algorithm the knowledge base has runs of.

    Parameters
    ----------
    store : Store
        The knowledge base.
    algorithms : sequence of str, optional
        Algorithms to train for (default: every algorithm with a space and runs).
    methods : sequence of str, optional
        Names from :data:`~metakb.models.WARM_STARTERS` (default: all).
    seed : int
        Seed passed to every model.
    min_configs : int
        Tasks with fewer evaluated configurations are left out.
    progress : callable, optional
        ``progress(description, done, total)``.

    Returns
    -------
    list of Manifest
        One per saved artifact.
    """
    names = list(methods) if methods else list(WARM_STARTERS)
    for name in names:
        _method(name)
    todo = list(algorithms) if algorithms else list(SPACES)
    manifests: list[Manifest] = []
    for algorithm in todo:
        try:
            data = load_meta_dataset(store, algorithm, min_configs=min_configs)
        except StoreError as exc:
            if algorithms:
                raise
            log.info("skipping %s: %s", algorithm, exc)
            continue
        for done, name in enumerate(names):
            t0 = time.perf_counter()
            model = _method(name)(seed=seed).fit(data)
            manifests.append(
                save_model(
                    model,
                    data,
                    artifacts_root(store),
                    method=name,
                    params={"seed": seed},
                    fit_seconds=time.perf_counter() - t0,
                )
            )
            if progress is not None:
                progress(f"training {data.space.name}", done + 1, len(names))
    if not manifests:
        raise StoreError("no algorithm with runs in the knowledge base; ingest data first")
    return manifests


def recommend(
    meta_features: Mapping[str, float] | None = None,
    *,
    algorithm: str,
    k: int = 10,
    method: str | None = None,
    task: str | None = None,
    observations: Sequence[tuple[Params, float]] = (),
    db: str | Path | None = None,
    seed: int = 0,
    min_configs: int = MIN_CONFIGS,
) -> list[Recommendation]:
    """Recommend configurations of ``algorithm`` for a new task or a task in the knowledge base.

    Parameters
    ----------
    meta_features : mapping, optional
        The new task's meta-features (OpenML quality names). Required unless ``task`` is given.
    algorithm : str
        ``random_forest``, ``adaboost``, ``svc`` or ``lightgbm`` (or a flow id).
    k : int
        How many configurations.
    method : str, optional
        A name from :data:`~metakb.models.WARM_STARTERS` (default :data:`DEFAULT_METHOD`).
    task : str, optional
        A task already in the knowledge base (key or OpenML task id): its
        meta-features come from the store and every task of its dataset is
        left out of the training data (the model is fitted afresh without them).
    observations : sequence of (params, value)
        Configurations already evaluated on the task, with metric values (in
        the metric's own direction). ``transfer`` then reweights its past
        tasks by how well they order them and recommends what complements
        them (never one of them again); ``cf`` updates its task factors.
    db : str or Path, optional
        The knowledge base (default: ``$METAKB_DB`` or ``data/metakb.duckdb``).
    seed : int
        Seed of a model fitted afresh.
    min_configs : int
        Tasks with fewer evaluated configurations are left out of a model fitted afresh.

    Returns
    -------
    list of Recommendation
        Best first; ``config`` under the flow's parameter names (see
        :func:`recommendations_json` for estimator keyword arguments).

    Raises
    ------
    MetakbError
        Unknown algorithm or method, no trained model (or one refused), no such task.
    ValueError
        A meta-feature value that is not a number (NaN and infinities are
        allowed: the models treat them as missing).

    Warns
    -----
    ExtrapolationWarning
        The task's number of instances, features or classes lies outside
        every training task's (:func:`extrapolation_notes` says which).

    Examples
    --------
    >>> import metakb
    >>> recs = metakb.recommend({"NumberOfInstances": 5000, "NumberOfFeatures": 20},
    ...                         algorithm="lightgbm", k=3)  # doctest: +SKIP
    """
    store = Store(db)
    name = method or DEFAULT_METHOD
    space = _space(algorithm)
    ranges: Mapping[str, Sequence[float]]
    if task is not None:
        model, query, ranges = _model_without_task(store, space, name, task, seed, min_configs)
        query = TaskQuery(query.meta_features, tuple(observations), None, query.task_id)
    else:
        if meta_features is None:
            raise MetakbError("give the task's meta-features or a task in the knowledge base")
        # Cached: a process that recommends repeatedly unpickles a model once.
        model, manifest = load_model(
            artifact_dir(artifacts_root(store), space.name, name), cached=True
        )
        ranges = manifest.meta_feature_ranges
        query = TaskQuery(_numbers(meta_features), tuple(observations))
    for note in extrapolation_notes(query.meta_features, ranges, space.name):
        warnings.warn(note, ExtrapolationWarning, stacklevel=2)
    return model.recommend(query, k)


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
    store: Store, space: SearchSpace, method: str, ref: str, seed: int, min_configs: int
) -> tuple[WarmStarter, TaskQuery, dict[str, tuple[float, float]]]:
    with store.read() as con:
        task_id = find_task(con, ref)
        if task_id is None:
            raise MetakbError(f"no task {ref!r} in the knowledge base")
        features = get_task_meta_features(con, task_id)
        row = get_task_dataset(con, task_id)
        frames = load_meta_frames(con, space.flow_ids[0])
    data = _build(frames, space, min_configs)
    groups = dataset_groups(pd.concat([frames.tasks, row], ignore_index=True))
    held = groups[task_id]
    keep = [t for t in data.task_ids if groups.get(t) != held]
    if not keep:
        raise MetakbError(f"no training task left once {task_id} is held out")
    train = data.subset(keep)
    model = _method(method)(seed=seed).fit(train)
    query = TaskQuery(meta_features=features, task_id=task_id)
    return model, query, train.feature_ranges(SIZE_META_FEATURES)


def recommendations_json(space: SearchSpace, recs: Sequence[Recommendation]) -> dict[str, Any]:
    """Return ``{"recommendations": [...]}`` with estimator keyword arguments, best first.

    ``config`` holds the estimator's keyword arguments; an argument that is an
    estimator object (AdaBoost's base tree) is written as its class path under
    its name plus its parameters in scikit-learn's nested ``name__param``
    form, ready for ``set_params``. ``flow_params`` holds the configuration
    under the flow's (OpenML's) parameter names.
    """
    return {
        "algorithm": space.name,
        "estimator": space.estimator,
        "recommendations": [
            {
                "config": _jsonable_kwargs(space.to_estimator_params(r.config)),
                "flow_params": space.to_flow_params(r.config),
                "predicted_score": r.predicted_score,
                "source_tasks": list(r.source_tasks),
            }
            for r in recs
        ],
    }


def _jsonable_kwargs(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in kwargs.items():
        if hasattr(value, "get_params"):
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
