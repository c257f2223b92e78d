"""An ensemble warm starter: the other warm starters' recommendations fused by rank."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Self

import numpy as np

from metakb.configs import canonical_json
from metakb.models._base import Recommendation, TaskQuery, WarmStarter, check_k
from metakb.models._cf import CFWarmStarter
from metakb.models._knn import KnnWarmStarter
from metakb.models._metadataset import MetaDataset
from metakb.models._portfolio import PortfolioWarmStarter
from metakb.models._transfer import Observed, TransferWarmStarter

BASE_WARM_STARTERS: Mapping[str, Callable[..., WarmStarter]] = {
    "portfolio": PortfolioWarmStarter,
    "knn": KnnWarmStarter,
    "transfer": TransferWarmStarter,
    "cf": CFWarmStarter,
}
"""The warm starters an ensemble can combine, by name."""


class EnsembleWarmStarter:
    """Reciprocal-rank fusion of several warm starters' recommendations.

    Every member recommends ``depth`` times ``k`` configurations; a
    configuration scores ``sum over members of 1 / (constant + rank)`` (rank
    1 = a member's first pick) and the ``k`` best scores are returned,
    duplicates merged. A configuration several members agree on rises; one
    member's strong first pick still outranks the others' late picks. The
    predicted score is the first (in member order) that a member recommending
    the configuration gave, so ``transfer``'s where it proposed it; the source
    tasks are the members' merged, in member order. :meth:`predict` is the
    first predicting member's (``transfer``'s), for Bayesian optimization.

    Parameters
    ----------
    members : sequence of str
        Names from :data:`BASE_WARM_STARTERS`, in order of trust (ties go to the earlier).
    constant : float
        The fusion's rank offset: small values favour each member's first
        picks, large ones agreement between members.
    depth : int
        How many times ``k`` recommendations each member contributes.
    seed : int
        Seed passed to every member.

    References
    ----------
    Cormack, Clarke & Buettcher, "Reciprocal Rank Fusion outperforms Condorcet
    and individual Rank Learning Methods", SIGIR 2009.
    """

    def __init__(
        self,
        members: Sequence[str] = ("transfer", "cf", "knn", "portfolio"),
        constant: float = 10.0,
        depth: int = 2,
        seed: int = 0,
    ) -> None:
        self.members = members
        self.constant = constant
        self.depth = depth
        self.seed = seed

    def fit(self, data: MetaDataset) -> Self:
        """Fit every member on ``data``."""
        unknown = [m for m in self.members if m not in BASE_WARM_STARTERS]
        if not self.members or unknown:
            raise ValueError(
                f"members must be names from {sorted(BASE_WARM_STARTERS)}, not {unknown or '()'}"
            )
        if self.constant < 0 or self.depth < 1:
            raise ValueError("constant must be non-negative and depth positive")
        self.space_ = data.space
        self.members_: dict[str, WarmStarter] = {
            name: BASE_WARM_STARTERS[name](seed=self.seed).fit(data)
            for name in dict.fromkeys(self.members)
        }
        return self

    def recommend(self, query: TaskQuery, k: int) -> list[Recommendation]:
        """Return up to ``k`` configurations, best fused rank first."""
        check_k(k)
        score: dict[str, float] = {}
        first: dict[str, Recommendation] = {}
        sources: dict[str, list[str]] = {}
        predicted: dict[str, float | None] = {}
        for recs in (m.recommend(query, k * self.depth) for m in self.members_.values()):
            for rank, rec in enumerate(recs, start=1):
                key = canonical_json(rec.config)
                score[key] = score.get(key, 0.0) + 1.0 / (self.constant + rank)
                first.setdefault(key, rec)
                sources.setdefault(key, []).extend(rec.source_tasks)
                if predicted.get(key) is None:
                    predicted[key] = rec.predicted_score
        # sorted is stable: equal scores keep the order members first proposed them in.
        top = sorted(score, key=lambda key: -score[key])[:k]
        return [
            Recommendation(
                dict(first[key].config), predicted[key], tuple(dict.fromkeys(sources[key]))
            )
            for key in top
        ]

    def predict(
        self, query: TaskQuery, x: np.ndarray, observed: Observed | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the first predicting member's mean and spread at encoded configs ``x``.

        ``observed`` is passed on (see `TransferWarmStarter.weights`).

        Raises
        ------
        ValueError
            No member predicts (the ensemble lacks ``transfer``).
        """
        for model in self.members_.values():
            predict = getattr(model, "predict", None)
            if predict is not None:
                mean, std = predict(query, x, observed)
                return np.asarray(mean, dtype=float), np.asarray(std, dtype=float)
        raise ValueError(f"no member of {list(self.members_)} predicts scores")
