"""Collaborative filtering: matrix factorization of tasks x configurations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
from scipy.spatial.distance import pdist

from metakb.models._base import (
    DefaultAwareWarmStarter,
    GainEvidence,
    MetaFeatureScaler,
    Recommendation,
    TaskQuery,
    best_config_pool,
    best_on_average,
    candidates_of,
    check_k,
    greedy_portfolio,
    kernel_weights,
    score_matrix,
    surrogate_evidence,
    top_distinct,
)
from metakb.models._metadataset import MetaDataset, TaskData
from metakb.spaces import Params


class CFWarmStarter(DefaultAwareWarmStarter):
    """Low-rank factorization of normalized scores, with meta-features mapped to task factors.

    The matrix is the observed tasks x configurations table when every task
    evaluated the same configurations (TabRepo); otherwise the columns are a
    pool of the training tasks' best configurations and the entries are their
    per-task surrogate predictions. Alternating least squares with an L2
    penalty factorizes the matrix around per-configuration means; a ridge
    regression maps standardized meta-features to task factors for a cold
    start, and observations refine the factors (a ridge solve towards the
    cold-start factors). Recommendations are a greedy portfolio for the
    training tasks nearest to the query in factor space.

    Parameters
    ----------
    rank : int
        Number of latent factors.
    l2 : float
        Penalty of the factorization and of the observation update.
    alpha : float
        Penalty of the ridge map from meta-features to task factors.
    n_iter : int
        ALS sweeps.
    per_task : int
        Pool configurations contributed by each task when configurations are not shared.
    bandwidth : float
        Width of the kernel on factor distances, relative to their median.
    n_tasks : int
        How many training tasks (nearest in factor space) the recommendations serve.
    seed : int
        Seed of the initial factors and the surrogates.

    References
    ----------
    Fusi, Sheth & Elibol, "Probabilistic Matrix Factorization for Automated
    Machine Learning", NeurIPS 2018.
    """

    def __init__(
        self,
        rank: int = 5,
        l2: float = 1.0,
        alpha: float = 10.0,
        n_iter: int = 30,
        per_task: int = 5,
        bandwidth: float = 1.0,
        n_tasks: int = 40,
        seed: int = 0,
    ) -> None:
        self.rank = rank
        self.l2 = l2
        self.alpha = alpha
        self.bandwidth = bandwidth
        self.n_tasks = n_tasks
        self.n_iter = n_iter
        self.per_task = per_task
        self.seed = seed

    def fit(self, data: MetaDataset) -> Self:
        """Factorize the score matrix and learn the meta-feature map."""
        if min(self.rank, self.n_iter, self.n_tasks) < 1 or min(self.l2, self.alpha) <= 0:
            raise ValueError("rank, n_iter, n_tasks, l2 and alpha must be positive")
        if self.bandwidth <= 0:
            raise ValueError("bandwidth must be positive")
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
        self.map_ = np.linalg.solve(z.T @ z + self.alpha * np.eye(z.shape[1]), z.T @ u)
        self.u_ = u
        # Condensed distances: a (tasks, tasks, rank) difference tensor would take
        # gigabytes at ten thousand tasks.
        upper = pdist(u)
        self.factor_scale_ = float(np.median(upper)) if len(upper) else 1.0
        self.tasks_: tuple[TaskData, ...] = data.tasks
        self.space_ = data.space
        self.direction_ = data.direction
        self.task_ids_ = data.task_ids
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

    def weights(self, query: TaskQuery) -> np.ndarray:
        """Return training-task weights from the distance of their factors to the query's."""
        u = self.task_factors(query)
        d = np.sqrt(((self.u_ - u) ** 2).sum(axis=1))
        return kernel_weights(d, self.bandwidth * self.factor_scale_, self.n_tasks)

    def recommend(self, query: TaskQuery, k: int) -> list[Recommendation]:
        """Return ``k`` configurations: a greedy portfolio for the tasks nearest in factor space.

        Without candidates the rows are the low-rank reconstruction of the
        training tasks (denoised scores); with candidates, the tasks' observed
        or surrogate scores of the candidates.
        """
        check_k(k)
        w = self.weights(query)
        used = np.flatnonzero(w)
        found = candidates_of(self.space_, query)
        if found is None:
            configs = self.columns_
            scores = self.u_[used] @ self.v_.T + self.bias_
        else:
            configs, x = found
            scores = score_matrix([self.tasks_[i] for i in used], configs, x, self.seed)
        chosen = greedy_portfolio(scores, k, w[used])
        mean = w[used] @ scores
        similar = tuple(self.task_ids_[i] for i in used[np.argsort(-w[used], kind="stable")[:3]])
        return top_distinct(configs, chosen, k, lambda i: (float(mean[i]), similar))

    def gain_evidence(
        self, query: TaskQuery, configs: Sequence[Params], *, general: bool = False
    ) -> GainEvidence:
        """Return the scores of ``configs`` on the tasks nearest in factor space, kernel-weighted.

        The tasks and weights of :meth:`recommend`; the tasks' surrogates
        score the configurations, not the factorization, since the library
        default is rarely one of its columns. ``general``: every training
        task, equally weighted.
        """
        if general:
            return surrogate_evidence(
                self.tasks_, self.space_, configs, self.seed, basis="training tasks"
            )
        w = self.weights(query)
        used = np.flatnonzero(w)
        return surrogate_evidence(
            [self.tasks_[i] for i in used],
            self.space_,
            configs,
            self.seed,
            weights=w[used] / w[used].sum(),
            basis="similar tasks",
        )

    def general_configs(self, n: int) -> list[Params]:
        """Return the ``n`` columns of highest mean score over the training tasks."""
        return best_on_average(self.columns_, self.bias_[None, :], n)


def _with_intercept(z: np.ndarray) -> np.ndarray:
    return np.hstack([z, np.ones((len(z), 1))])
