"""Collaborative filtering: matrix factorization of tasks x configurations."""

from __future__ import annotations

from typing import Self

import numpy as np

from metakb.configs import canonical_json
from metakb.models._base import (
    MetaFeatureScaler,
    Recommendation,
    TaskQuery,
    best_config_pool,
    candidates_of,
    check_k,
    score_matrix,
    top_distinct,
)
from metakb.models._metadataset import MetaDataset
from metakb.spaces import Params


class CFWarmStarter:
    """Low-rank factorization of normalized scores, with meta-features mapped to task factors.

    The matrix is the observed tasks x configurations table when every task
    evaluated the same configurations (TabRepo); otherwise the columns are a
    pool of the training tasks' best configurations and the entries are their
    per-task surrogate predictions. Alternating least squares with an L2
    penalty factorizes the matrix around per-configuration means; a ridge
    regression maps standardized meta-features to task factors for a cold
    start, and observations refine the factors (a ridge solve towards the
    cold-start factors). Candidates that are not matrix columns are scored by
    their nearest columns in the encoded space.

    Parameters
    ----------
    rank : int
        Number of latent factors.
    l2 : float
        Penalty of the factorization and of the meta-feature map.
    n_iter : int
        ALS sweeps.
    per_task : int
        Pool configurations contributed by each task when configurations are not shared.
    seed : int
        Seed of the initial factors and the surrogates.

    References
    ----------
    Fusi, Sheth & Elibol, "Probabilistic Matrix Factorization for Automated
    Machine Learning", NeurIPS 2018.
    """

    def __init__(
        self, rank: int = 5, l2: float = 1.0, n_iter: int = 30, per_task: int = 5, seed: int = 0
    ) -> None:
        self.rank = rank
        self.l2 = l2
        self.n_iter = n_iter
        self.per_task = per_task
        self.seed = seed

    def fit(self, data: MetaDataset) -> Self:
        """Factorize the score matrix and learn the meta-feature map."""
        if self.rank < 1 or self.l2 <= 0 or self.n_iter < 1:
            raise ValueError("rank, l2 and n_iter must be positive")
        shared = data.shared_configs()
        if shared is not None:
            ids, y = shared
            self.columns_: list[Params] = [data.config_by_id(c) for c in ids]
            self.columns_x_ = data.space.encode_many(self.columns_, validated=True)
        else:
            pool = best_config_pool(data, self.per_task)
            self.columns_ = list(pool.configs)
            self.columns_x_ = pool.X
            y = score_matrix(data.tasks, pool.configs, pool.X, self.seed)
        rng = np.random.default_rng(self.seed)
        self.bias_ = y.mean(axis=0)
        r = y - self.bias_
        rank = min(self.rank, *r.shape)
        u = rng.normal(scale=0.1, size=(r.shape[0], rank))
        v = rng.normal(scale=0.1, size=(r.shape[1], rank))
        ridge = self.l2 * np.eye(rank)
        for _ in range(self.n_iter):
            u = np.linalg.solve(v.T @ v + ridge, v.T @ r.T).T
            v = np.linalg.solve(u.T @ u + ridge, u.T @ r).T
        self.v_ = v
        self.scaler_ = MetaFeatureScaler(data.meta_feature_names).fit(data.meta_features)
        z = _with_intercept(self.scaler_.transform(data.meta_features))
        self.map_ = np.linalg.solve(z.T @ z + self.l2 * np.eye(z.shape[1]), z.T @ u)
        self.u_ = u
        self.space_ = data.space
        self.direction_ = data.direction
        self.task_ids_ = data.task_ids
        self.column_index_ = {canonical_json(c): j for j, c in enumerate(self.columns_)}
        return self

    def task_factors(self, query: TaskQuery) -> np.ndarray:
        """Return the query's latent factors: from meta-features, refined by observations."""
        u0 = _with_intercept(self.scaler_.query(query.meta_features)[None, :])[0] @ self.map_
        if len(query.observations) < 2:
            return u0
        cols, values = [], []
        for params, value in query.observations:
            x = self.space_.encode(params)
            cols.append(int(np.argmin(((self.columns_x_ - x) ** 2).sum(axis=1))))
            values.append(value if self.direction_ == "max" else -value)
        y = np.asarray(values, dtype=float)
        span = y.max() - y.min()
        y = (y - y.min()) / span if span > 0 else np.ones_like(y)
        vo = self.v_[cols]
        ridge = self.l2 * np.eye(len(u0))
        return np.linalg.solve(vo.T @ vo + ridge, vo.T @ (y - self.bias_[cols]) + self.l2 * u0)

    def recommend(self, query: TaskQuery, k: int) -> list[Recommendation]:
        """Return the ``k`` configurations with the highest reconstructed score."""
        check_k(k)
        u = self.task_factors(query)
        column_scores = self.v_ @ u + self.bias_
        # Source tasks: the training tasks whose factors are closest to the query's.
        similar = tuple(
            self.task_ids_[i]
            for i in np.argsort(((self.u_ - u) ** 2).sum(axis=1), kind="stable")[:3]
        )
        found = candidates_of(self.space_, query)
        if found is None:
            configs, scores = self.columns_, column_scores
        else:
            configs, x = found
            scores = self._score_candidates(configs, x, column_scores)
        order = np.argsort(-scores, kind="stable")
        return top_distinct(configs, order, k, lambda i: (float(scores[i]), similar))

    def _score_candidates(
        self, configs: list[Params], x: np.ndarray, column_scores: np.ndarray
    ) -> np.ndarray:
        scores = np.empty(len(configs))
        for i, (config, row) in enumerate(zip(configs, x, strict=True)):
            j = self.column_index_.get(canonical_json(config))
            if j is not None:
                scores[i] = column_scores[j]
                continue
            # Inverse-distance average of the three nearest columns.
            d = np.sqrt(((self.columns_x_ - row) ** 2).sum(axis=1))
            near = np.argsort(d, kind="stable")[:3]
            w = 1.0 / (d[near] + 1e-6)
            scores[i] = float(w @ column_scores[near] / w.sum())
        return scores


def _with_intercept(z: np.ndarray) -> np.ndarray:
    return np.hstack([z, np.ones((len(z), 1))])
