"""Versioned artifacts of fitted warm starters: a pickle guarded by a JSON manifest.

An artifact folder (:meth:`metakb.kb.Layout.artifact`) holds the fitted model,
``model.pkl``, and next to it ``manifest.json``, its provenance: artifact format
version, metakb version, the method and its parameters, the space, the task type,
flow and metric, the meta-feature names the model expects, the training tasks
(and the range of their sizes) and the SHA-256 of the pickle. Loading reads the manifest first
and refuses to unpickle unless the format version matches and the pickle's
hash is the one the manifest recorded, so a file metakb did not write next to
its manifest is never unpickled.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from metakb._version import __version__
from metakb.datasets import file_hash
from metakb.errors import MetakbError
from metakb.models._base import SIZE_META_FEATURES, WarmStarter
from metakb.models._metadataset import MetaDataset

ARTIFACT_VERSION = 4
"""Bumped whenever a pickled model's attributes change (2: transfer's global surrogate;
3: the ensemble's predicting kind is its own class; 4: one model per task type, older
ones learned from classification and regression tasks at once)."""
MODEL_FILE = "model.pkl"
MANIFEST_FILE = "manifest.json"
PENDING_MODEL_FILE = f"{MODEL_FILE}.tmp"  # a new pickle until its manifest is committed


class ArtifactError(MetakbError):
    """A model artifact is missing, of another version, or does not match its manifest."""


@dataclass(frozen=True)
class Manifest:
    """What an artifact holds and where it came from."""

    artifact_version: int
    metakb_version: str
    method: str
    params: dict[str, Any]
    space: str
    task_type: str
    flow_id: str
    metric: str
    direction: str
    meta_feature_names: list[str]
    training_tasks: list[str]
    sha256: str
    fit_seconds: float
    created_at: str
    meta_feature_ranges: dict[str, list[float]] = field(default_factory=dict)
    """Smallest and largest size meta-feature over the training tasks (empty in older manifests)."""


def save_model(
    model: WarmStarter,
    data: MetaDataset,
    folder: Path,
    *,
    method: str,
    task_type: str,
    params: dict[str, Any],
    fit_seconds: float,
) -> Manifest:
    """Write ``model`` and its manifest into ``folder``; return the manifest.

    ``task_type`` is the task type of every task in ``data``.

    The manifest is the commit point: the new pickle is written next to the
    old one (``model.pkl.tmp``), the manifest with its hash replaces the old
    manifest, and only then the pickle replaces the old pickle, each rename
    atomic. A process killed at any moment leaves either the previous
    artifact or the new one loadable (:func:`load_model` finds the new
    pickle under its temporary name if the last rename did not happen).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pending = folder / PENDING_MODEL_FILE
    with pending.open("wb") as fh:
        pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    manifest = Manifest(
        artifact_version=ARTIFACT_VERSION,
        metakb_version=__version__,
        method=method,
        params=params,
        space=data.space.name,
        task_type=task_type,
        flow_id=data.flow_id,
        metric=data.metric,
        direction=data.direction,
        meta_feature_names=list(data.meta_feature_names),
        training_tasks=list(data.task_ids),
        sha256=file_hash(pending),
        fit_seconds=round(fit_seconds, 3),
        created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        meta_feature_ranges={
            name: list(r) for name, r in data.feature_ranges(SIZE_META_FEATURES).items()
        },
    )
    tmp = folder / f"{MANIFEST_FILE}.tmp"
    tmp.write_text(json.dumps(asdict(manifest), indent=2) + "\n")
    tmp.replace(folder / MANIFEST_FILE)
    pending.replace(folder / MODEL_FILE)
    return manifest


def read_manifest(folder: Path) -> Manifest:
    """Return an artifact's manifest.

    Raises
    ------
    ArtifactError
        The manifest is missing, unreadable or of another artifact version.
    """
    path = Path(folder) / MANIFEST_FILE
    if not path.is_file():
        raise ArtifactError(f"no trained model in {folder}; run `metakb train` first")
    try:
        raw = json.loads(path.read_text())
        if not isinstance(raw, dict):
            raise TypeError("not a JSON object")
        version = raw.get("artifact_version")
        if version != ARTIFACT_VERSION:
            raise ArtifactError(
                f"{path} is artifact version {version}, this metakb reads version "
                f"{ARTIFACT_VERSION}; run `metakb train` again"
            )
        return Manifest(**raw)
    except (ValueError, TypeError) as exc:
        raise ArtifactError(f"{path} is not a metakb manifest: {exc}") from None


