"""The validated in-memory contract between the knowledge base and the meta-models."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestRegressor

from metakb.configs import canonical_json, config_id
from metakb.spaces import Params, SearchSpace

log = logging.getLogger(__name__)


_SCORED_MEMO = 4
"""How many scored candidate lists each task remembers (oldest forgotten first).

Four covers one fit of every warm starter on a split (the knn pool, the
portfolio/cf pool, the transfer pool, the query's candidates) while keeping
the memory small at thousands of tasks.
"""


def _frozen(array: np.ndarray) -> np.ndarray:
    out = np.array(array, dtype=float, copy=True)
    out.setflags(write=False)
    return out


@dataclass(frozen=True, eq=False)
class TaskData:
    """One task's evaluated configurations.

    Attributes
    ----------
    task_id : str
        The task key.
    group : str
        The dataset group: tasks of one group share a dataset and are held out together.
    config_ids : tuple of str
        One id per evaluated configuration (the knowledge base's config ids).
    configs : tuple of dict
        The configurations, validated in the space.
    X : numpy.ndarray
        ``(n, d)`` encoded configurations (read-only).
    y : numpy.ndarray
        ``(n,)`` values oriented so that higher is better (read-only).
    """

    task_id: str
    group: str
    config_ids: tuple[str, ...]
    configs: tuple[Params, ...]
    X: np.ndarray
    y: np.ndarray
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "X", _frozen(self.X))
        object.__setattr__(self, "y", _frozen(self.y))
        n = len(self.configs)
        if n == 0:
            raise ValueError(f"task {self.task_id}: no evaluated configurations")
        if self.X.ndim != 2 or self.X.shape[0] != n or self.y.shape != (n,):
            raise ValueError(
                f"task {self.task_id}: X {self.X.shape}, y {self.y.shape} for {n} configurations"
            )
        if len(self.config_ids) != n or len(set(self.config_ids)) != n:
            raise ValueError(f"task {self.task_id}: config_ids must be {n} distinct ids")
        if not np.all(np.isfinite(self.y)):
            raise ValueError(f"task {self.task_id}: values must be finite")

    def __getstate__(self) -> dict[str, Any]:
        # Fitted surrogates are a cache: leaving them out keeps artifacts small,
        # and they are refitted (same seed, same forest) when next needed.
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            object.__setattr__(self, key, value)

    @property
    def normalized(self) -> np.ndarray:
        """Values scaled to ``[0, 1]`` within the task (1 = the task's best, 0 = its worst)."""
        lo, hi = float(self.y.min()), float(self.y.max())
        if hi <= lo:
            return np.ones_like(self.y)
        return (self.y - lo) / (hi - lo)

    def best(self, k: int) -> list[int]:
        """Return the indices of the task's ``k`` best configurations, best first."""
        return [int(i) for i in np.argsort(-self.y, kind="stable")[:k]]

    def scores(
        self,
        configs: Sequence[Params],
        x: np.ndarray,
        seed: int = 0,
        keys: Sequence[str] | None = None,
    ) -> np.ndarray:
        """Return normalized scores of ``configs`` (encoded as ``x``) on this task.

        Configurations the task evaluated get their observed normalized value;
        the others the surrogate's prediction. ``keys`` are the configurations'
        :func:`~metakb.configs.canonical_json` when the caller has them already.
        The last few answers are remembered: models of one leave-one-out split
        (and an ensemble of them) score the same candidate lists task by task.
        """
        if keys is None:
            keys = tuple(canonical_json(c) for c in configs)
        # score_matrix passes one tuple to every task: the memo keys share it.
        memo_key = (seed, keys if isinstance(keys, tuple) else tuple(keys))
        memo: dict[Any, np.ndarray] = self._cache.setdefault("scored", {})
        if memo_key in memo:
            return memo[memo_key].copy()
        if "lookup" not in self._cache:
            self._cache["lookup"] = {
                canonical_json(c): float(v)
                for c, v in zip(self.configs, self.normalized, strict=True)
            }
        lookup: dict[str, float] = self._cache["lookup"]
        found = [lookup.get(key) for key in keys]
        missing = [i for i, v in enumerate(found) if v is None]
        out = np.array([np.nan if v is None else v for v in found], dtype=float)
        if missing:
            out[missing] = self.predict(x[missing], seed)
        if len(memo) >= _SCORED_MEMO:
            memo.pop(next(iter(memo)))
        memo[memo_key] = out
        return out.copy()

    def predict(self, x: np.ndarray, seed: int = 0) -> np.ndarray:
        """Return the surrogate's predicted normalized values at encoded configurations ``x``.

        The same as ``surrogate(seed).predict(x)``, tree by tree: the models call
        this for every training task on every fit, where the forest's per-call
        validation and thread dispatch cost more than the prediction.
        """
        forest = self.surrogate(seed)
        rows = np.ascontiguousarray(x, dtype=np.float32)
        out = np.zeros(len(rows))
        if not len(rows):
            return out
        for tree in forest.estimators_:
            out += tree.tree_.predict(rows).reshape(len(rows), -1)[:, 0]
        return out / len(forest.estimators_)

    def surrogate(self, seed: int = 0) -> RandomForestRegressor:
        """Return a random forest predicting the normalized value from the encoded config.

        Fitted once per task and seed and reused: a task's surrogate depends on
        that task alone, so every leave-one-out split can share it.
        """
        key = ("surrogate", seed)
        if key not in self._cache:
            model = RandomForestRegressor(
                n_estimators=24, min_samples_leaf=2, max_features=0.6, random_state=seed, n_jobs=1
            )
            self._cache[key] = model.fit(self.X, self.normalized)
        return self._cache[key]


class MetaDataset:
    """Tasks x configurations x values, meta-features and the search space.

    Parameters
    ----------
    space : SearchSpace
        The space every configuration lives in.
    tasks : sequence of TaskData
        The tasks, in a fixed order (rows of ``meta_features``).
    meta_features : numpy.ndarray
        ``(n_tasks, n_features)`` meta-features (NaN where unknown).
    meta_feature_names : sequence of str
        Column names of ``meta_features``.
    flow_id, metric : str
        Where the values come from.
    direction : {"max", "min"}
        The metric's direction as stored; ``TaskData.y`` is already oriented to "higher is better".

    Raises
    ------
    ValueError
        Shapes disagree, task ids repeat, the encoding width is not the space's,
        or ``direction`` is neither "max" nor "min".
    """

    def __init__(
        self,
        space: SearchSpace,
        tasks: Sequence[TaskData],
        meta_features: np.ndarray,
        meta_feature_names: Sequence[str],
        *,
        flow_id: str,
        metric: str,
        direction: str,
    ) -> None:
        self.space = space
        self.tasks: tuple[TaskData, ...] = tuple(tasks)
        self.meta_features = _frozen(meta_features)
        self.meta_feature_names = tuple(meta_feature_names)
        self.flow_id = flow_id
        self.metric = metric
        self.direction = direction
        if direction not in ("max", "min"):
            raise ValueError(f"direction must be 'max' or 'min', not {direction!r}")
        if not self.tasks:
            raise ValueError("a MetaDataset needs at least one task")
        ids = [t.task_id for t in self.tasks]
        if len(set(ids)) != len(ids):
            raise ValueError("task ids must be unique")
        if self.meta_features.shape != (len(ids), len(self.meta_feature_names)):
            raise ValueError(
                f"meta_features has shape {self.meta_features.shape}, expected "
                f"({len(ids)}, {len(self.meta_feature_names)})"
            )
        for task in self.tasks:
            if task.X.shape[1] != space.n_dims:
                raise ValueError(
                    f"task {task.task_id}: encoded width {task.X.shape[1]} != {space.n_dims}"
                )
        self._index = {tid: i for i, tid in enumerate(ids)}

    def __repr__(self) -> str:
        return (
            f"MetaDataset({self.space.name}, {self.metric}, tasks={self.n_tasks}, "
            f"evaluations={sum(len(t.y) for t in self.tasks)}, "
            f"meta_features={len(self.meta_feature_names)})"
        )

    @property
    def task_ids(self) -> tuple[str, ...]:
        """The task keys, in row order."""
        return tuple(t.task_id for t in self.tasks)

    @property
    def n_tasks(self) -> int:
        """The number of tasks."""
        return len(self.tasks)

    def task(self, task_id: str) -> TaskData:
        """Return one task's data."""
        if task_id not in self._index:
            raise KeyError(task_id)
        return self.tasks[self._index[task_id]]

    def meta_features_of(self, task_id: str) -> dict[str, float]:
        """Return one task's meta-features as ``{name: value}``, unknown values left out."""
        row = self.meta_features[self._index[task_id]]
        return {
            n: float(v) for n, v in zip(self.meta_feature_names, row, strict=True) if np.isfinite(v)
        }

    def feature_ranges(self, names: Sequence[str]) -> dict[str, tuple[float, float]]:
        """Return ``{name: (smallest, largest)}`` of meta-features over the tasks.

        Names the data lacks, or that no task has a finite value of, are left out.
        """
        ranges = {}
        for name in names:
            if name in self.meta_feature_names:
                column = self.meta_features[:, self.meta_feature_names.index(name)]
                known = column[np.isfinite(column)]
                if known.size:
                    ranges[name] = (float(known.min()), float(known.max()))
        return ranges

    def subset(self, task_ids: Sequence[str]) -> MetaDataset:
        """Return a MetaDataset of the given tasks (sharing their read-only data)."""
        rows = [self._index[t] for t in task_ids]
        return MetaDataset(
            self.space,
            [self.tasks[i] for i in rows],
            self.meta_features[rows],
            self.meta_feature_names,
            flow_id=self.flow_id,
            metric=self.metric,
            direction=self.direction,
        )

    def split_out(self, task_id: str) -> tuple[MetaDataset, TaskData]:
        """Hold one task out: return the training data without its whole dataset group, and it.

        Every task that shares the held-out task's dataset (same OpenML dataset
        id or same content) leaves the training data too, so nothing about the
        held-out dataset leaks into the models.
        """
        held = self.task(task_id)
        keep = [t.task_id for t in self.tasks if t.group != held.group]
        if not keep:
            raise ValueError(f"holding out {task_id} leaves no training task")
        return self.subset(keep), held

    def shared_configs(self) -> tuple[tuple[str, ...], np.ndarray] | None:
        """Return ``(config_ids, Y)`` when every task evaluated the same configurations.

        ``Y`` is ``(n_tasks, n_configs)`` of normalized values; None when the
        configurations differ between tasks (as in the OpenML100 random-search runs).
        """
        first = self.tasks[0].config_ids
        common = set(first)
        if any(set(t.config_ids) != common for t in self.tasks[1:]):
            return None
        ids = tuple(sorted(common))
        y = np.empty((self.n_tasks, len(ids)))
        for r, task in enumerate(self.tasks):
            pos = {c: i for i, c in enumerate(task.config_ids)}
            y[r] = task.normalized[[pos[c] for c in ids]]
        return ids, y

    def config_by_id(self, cid: str) -> Params:
        """Return a configuration by its id (from any task)."""
        for task in self.tasks:
            if cid in task.config_ids:
                return task.configs[task.config_ids.index(cid)]
        raise KeyError(cid)


def dataset_groups(tasks: pd.DataFrame) -> dict[str, str]:
    """Return task_id -> group id, joining tasks that share an OpenML dataset id or content hash.

    Parameters
    ----------
    tasks : pandas.DataFrame
        task_id, dataset_id and optionally openml_dataset_id and content_hash.
    """
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for row in tasks.itertuples(index=False):
        task_key = f"task:{row.task_id}"
        keys = [f"dataset:{row.dataset_id}"] if isinstance(row.dataset_id, str) else []
        did = getattr(row, "openml_dataset_id", None)
        if did is not None and pd.notna(did):
            keys.append(f"openml:{int(did)}")
        digest = getattr(row, "content_hash", None)
        if isinstance(digest, str) and digest:
            keys.append(f"hash:{digest}")
        for key in keys:
            union(task_key, key)
    groups: dict[str, str] = {}
    for row in tasks.itertuples(index=False):
        root = find(f"task:{row.task_id}")
        groups[str(row.task_id)] = root.split(":", 1)[1] if not root.startswith("task:") else root
    return groups


def build_meta_dataset(
    evaluations: pd.DataFrame,
    tasks: pd.DataFrame,
    meta_features: pd.DataFrame,
    *,
    space: SearchSpace,
    flow_id: str,
    metric: str,
    direction: str,
    min_configs: int = 1,
    min_coverage: float = 0.5,
) -> MetaDataset:
    """Turn the frames read from the knowledge base into a :class:`MetaDataset`.

    Parameters
    ----------
    evaluations : pandas.DataFrame
        task_id, params (JSON text or dict), value; optionally config_id.
    tasks : pandas.DataFrame
        task_id, dataset_id, and optionally openml_dataset_id, content_hash.
    meta_features : pandas.DataFrame
        dataset_id, name, value (long format).
    space : SearchSpace
        The flow's space; configurations outside it are dropped (and logged).
    flow_id, metric, direction : str
        Provenance and orientation of the values.
    min_configs : int
        Tasks with fewer valid evaluated configurations are left out.
    min_coverage : float
        Meta-features known for fewer than this fraction of tasks are left out.

    Raises
    ------
    ValueError
        Nothing is left to build from, or a required column is missing.
    """
    for frame, cols, name in (
        (evaluations, ("task_id", "params", "value"), "evaluations"),
        (tasks, ("task_id", "dataset_id"), "tasks"),
        (meta_features, ("dataset_id", "name", "value"), "meta_features"),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lacks columns {missing}")
    sign = 1.0 if direction == "max" else -1.0
    groups = dataset_groups(tasks)
    dataset_of = dict(zip(tasks["task_id"].astype(str), tasks["dataset_id"], strict=True))
    built: list[TaskData] = []
    dropped = 0
    for task_id, frame in evaluations.groupby("task_id", sort=True):
        configs: list[Params] = []
        ids: list[str] = []
        values: list[float] = []
        seen: set[str] = set()
        given_ids = frame["config_id"] if "config_id" in frame.columns else [None] * len(frame)
        for raw, value, cid in zip(frame["params"], frame["value"], given_ids, strict=True):
            params = json.loads(raw) if isinstance(raw, str) else dict(raw)
            try:
                config = space.validate(params)
            except ValueError:
                dropped += 1
                continue
            key = str(cid) if cid is not None else config_id(flow_id, config)
            if key in seen or not np.isfinite(value):
                continue
            seen.add(key)
            configs.append(config)
            ids.append(key)
            values.append(sign * float(value))
        if len(configs) < min_configs or str(task_id) not in groups:
            continue
        built.append(
            TaskData(
                task_id=str(task_id),
                group=groups[str(task_id)],
                config_ids=tuple(ids),
                configs=tuple(configs),
                X=space.encode_many(configs, validated=True),
                y=np.asarray(values),
            )
        )
    if dropped:
        log.info("%s: %d configurations outside the space were left out", flow_id, dropped)
    if not built:
        raise ValueError(f"{flow_id}/{metric}: no task with at least {min_configs} configurations")
    wide = (
        meta_features.pivot_table(
            index="dataset_id", columns="name", values="value", aggfunc="mean"
        )
        if len(meta_features)
        else pd.DataFrame()
    )
    rows = wide.reindex([dataset_of.get(t.task_id) for t in built])
    coverage = rows.notna().mean(axis=0) if len(rows.columns) else pd.Series(dtype=float)
    names = sorted(str(c) for c in coverage.index[coverage >= min_coverage])
    matrix = rows[names].to_numpy(dtype=float) if names else np.empty((len(built), 0))
    return MetaDataset(
        space,
        built,
        matrix,
        names,
        flow_id=flow_id,
        metric=metric,
        direction=direction,
    )


def meta_feature_vector(names: Sequence[str], values: Mapping[str, float]) -> np.ndarray:
    """Return ``values`` as a vector over ``names`` (NaN where a value is missing)."""
    return np.array([float(values.get(n, np.nan)) for n in names], dtype=float)
