"""Train warm starters from the knowledge base and load them back.

This module joins the store (SQL) and the models (no SQL): it reads one
flow's tables through :mod:`metakb.store`, builds a
:class:`~metakb.models.MetaDataset`, fits the models of
:data:`~metakb.models.WARM_STARTERS` and keeps them as versioned artifacts
(:mod:`metakb.kb._artifacts`) in the knowledge base's
:class:`~metakb.kb.Layout`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence

from metakb.errors import MetakbError, StoreError, UsageError
from metakb.kb._artifacts import ArtifactError, Manifest, load_model, save_model
from metakb.kb._layout import Layout
from metakb.models import WARM_STARTERS, MetaDataset, WarmStarter
from metakb.models._base import SIZE_META_FEATURES
from metakb.models._metadataset import build_meta_dataset
from metakb.search import TASK_METRICS
from metakb.sources.local import KB_METRICS
from metakb.spaces import ALGORITHMS, SPACES, Algorithm, SearchSpace, TaskType, get_space
from metakb.store import MetaFrames, Store, list_tasks, load_meta_frames

log = logging.getLogger(__name__)

MIN_CONFIGS = 10
"""Tasks with fewer evaluated configurations are too thin to learn from (per-task surrogates)."""

Progress = Callable[[str, int, int], None]


def space_of(algorithm: str) -> SearchSpace:
    """Return the space of an algorithm name or flow id, or raise a one-line MetakbError."""
    try:
        return get_space(algorithm)
    except KeyError:
        raise UsageError(f"unknown algorithm {algorithm!r}; known: {', '.join(SPACES)}") from None


def algorithm_of(algorithm: str) -> Algorithm:
    """Return the record of an algorithm name or flow id, or raise a one-line MetakbError."""
    return ALGORITHMS[space_of(algorithm).name]


def check_task_type(algorithm: Algorithm, task_type: str) -> TaskType:
    """Return ``task_type`` if ``algorithm`` supports it, else raise a one-line MetakbError.

    The message names the task types the algorithm supports and the
    algorithms that support ``task_type``.
    """
    try:
        return algorithm.check_task_type(task_type)
    except ValueError as error:
        others = [a.name for a in ALGORITHMS.values() if task_type in a.task_types]
        hint = f"; use {' or '.join(others)} for a {task_type} target" if others else ""
        raise MetakbError(f"{error}{hint}") from None


def check_has_runs(store: Store, algorithm: Algorithm, task_type: str) -> None:
    """Raise a one-line MetakbError when no task of ``task_type`` has runs of ``algorithm``.

    A model of the algorithm learns from tasks of one task type only, so
    without such tasks nothing can be recommended for a task of that type.
    """
    with store.read() as con:
        tasks = list_tasks(con, algorithm.space.flow_ids[0])
    if not (tasks["task_type"] == task_type).any():
        raise MetakbError(no_runs_message(algorithm, task_type))


def check_metric(metric: str, task_type: str | None = None) -> str:
    """Return ``metric`` if it is a known cross-validation metric (scoring ``task_type``).

    Known: the keys of :data:`~metakb.sources.local.KB_METRICS`, which maps
    them to the knowledge base's metric names; each task type's are
    :data:`~metakb.search.TASK_METRICS`.

    Raises
    ------
    UsageError
        An unknown metric, or one that does not score ``task_type``.
    """
    if metric not in KB_METRICS:
        raise UsageError(f"unknown metric {metric!r}; known: {', '.join(KB_METRICS)}")
    if task_type is not None and metric not in TASK_METRICS.get(task_type, ()):
        known = ", ".join(TASK_METRICS.get(task_type, ()))
        raise UsageError(f"{metric} does not score a {task_type} target; use {known}")
    return metric


def no_runs_message(algorithm: Algorithm, task_type: str) -> str:
    """Return the one-line message of :func:`check_has_runs`."""
    name = algorithm.name
    return (
        f"the knowledge base holds no {task_type} tasks with runs of {name}: nothing to "
        f"recommend {name} from for a {task_type} task (ingest {task_type} runs of it first)"
    )


def method_of(method: str) -> Callable[..., WarmStarter]:
    """Return the warm starter class of ``method``, or raise a one-line MetakbError."""
    if method not in WARM_STARTERS:
        raise UsageError(f"unknown method {method!r}; known: {', '.join(WARM_STARTERS)}")
    return WARM_STARTERS[method]


def load_meta_dataset(
    store: Store,
    algorithm: str,
    metric: str | None = None,
    *,
    task_type: str | None = None,
    min_configs: int = MIN_CONFIGS,
) -> MetaDataset:
    """Read one algorithm's evaluations from the knowledge base as a :class:`MetaDataset`.

    Parameters
    ----------
    store : Store
        The knowledge base.
    algorithm : str
        An algorithm name or flow id.
    metric : str, optional
        The metric to read (default: the one most evaluated on the tasks read).
    task_type : str, optional
        Only tasks of this task type, as a model recommending for it learns
        from; every task by default.
    min_configs : int
        Tasks with fewer evaluated configurations are left out.

    Raises
    ------
    MetakbError
        The algorithm is unknown or the knowledge base holds no usable runs of
        it (on tasks of ``task_type``).
    """
    space = space_of(algorithm)
    with store.read() as con:
        frames = load_meta_frames(con, space.flow_ids[0], metric, task_type=task_type)
    return build(frames, space, min_configs)


def build(frames: MetaFrames, space: SearchSpace, min_configs: int) -> MetaDataset:
    """Return the meta-dataset of ``frames``; invalid frames are a :class:`StoreError`."""
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
    layout: Layout,
    algorithms: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    *,
    seed: int = 0,
    min_configs: int = MIN_CONFIGS,
    progress: Progress | None = None,
) -> list[Manifest]:
    """Fit and save the warm starters of each algorithm and task type with runs.

    One model per (algorithm, task type, method), learned from the tasks of
    that task type only. See :meth:`metakb.kb.KnowledgeBase.train`.
    """
    names = list(methods) if methods else list(WARM_STARTERS)
    for name in names:
        method_of(name)
    todo = [algorithm_of(a) for a in algorithms] if algorithms else list(ALGORITHMS.values())
    manifests: list[Manifest] = []
    for algorithm in todo:
        refused: list[str] = []
        for task_type in algorithm.task_types:
            try:
                data = load_meta_dataset(
                    store, algorithm.name, task_type=task_type, min_configs=min_configs
                )
            except StoreError as exc:
                log.info("skipping %s for %s: %s", algorithm.name, task_type, exc)
                refused.append(str(exc))
                continue
            for done, name in enumerate(names):
                t0 = time.perf_counter()
                model = method_of(name)(seed=seed).fit(data)
                manifests.append(
                    save_model(
                        model,
                        data,
                        layout.artifact(algorithm.name, name, task_type),
                        method=name,
                        task_type=task_type,
                        params={"seed": seed},
                        fit_seconds=time.perf_counter() - t0,
                    )
                )
                if progress is not None:
                    progress(f"training {algorithm.name} ({task_type})", done + 1, len(names))
        if algorithms and len(refused) == len(algorithm.task_types):
            raise StoreError("; ".join(dict.fromkeys(refused)))
    if not manifests:
        raise StoreError("no algorithm with runs in the knowledge base; ingest data first")
    return manifests


def load_starter(
    store: Store,
    layout: Layout,
    algorithm: str,
    method: str,
    *,
    task_type: str,
    seed: int = 0,
    notes: list[str] | None = None,
) -> tuple[WarmStarter, Mapping[str, Sequence[float]]]:
    """Return the trained warm starter of ``method`` for ``algorithm``, fitting one if needed.

    The model saved by ``metakb train`` for ``task_type`` is used when there
    is one; otherwise (none, or one refused: another version, a pickle that
    does not match its manifest) one is fitted now on the knowledge base's
    runs on tasks of ``task_type`` (not saved), and why is appended to
    ``notes``. Also returned: the training tasks' range of each size
    meta-feature (for :func:`~metakb.kb.extrapolation_notes`).

    Raises
    ------
    MetakbError
        A task type the algorithm does not support; no usable trained model
        and no runs of the algorithm on tasks of ``task_type`` to fit one on
        (the message says both why the model was refused and why none fits).
    """
    record = algorithm_of(algorithm)
    task_type = check_task_type(record, task_type)
    name = record.name
    try:
        model, manifest = load_model(layout.artifact(name, method, task_type))
        return model, manifest.meta_feature_ranges
    except ArtifactError as exc:
        refused = str(exc)
    log.info("%s; fitting %s for %s (%s) now", refused, method, name, task_type)
    try:
        data = load_meta_dataset(store, name, task_type=task_type)
    except StoreError as exc:
        raise MetakbError(
            f"{refused}; none can be fitted instead ({exc}): "
            f"ingest {task_type} runs of {name} (`metakb ingest ...`), or use --warm-start none"
        ) from None
    if notes is not None:
        notes.append(f"{refused}: fitted one for this search")
    return method_of(method)(seed=seed).fit(data), data.feature_ranges(SIZE_META_FEATURES)
