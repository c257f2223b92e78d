"""Greedy top-k portfolio over the training tasks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Self

import numpy as np

from metakb.models._base import (
    DefaultAwareWarmStarter,
    GainEvidence,
    Recommendation,
    TaskQuery,
    best_config_pool,
    best_on_average,
    candidates_of,
    check_k,
    greedy_portfolio,
    score_matrix,
    surrogate_evidence,
    top_distinct,
)
from metakb.models._metadataset import MetaDataset, TaskData
from metakb.spaces import Params


class PortfolioWarmStarter(DefaultAwareWarmStarter):
    """A fixed list of configurations that is good on average over the training tasks.

    Members are picked greedily so that the mean normalized regret of the
    portfolio's best member over the training tasks is minimal. When every
    task evaluated the same configurations (TabRepo) the observed values are
    used; otherwise (OpenML100 random search) each candidate is scored on each
    training task by that task's surrogate.

    Parameters
    ----------
    size : int
        The portfolio's length (recommendations beyond it need candidates).
    per_task : int
        Candidates contributed by every training task (its best configurations).
    seed : int
        Seed of the surrogates.

    References
    ----------
    Feurer et al., "Auto-Sklearn 2.0: Hands-free AutoML via Meta-Learning", JMLR 2022.
    """

    def __init__(self, size: int = 32, per_task: int = 5, seed: int = 0) -> None:
        self.size = size
        self.per_task = per_task
        self.seed = seed

    def fit(self, data: MetaDataset) -> Self:
        """Pick the portfolio greedily over ``data``'s tasks."""
        if self.size < 1 or self.per_task < 1:
            raise ValueError("size and per_task must be positive")
        shared = data.shared_configs()
        if shared is not None:
            ids, scores = shared
            configs = [data.config_by_id(c) for c in ids]
        else:
            pool = best_config_pool(data, self.per_task)
            configs = list(pool.configs)
            scores = score_matrix(data.tasks, configs, pool.X, self.seed)
        chosen = greedy_portfolio(scores, self.size)
        self.space_ = data.space
        self.portfolio_: list[Params] = [configs[j] for j in chosen]
        self.scores_ = scores[:, chosen].mean(axis=0)
        self.sources_ = [_best_tasks(data.task_ids, scores[:, j]) for j in chosen]
        self.tasks_: tuple[TaskData, ...] = data.tasks
        self.task_ids_ = data.task_ids
        return self

    def recommend(self, query: TaskQuery, k: int) -> list[Recommendation]:
        """Return the portfolio's first ``k`` members, or a greedy portfolio of the candidates."""
        check_k(k)
        found = candidates_of(self.space_, query)
        if found is None:
            return top_distinct(
                self.portfolio_,
                range(len(self.portfolio_)),
                k,
                lambda i: (float(self.scores_[i]), self.sources_[i]),
            )
        configs, x = found
        scores = score_matrix(self.tasks_, configs, x, self.seed)
        chosen = greedy_portfolio(scores, k)
        return top_distinct(
            configs,
            chosen,
            k,
            lambda i: (float(scores[:, i].mean()), _best_tasks(self.task_ids_, scores[:, i])),
        )

    def gain_evidence(
        self, query: TaskQuery, configs: Sequence[Params], *, general: bool = False
    ) -> GainEvidence:
        """Return every training task's scores of ``configs``, equally weighted.

        A portfolio serves every task alike, so its evidence is always the
        general one: a gain must hold across the training tasks.
        """
        return surrogate_evidence(
            self.tasks_, self.space_, configs, self.seed, basis="training tasks"
        )

    def general_configs(self, n: int) -> list[Params]:
        """Return the ``n`` members of highest mean score over the training tasks."""
        return best_on_average(self.portfolio_, self.scores_[None, :], n)


def _best_tasks(task_ids: tuple[str, ...], column: np.ndarray, n: int = 3) -> tuple[str, ...]:
    return tuple(task_ids[i] for i in np.argsort(-column, kind="stable")[:n])