def load_model(folder: Path, *, cached: bool = False) -> tuple[WarmStarter, Manifest]:
    """Return the fitted model of an artifact folder and its manifest.

    Parameters
    ----------
    folder : Path
        The artifact folder.
    cached : bool
        Keep the unpickled model in memory (the last :data:`CACHE_SIZE` artifacts)
        and return it again while the manifest's hash and the model file's size,
        modification time and inode are unchanged. Unpickling a model of a large
        knowledge base takes far longer than a recommendation, so a long-running
        process (the app, an API server) should load with ``cached=True``.

    Raises
    ------
    ArtifactError
        The manifest is missing or of another version, or the model file's
        SHA-256 is not the one recorded in the manifest (then it is not unpickled).
    """
    path = Path(folder) / MODEL_FILE
    for _ in range(_LOAD_ATTEMPTS):
        manifest = read_manifest(folder)
        # The new pickle is still under its temporary name if `save_model` was
        # killed between committing the manifest and the last rename.
        candidates = [p for p in (path, Path(folder) / PENDING_MODEL_FILE) if p.is_file()]
        if not candidates:
            raise ArtifactError(f"{path} is missing; run `metakb train` again")
        if cached:
            for candidate in candidates:
                if (key := _cache_key(candidate, manifest)) is not None and key in _CACHE:
                    _CACHE.move_to_end(key)
                    return _CACHE[key], manifest
        for candidate in candidates:
            try:
                data = candidate.read_bytes()
            except FileNotFoundError:  # renamed by a concurrent `metakb train`
                continue
            # Unpickle the very bytes that were hashed: a file replaced between
            # hashing and reading would pair a new model with the old manifest.
            if hashlib.sha256(data).hexdigest() == manifest.sha256:
                model = _unpickle(data, path)
                if cached and (key := _cache_key(candidate, manifest)) is not None:
                    _CACHE[key] = model
                    while len(_CACHE) > CACHE_SIZE:
                        _CACHE.popitem(last=False)
                return model, manifest
        if read_manifest(folder) == manifest:
            break  # nothing changed meanwhile: the pickle really is not the manifest's
        # A concurrent `metakb train` committed a new artifact while this read the
        # old one (the old pickle already replaced): read the new one instead.
    raise ArtifactError(
        f"{path} does not match the hash in its manifest; refusing to load it "
        "(run `metakb train` again)"
    )


_LOAD_ATTEMPTS = 5
"""How often :func:`load_model` rereads an artifact that a concurrent train replaced."""


def _unpickle(data: bytes, path: Path) -> WarmStarter:
    try:
        # Safe to unpickle: the bytes are the ones our own manifest recorded (hash checked).
        model: WarmStarter = pickle.loads(data)
    except (pickle.UnpicklingError, AttributeError, ImportError, EOFError, TypeError) as exc:
        # Written by metakb, but by code that no longer has the classes it refers to.
        raise ArtifactError(
            f"cannot load {path} ({type(exc).__name__}: {exc}); run `metakb train` again"
        ) from None
    return model


CACHE_SIZE = 4
"""How many unpickled models :func:`load_model` keeps with ``cached=True``."""

_CACHE: OrderedDict[tuple[str, str, int, int, int], WarmStarter] = OrderedDict()


def _cache_key(path: Path, manifest: Manifest) -> tuple[str, str, int, int, int] | None:
    # A rewritten file changes size, mtime or inode, so it is hash-checked again.
    # None: the file was just renamed away by a concurrent train (not cached then).
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (str(path.resolve()), manifest.sha256, stat.st_size, stat.st_mtime_ns, stat.st_ino)


def clear_model_cache() -> None:
    """Forget every model :func:`load_model` cached (the next load unpickles again)."""
    _CACHE.clear()
