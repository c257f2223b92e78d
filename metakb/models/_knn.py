"""kNN task similarity: the best configurations of the most similar past tasks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np
from scipy.spatial.distance import cdist

from metakb.configs import canonical_json
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
    score_matrix,
    select_features,
    surrogate_evidence,
    top_distinct,
)
from metakb.models._metadataset import MetaDataset, TaskData
from metakb.spaces import Params


class KnnWarmStarter(DefaultAwareWarmStarter):
    """Recommend the best configurations of the nearest tasks in meta-feature space.

    Meta-features are signed-log transformed, median-imputed and standardized;
    the recommendations are the neighbours' best configurations, chosen as a
    greedy portfolio over the neighbours (see :meth:`recommend`), duplicates removed.

    Parameters
    ----------
    n_neighbors : int
        How many similar tasks to draw from.
    metric : str
        A :func:`scipy.spatial.distance.cdist` metric (``"euclidean"``, ``"cityblock"``, ...).
    features : sequence of str, optional
        The meta-features to use (default: all of the training data's; names
        the data lacks are ignored).
    per_task : int
        How many of each task's best configurations are kept for serving without candidates.
    seed : int
        Seed of the neighbours' surrogates (used to score candidates they did not evaluate).

    References
    ----------
    Feurer, Springenberg & Hutter, "Initializing Bayesian Hyperparameter
    Optimization via Meta-Learning", AAAI 2015.
    """

    def __init__(
        self,
        n_neighbors: int = 10,
        metric: str = "euclidean",
        features: Sequence[str] | None = None,
        per_task: int = 10,
        seed: int = 0,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.per_task = per_task
        self.metric = metric
        self.features = features
        self.seed = seed

    def fit(self, data: MetaDataset) -> Self:
        """Store the training tasks' standardized meta-features and best configurations."""
        if self.n_neighbors < 1 or self.per_task < 1:
            raise ValueError("n_neighbors and per_task must be positive")
        names = select_features(self.features, data.meta_feature_names)
        cols = [data.meta_feature_names.index(n) for n in names]
        self.scaler_ = MetaFeatureScaler(names).fit(data.meta_features[:, cols])
        self.z_ = self.scaler_.transform(data.meta_features[:, cols])
        self.space_ = data.space
        self.task_ids_ = data.task_ids
        # Every task's best configurations, scored once by every task, so that
        # serving without candidates needs no surrogate.
        self.pool_ = best_config_pool(data, self.per_task)
        self.pool_scores_ = score_matrix(data.tasks, self.pool_.configs, self.pool_.X, self.seed)
        self.tasks_: tuple[TaskData, ...] = data.tasks
        return self

    def neighbors(self, query: TaskQuery) -> tuple[np.ndarray, np.ndarray]:
        """Return the training-task indices sorted by distance to the query, and the distances."""
        z = self.scaler_.query(query.meta_features)
        d = cdist(z[None, :], self.z_, metric=self.metric)[0]
        order = np.argsort(d, kind="stable")
        return order, d[order]

    def recommend(self, query: TaskQuery, k: int) -> list[Recommendation]:
        """Return up to ``k`` configurations: a greedy portfolio over the nearest tasks.

        Without candidates the pool is the neighbours' best configurations;
        with candidates, the candidates. Each neighbour scores the pool
        (observed values where it evaluated a configuration, its surrogate
        elsewhere) and configurations are added greedily to maximize the mean
        over neighbours of the best pick: the round robin over neighbours' best
        configurations, made aware of configurations that serve several neighbours.
        """
        check_k(k)
        order, _ = self.neighbors(query)
        picked = [int(t) for t in order[: self.n_neighbors]]
        found = candidates_of(self.space_, query)
        if found is None:
            # The neighbours' own best configurations, even those the pool credits to
            # an earlier task: where every task evaluated the same ones (TabRepo), the
            # first tasks are credited with nearly all of them.
            best = {
                canonical_json(self.tasks_[t].configs[i])
                for t in picked
                for i in self.tasks_[t].best(self.per_task)
            }
            cols = [j for j, c in enumerate(self.pool_.configs) if canonical_json(c) in best]
            configs = [self.pool_.configs[j] for j in cols]
            scores = self.pool_scores_[np.ix_(picked, cols)]
        else:
            configs, x = found
            scores = score_matrix([self.tasks_[t] for t in picked], configs, x, self.seed)
        chosen = greedy_portfolio(scores, k)

        def describe(i: int) -> tuple[None, tuple[str, ...]]:
            return None, (self.task_ids_[picked[int(np.argmax(scores[:, i]))]],)

        return top_distinct(configs, chosen, k, describe)

    def gain_evidence(
        self, query: TaskQuery, configs: Sequence[Params], *, general: bool = False
    ) -> GainEvidence:
        """Return the ``n_neighbors`` nearest tasks' scores of ``configs``, equally weighted.

        As in :meth:`recommend`, every neighbour counts alike; ``general``:
        every training task instead.
        """
        if general:
            tasks = self.tasks_
        else:
            order, _ = self.neighbors(query)
            tasks = tuple(self.tasks_[int(t)] for t in order[: self.n_neighbors])
        basis = "training tasks" if general else "similar tasks"
        return surrogate_evidence(tasks, self.space_, configs, self.seed, basis=basis)

    def general_configs(self, n: int) -> list[Params]:
        """Return the pool's ``n`` configurations of highest mean score over the training tasks."""
        return best_on_average(self.pool_.configs, self.pool_scores_, n)
