"""Surrogate transfer: past tasks' surrogates weighted by similarity, then by ranking agreement."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Self

import numpy as np
from scipy.spatial.distance import cdist, pdist

from metakb.models._base import (
    SIMPLE_META_FEATURES,
    AdaptiveWarmStarter,
    DefaultAwareWarmStarter,
    GainEvidence,
    MetaFeatureScaler,
    Observed,
    PredictiveWarmStarter,
    Recommendation,
    TaskQuery,
    best_config_pool,
    best_on_average,
    candidates_of,
    check_k,
    greedy_portfolio,
    keep_top,
    kernel_weights,
    score_matrix,
    select_features,
    surrogate_evidence,
    top_distinct,
)
from metakb.models._metadataset import MetaDataset, TaskData
from metakb.spaces import Params

if TYPE_CHECKING:
    from lightgbm import LGBMRegressor


class TransferWarmStarter(PredictiveWarmStarter, AdaptiveWarmStarter, DefaultAwareWarmStarter):
    """A weighted ensemble of per-task surrogates and one global surrogate.

    Before any observation a past task's weight decays with its standardized
    meta-feature distance to the new task (a Gaussian kernel whose width is
    ``bandwidth`` times the median distance); with two or more observations the
    weight is the TST-R ranking kernel: the fraction of observed pairs the task's
    surrogate orders wrongly, through an Epanechnikov kernel. Only the
    ``n_tasks`` heaviest tasks are kept, which bounds the prediction cost.

    The global surrogate is a LightGBM regressor on [standardized
    meta-features, encoded configuration] over every training task's
    evaluations, predicting the normalized score for the new task's
    meta-features. It is blended into every member: a task's score of a
    configuration is ``(1 - global_weight)`` times its surrogate's plus
    ``global_weight`` times the global surrogate's. (On subsets of the
    leave-one-task-out benchmark, blending at 0.25 did slightly better than
    the global surrogate as one more weighted member and than none, by less
    than the noise; see docs/benchmarks/zeroshot_choices.md.)

    :meth:`predict` gives the ensemble's mean and spread for Bayesian
    optimization (a :class:`PredictiveWarmStarter`); :meth:`recommend` picks
    a greedy portfolio under the weights, continued from a search's
    observations by :meth:`recommend_given` (an :class:`AdaptiveWarmStarter`).

    Parameters
    ----------
    bandwidth : float
        Width of the meta-feature kernel, relative to the median distance.
    rank_bandwidth : float
        Width of the ranking kernel (discordance at which a weight reaches 0).
    n_tasks : int
        How many past tasks enter the ensemble.
    features : sequence of str, optional
        Meta-features of the similarity (default :data:`SIMPLE_META_FEATURES`
        where the data has them; None: all).
    per_task : int
        Candidates contributed by each training task when the query has none.
    n_random : int
        Random configurations of the space added to that pool.
    global_weight : float
        Share of the global surrogate in every member's scores, in ``[0, 1)``
        (0: per-task surrogates only).
    global_rows : int
        Evaluations per training task the global surrogate learns from (a
        random subset where a task has more), which bounds its fitting time.
    seed : int
        Seed of the surrogates and the random pool.

    References
    ----------
    Wistuba, Schilling & Schmidt-Thieme, "Two-stage transfer surrogate model for
    automatic hyperparameter optimization", ECML-PKDD 2016 (TST-R);
    Feurer, Letham & Bakshy, "Scalable Meta-Learning for Bayesian Optimization
    using Ranking-Weighted Gaussian Process Ensembles", AutoML workshop 2018 (RGPE);
    Ke et al., "LightGBM: A Highly Efficient Gradient Boosting Decision Tree",
    NeurIPS 2017 (the global surrogate).
    """

    def __init__(
        self,
        bandwidth: float = 1.0,
        rank_bandwidth: float = 0.5,
        n_tasks: int = 40,
        features: Sequence[str] | None = SIMPLE_META_FEATURES,
        per_task: int = 5,
        n_random: int = 256,
        global_weight: float = 0.25,
        global_rows: int = 100,
        seed: int = 0,
    ) -> None:
        self.bandwidth = bandwidth
        self.rank_bandwidth = rank_bandwidth
        self.n_tasks = n_tasks
        self.features = features
        self.per_task = per_task
        self.n_random = n_random
        self.global_weight = global_weight
        self.global_rows = global_rows
        self.seed = seed

    def fit(self, data: MetaDataset) -> Self:
        """Fit the per-task surrogates and precompute their predictions on a candidate pool."""
        if self.bandwidth <= 0 or self.rank_bandwidth <= 0 or self.n_tasks < 1:
            raise ValueError("bandwidths and n_tasks must be positive")
        if not 0 <= self.global_weight < 1 or self.global_rows < 1:
            raise ValueError("global_weight must be in [0, 1) and global_rows positive")
        self.space_ = data.space
        self.direction_ = data.direction
        names = select_features(self.features, data.meta_feature_names)
        cols = [data.meta_feature_names.index(n) for n in names]
        self.scaler_ = MetaFeatureScaler(names).fit(data.meta_features[:, cols])
        self.z_ = self.scaler_.transform(data.meta_features[:, cols])
        # Condensed (upper-triangle) distances: half the memory of the square matrix
        # and no index arrays, which matters at ten thousand tasks.
        self.median_distance_ = float(np.median(pdist(self.z_))) if len(self.z_) > 1 else 1.0
        self.tasks_: tuple[TaskData, ...] = data.tasks
        self.task_ids_ = data.task_ids
        pool = best_config_pool(data, self.per_task)
        randoms = data.space.sample(self.n_random, seed=self.seed)
        self.pool_: list[Params] = [*pool.configs, *randoms]
        self.pool_x_ = np.vstack([pool.X, data.space.encode_many(randoms, validated=True)])
        self.pool_scores_ = score_matrix(data.tasks, self.pool_, self.pool_x_, self.seed)
        self.global_: LGBMRegressor | None = (
            self._fit_global(data.tasks) if self.global_weight > 0 else None
        )
        return self

    def _fit_global(self, tasks: Sequence[TaskData]) -> LGBMRegressor:
        # Imported here: importing lightgbm costs about a second that serving
        # the other models (and this one without its global member) need not pay.
        from lightgbm import LGBMRegressor

        rng = np.random.default_rng(self.seed)
        rows, targets = [], []
        for z, task in zip(self.z_, tasks, strict=True):
            take = np.arange(len(task.y))
            if len(take) > self.global_rows:
                take = np.sort(rng.choice(take, self.global_rows, replace=False))
            rows.append(_joined(z, task.X[take]))
            targets.append(task.normalized[take])
        # Small and single-threaded: it is refitted on every leave-one-out split,
        # and the cores are shared with the per-task forests.
        model = LGBMRegressor(
            n_estimators=200,
            learning_rate=0.05,
            num_leaves=15,
            min_child_samples=20,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            random_state=self.seed,
            n_jobs=1,
            verbose=-1,
        )
        return model.fit(np.vstack(rows), np.concatenate(targets))

    def weights(self, query: TaskQuery, observed: Observed | None = None) -> np.ndarray:
        """Return one non-negative weight per training task, summing to 1.

        ``observed`` is ``(x, y)``: encoded configurations of the new task and
        their values, higher is better (what a search has seen); by default the
        query's own observations. With two or more, the weights are the
        ranking kernel's, unless every member orders them too badly.
        """
        if observed is None and query.observations:
            observed = self._observations(query)
        at_observed = None
        if observed is not None and len(observed[1]) >= 2:
            at_observed = self.member_predictions(query, observed[0])
        return self._weights(query, observed, at_observed)

    def _weights(
        self, query: TaskQuery, observed: Observed | None, at_observed: np.ndarray | None
    ) -> np.ndarray:
        """:meth:`weights`, given every member's predictions at the observed configurations."""
        if observed is not None and at_observed is not None and len(observed[1]) >= 2:
            w = self.ranking_weights(at_observed, observed[1])
            if w is not None:
                return w
        z = self.scaler_.query(query.meta_features)
        d = cdist(z[None, :], self.z_)[0]
        return kernel_weights(d, self.bandwidth * self.median_distance_, self.n_tasks)

    def _observations(self, query: TaskQuery) -> Observed:
        x = self.space_.encode_many([p for p, _ in query.observations])
        sign = 1.0 if self.direction_ == "max" else -1.0
        return x, sign * np.array([v for _, v in query.observations], dtype=float)

    def ranking_weights(self, preds: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        """Return the TST-R weights of members predicting ``preds`` where ``y`` was observed.

        ``preds`` is ``(members, observations)``, ``y`` the observed values
        (higher is better). A member's weight is the Epanechnikov kernel of
        the fraction of observed pairs (of different values) it orders
        wrongly, a tie counting half, so that a flat surrogate earns nothing;
        the ``n_tasks`` heaviest are kept. None when every member's weight is
        0 or the observations are all equal.
        """
        first, second = np.triu_indices(len(y), 1)
        dy = np.sign(y[first] - y[second])
        pairs = dy != 0
        if not pairs.any():
            return None
        dp = np.sign(preds[:, first[pairs]] - preds[:, second[pairs]])
        discordant = np.mean((dp * dy[pairs] < 0) + 0.5 * (dp == 0), axis=1)
        u = discordant / self.rank_bandwidth
        w = np.where(u < 1, 0.75 * (1 - u**2), 0.0)
        return keep_top(w, self.n_tasks) if w.sum() > 0 else None

    def global_predict(self, query: TaskQuery, x: np.ndarray) -> np.ndarray:
        """Return the global surrogate's normalized scores of encoded configs ``x`` for the query.

        Raises
        ------
        ValueError
            The model was fitted without one (``global_weight=0``).
        """
        if self.global_ is None:
            raise ValueError("fitted with global_weight=0: no global surrogate")
        if len(x) == 0:
            return np.empty(0)
        z = self.scaler_.query(query.meta_features)
        # Normalized scores live in [0, 1]; boosting may overshoot a little.
        return np.clip(self.global_.predict(_joined(z, x)), 0.0, 1.0)

    def _blend(self, query: TaskQuery, rows: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Blend the global surrogate's prediction into every task's row of scores."""
        if self.global_ is None:
            return rows
        g = self.global_predict(query, x)
        return (1.0 - self.global_weight) * rows + self.global_weight * g[None, :]

    def predict(
        self, query: TaskQuery, x: np.ndarray, observed: Observed | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the ensemble's mean and spread of normalized scores at encoded configs ``x``.

        Each member is a similar past task's surrogate blended with the global
        surrogate, weighted as in :meth:`weights` (``observed`` as there); the
        spread is the weighted standard deviation of the members'
        predictions: where similar past tasks disagree, a configuration is
        uncertain.
        """
        w = self.weights(query, observed)
        used = np.flatnonzero(w)
        return weighted_moments(w[used], self.member_predictions(query, x, used))

    def candidate_pool(self) -> list[Params]:
        """Return the configurations recommended from without candidates.

        The best few of every training task, and random ones: where a search
        guided by this model should also look (the pool is fixed at fit).
        """
        return list(self.pool_)

    def member_predictions(
        self, query: TaskQuery, x: np.ndarray, members: Sequence[int] | np.ndarray | None = None
    ) -> np.ndarray:
        """Return ``(members, configs)``: each member's normalized scores at encoded ``x``.

        A member is a training task's surrogate blended with the global
        surrogate (all training tasks by default, else those indexed by ``members``).
        """
        tasks = self.tasks_ if members is None else [self.tasks_[i] for i in members]
        preds = np.vstack([task.predict(x, self.seed) for task in tasks])
        return self._blend(query, preds, x)

    def recommend(
        self, query: TaskQuery, k: int, observed: Observed | None = None
    ) -> list[Recommendation]:
        """Return ``k`` configurations maximizing the weighted expected best-of-k.

        Without observations the weights are the meta-feature similarities.
        With them (``observed`` as in :meth:`weights`, else the query's own)
        the portfolio is continued: the weights are the ranking kernel's, the
        observed configurations count as picked already, and only other
        configurations are returned. Asked for one at a time as a search
        goes, this is an adaptive portfolio: each pick covers what the
        configurations tried so far leave uncovered on the past tasks that
        order them best.
        """
        check_k(k)
        if observed is None and query.observations:
            observed = self._observations(query)
        # Every member's predictions at the observed configurations serve both the
        # ranking weights and where the portfolio starts from: computed once.
        at_observed = None
        if observed is not None and len(observed[1]):
            at_observed = self.member_predictions(query, observed[0])
        w = self._weights(query, observed, at_observed)
        used = np.flatnonzero(w)
        found = candidates_of(self.space_, query)
        if found is None:
            configs, x = self.pool_, self.pool_x_
            preds = self.pool_scores_[used]
        else:
            configs, x = found
            preds = score_matrix([self.tasks_[i] for i in used], configs, x, self.seed)
        preds = self._blend(query, preds, x)
        mean, _ = weighted_moments(w[used], preds)
        # Best-of-k, not the k best means: a greedy portfolio under the task weights
        # spreads the picks over what the similar tasks disagree on.
        start, tried = None, []
        if observed is not None and at_observed is not None:
            start = at_observed[used].max(axis=1)
            seen = {row.tobytes() for row in np.asarray(observed[0], dtype=float)}
            tried = [i for i, row in enumerate(np.asarray(x, dtype=float)) if row.tobytes() in seen]
        chosen = greedy_portfolio(preds, k, w[used], start=start, exclude=tried)
        contrib = w[used][:, None] * preds

        def describe(i: int) -> tuple[float, tuple[str, ...]]:
            top = used[np.argsort(-contrib[:, i], kind="stable")[:3]]
            return float(mean[i]), tuple(self.task_ids_[t] for t in top)

        return top_distinct(configs, chosen, k, describe)

    def recommend_given(
        self, query: TaskQuery, k: int, observed: Observed | None
    ) -> list[Recommendation]:
        """Return the next ``k`` picks of the adaptive portfolio (see :meth:`recommend`)."""
        return self.recommend(query, k, observed)

    def gain_evidence(
        self, query: TaskQuery, configs: Sequence[Params], *, general: bool = False
    ) -> GainEvidence:
        """Return the weighted members' predictions of ``configs``: the rows of :meth:`predict`.

        Each similar task's surrogate blended with the global surrogate,
        weighted as in :meth:`weights` (the query's observations included).
        ``general``: every training task's own surrogate, equally weighted,
        without the global surrogate, which extrapolates as much as the
        similarity does.
        """
        if general:
            return surrogate_evidence(
                self.tasks_, self.space_, configs, self.seed, basis="training tasks"
            )
        w = self.weights(query)
        used = np.flatnonzero(w)
        x = self.space_.encode_many([self.space_.validate(c) for c in configs], validated=True)
        preds = self.member_predictions(query, x, used)
        sources = tuple(self.task_ids_[i] for i in used)
        return GainEvidence(w[used] / w[used].sum(), preds, sources, "similar tasks")

    def general_configs(self, n: int) -> list[Params]:
        """Return the pool's ``n`` configurations of highest mean score over the training tasks."""
        return best_on_average(self.pool_, self.pool_scores_, n)


def _joined(z: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Return rows of [meta-features, encoded configuration], the global surrogate's input."""
    return np.hstack([np.broadcast_to(z, (len(x), len(z))), x])


def weighted_moments(w: np.ndarray, preds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the ``w``-weighted mean and standard deviation of the rows of ``preds``."""
    w = w / w.sum()
    mean = w @ preds
    var = w @ (preds - mean) ** 2
    return mean, np.sqrt(np.maximum(var, 0.0))
