"""kNN task similarity: the best configurations of the most similar past tasks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
from scipy.spatial.distance import cdist

from metakb.models._base import (
    MetaFeatureScaler,
    Recommendation,
    TaskQuery,
    candidates_of,
    check_k,
    nearest,
)
from metakb.models._metadataset import MetaDataset
from metakb.spaces import Params


class KnnWarmStarter:
    """Recommend the best configurations of the nearest tasks in meta-feature space.

    Meta-features are signed-log transformed, median-imputed and standardized;
    recommendations go round robin over the neighbours, nearest first (the best
    configuration of each, then the second best of each, ...), duplicates removed.
    With candidates, each neighbour configuration is replaced by the nearest
    unused candidate in the encoded space.

    Parameters
    ----------
    n_neighbors : int
        How many similar tasks to draw from.
    metric : str
        A :func:`scipy.spatial.distance.cdist` metric (``"euclidean"``, ``"cityblock"``, ...).
    features : sequence of str, optional
        The meta-features to use (default: all of the training data's).
    seed : int
        Unused (the method is deterministic); kept for the common interface.

    References
    ----------
    Feurer, Springenberg & Hutter, "Initializing Bayesian Hyperparameter
    Optimization via Meta-Learning", AAAI 2015.
    """

    def __init__(
        self,
        n_neighbors: int = 5,
        metric: str = "euclidean",
        features: Sequence[str] | None = None,
        seed: int = 0,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.features = features
        self.seed = seed

    def fit(self, data: MetaDataset) -> Self:
        """Store the training tasks' standardized meta-features and best configurations."""
        if self.n_neighbors < 1:
            raise ValueError("n_neighbors must be positive")
        names = list(self.features) if self.features is not None else list(data.meta_feature_names)
        unknown = sorted(set(names) - set(data.meta_feature_names))
        if unknown:
            raise ValueError(f"unknown meta-features {unknown}")
        cols = [data.meta_feature_names.index(n) for n in names]
        self.scaler_ = MetaFeatureScaler(names).fit(data.meta_features[:, cols])
        self.z_ = self.scaler_.transform(data.meta_features[:, cols])
        self.space_ = data.space
        self.task_ids_ = data.task_ids
        depth = 32
        self.best_: list[list[Params]] = [[t.configs[i] for i in t.best(depth)] for t in data.tasks]
        self.best_x_ = [t.X[t.best(depth)] for t in data.tasks]
        return self

    def neighbors(self, query: TaskQuery) -> tuple[np.ndarray, np.ndarray]:
        """Return the training-task indices sorted by distance to the query, and the distances."""
        z = self.scaler_.query(query.meta_features)
        d = cdist(z[None, :], self.z_, metric=self.metric)[0]
        order = np.argsort(d, kind="stable")
        return order, d[order]

    def recommend(self, query: TaskQuery, k: int) -> list[Recommendation]:
        """Return up to ``k`` configurations from the nearest tasks, round robin."""
        check_k(k)
        order, _ = self.neighbors(query)
        picked = order[: self.n_neighbors]
        found = candidates_of(self.space_, query)
        out: list[Recommendation] = []
        seen: set[int] = set()
        keys: set[str] = set()
        depth = max(len(b) for b in self.best_)
        for rank in range(depth):
            for t in picked:
                if rank >= len(self.best_[t]) or len(out) >= k:
                    continue
                source = (self.task_ids_[t],)
                if found is None:
                    config = self.best_[t][rank]
                    key = repr(sorted(config.items()))
                    if key not in keys:
                        keys.add(key)
                        out.append(Recommendation(dict(config), None, source))
                    continue
                configs, x = found
                for j in nearest(self.best_x_[t][rank : rank + 1], x)[0]:
                    if int(j) not in seen:
                        seen.add(int(j))
                        out.append(Recommendation(dict(configs[int(j)]), None, source))
                        break
            if len(out) >= k:
                break
        return out
