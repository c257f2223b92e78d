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

from metakb.errors import MetakbError, StoreError
from metakb.kb._artifacts import ArtifactError, Manifest, load_model, save_model
from metakb.kb._layout import Layout
from metakb.models import WARM_STARTERS, MetaDataset, WarmStarter
from metakb.models._base import SIZE_META_FEATURES
from metakb.models._metadataset import build_meta_dataset
from metakb.spaces import SPACES, SearchSpace, get_space
from metakb.store import MetaFrames, Store, load_meta_frames

log = logging.getLogger(__name__)

MIN_CONFIGS = 10
"""Tasks with fewer evaluated configurations are too thin to learn from (per-task surrogates)."""

Progress = Callable[[str, int, int], None]


def space_of(algorithm: str) -> SearchSpace:
    """Return the space of an algorithm name or flow id, or raise a one-line MetakbError."""
    try:
        return get_space(algorithm)
    except KeyError:
        raise MetakbError(f"unknown algorithm {algorithm!r}; known: {sorted(SPACES)}") from None


def method_of(method: str) -> Callable[..., WarmStarter]:
    """Return the warm starter class of ``method``, or raise a one-line MetakbError."""
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
    space = space_of(algorithm)
    with store.read() as con:
        frames = load_meta_frames(con, space.flow_ids[0], metric)
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
    """Fit and save the warm starters of each algorithm the knowledge base has runs of.

    See :meth:`metakb.kb.KnowledgeBase.train`.
    """
    names = list(methods) if methods else list(WARM_STARTERS)
    for name in names:
        method_of(name)
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
            model = method_of(name)(seed=seed).fit(data)
            manifests.append(
                save_model(
                    model,
                    data,
                    layout.artifact(data.space.name, name),
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


def load_starter(
    store: Store,
    layout: Layout,
    algorithm: str,
    method: str,
    *,
    seed: int = 0,
    notes: list[str] | None = None,
) -> tuple[WarmStarter, Mapping[str, Sequence[float]]]:
    """Return the trained warm starter of ``method`` for ``algorithm``, fitting one if needed.

    The model saved by ``metakb train`` is used when there is one; otherwise
    (none, or one refused: another version, a pickle that does not match its
    manifest) one is fitted now on the knowledge base's runs (not saved), and
    why is appended to ``notes``. Also returned: the training tasks' range of
    each size meta-feature (for :func:`~metakb.kb.extrapolation_notes`).

    Raises
    ------
    MetakbError
        No usable trained model and no runs of the algorithm to fit one on
        (the message says both why the model was refused and why none fits).
    """
    space = space_of(algorithm)
    try:
        model, manifest = load_model(layout.artifact(space.name, method))
        return model, manifest.meta_feature_ranges
    except ArtifactError as exc:
        refused = str(exc)
    log.info("%s; fitting %s for %s now", refused, method, space.name)
    try:
        data = load_meta_dataset(store, space.name)
    except StoreError as exc:
        raise MetakbError(
            f"{refused}; none can be fitted instead ({exc}): "
            f"ingest runs of {space.name} (`metakb ingest ...`), or use --warm-start none"
        ) from None
    if notes is not None:
        notes.append(f"{refused}: fitted one for this search")
    return method_of(method)(seed=seed).fit(data), data.feature_ranges(SIZE_META_FEATURES)
