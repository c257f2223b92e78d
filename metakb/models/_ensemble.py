"""An ensemble warm starter: the other warm starters' best-of-k lists fused level by level."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Self, TypeVar

import numpy as np

from metakb.configs import canonical_json
from metakb.models._base import (
    DefaultAwareWarmStarter,
    GainEvidence,
    Observed,
    PredictiveWarmStarter,
    Recommendation,
    TaskQuery,
    WarmStarter,
    check_k,
)
from metakb.models._cf import CFWarmStarter
from metakb.models._knn import KnnWarmStarter
from metakb.models._metadataset import MetaDataset
from metakb.models._portfolio import PortfolioWarmStarter
from metakb.models._transfer import TransferWarmStarter
from metakb.spaces import Params

BASE_WARM_STARTERS: Mapping[str, Callable[..., WarmStarter]] = {
    "portfolio": PortfolioWarmStarter,
    "knn": KnnWarmStarter,
    "transfer": TransferWarmStarter,
    "cf": CFWarmStarter,
}
"""The warm starters an ensemble can combine, by name."""

DEFAULT_MEMBERS: tuple[str, ...] = ("transfer", "cf", "knn", "portfolio")
"""The registry ensemble's members, in order of trust."""

Key = TypeVar("Key", bound=Hashable)


def fuse_by_level(lists: Sequence[Sequence[Key]], k: int) -> list[Key]:
    """Fuse best-of-k lists into one, choosing the ``j``-th pick among the members' ``j``-th picks.

    At step ``j`` the candidates are the members' ``j``-th picks not taken
    yet (when every one is taken: the untaken picks of the members' top
    ``j``, shallowest level first). The candidate in the most members' top
    ``j`` wins; ties go to the earlier list. One pick per step.

    Parameters
    ----------
    lists : sequence of sequences
        Each member's picks, best first, members in order of trust.
    k : int
        How many picks to return.

    Returns
    -------
    list
        Up to ``k`` distinct picks (fewer only if the lists hold fewer). Step
        ``j`` reads only the lists' first ``j`` entries, so the result for
        ``k`` is the first ``k`` of the result for any larger ``k``.
    """
    check_k(k)
    taken: list[Key] = []
    j = 0
    while len(taken) < k:
        j += 1
        tops = [picks[:j] for picks in lists]
        pool = [picks[j - 1] for picks in lists if len(picks) >= j]
        pool = [key for key in dict.fromkeys(pool) if key not in taken]
        if not pool:
            levels = (top[r] for r in range(j) for top in tops if r < len(top))
            pool = [key for key in dict.fromkeys(levels) if key not in taken]
        if not pool:  # every pick of every list is taken
            break
        # max keeps the first of equal supports: the most trusted member's pick.
        taken.append(max(pool, key=lambda key: sum(key in top for top in tops)))
    return taken


class EnsembleWarmStarter(DefaultAwareWarmStarter):
    """Several warm starters' recommendations fused one level at a time.

    Every member's list is a best-of-k portfolio (``transfer``,
    ``portfolio``, ``knn`` and ``cf`` all pick greedily for the best of their
    first ``k``): its first pick is its best single guess, its second a hedge
    chosen to cover the tasks where the first fails, and so on. So a
    configuration several members list at middle ranks is a common hedge,
    not a likely winner, and rank fusion that rewards such agreement (the
    earlier reciprocal-rank fusion) put hedges first: on the SVC table it was
    worse than random at k = 1 and 3, although every member beats random
    there. Here the ensemble's ``j``-th pick is chosen among the members'
    ``j``-th picks (see :func:`fuse_by_level`), by how many members rank it
    in their top ``j``: the first pick is always some member's first pick,
    the ones most members agree on first, and later picks are hedges of the
    same depth as the members'. Agreement is only counted down to the
    current level, so a deep hedge never outvotes a first pick, and since
    the members' greedy lists are prefixes of their longer lists, so are
    the ensemble's: ``recommend(q, 3)`` is the first three of
    ``recommend(q, 10)``.

    The predicted score is the first (in member order) that a member
    recommending the configuration gave, so ``transfer``'s where it proposed
    it; the source tasks are the members' merged, in member order.
    This class only recommends; :class:`PredictiveEnsembleWarmStarter` also
    predicts, and :func:`make_ensemble` (the registry's ``ensemble``) picks
    the one the members allow.

    Parameters
    ----------
    members : sequence of str
        Names from :data:`BASE_WARM_STARTERS`, in order of trust (ties go to the earlier).
    seed : int
        Seed passed to every member.
    """

    def __init__(
        self,
        members: Sequence[str] = DEFAULT_MEMBERS,
        seed: int = 0,
    ) -> None:
        self.members = members
        self.seed = seed

    def fit(self, data: MetaDataset) -> Self:
        """Fit every member on ``data``."""
        unknown = [m for m in self.members if m not in BASE_WARM_STARTERS]
        if not self.members or unknown:
            raise ValueError(
                f"members must be names from {sorted(BASE_WARM_STARTERS)}, not {unknown or '()'}"
            )
        self.space_ = data.space
        self.members_: dict[str, WarmStarter] = {
            name: BASE_WARM_STARTERS[name](seed=self.seed).fit(data)
            for name in dict.fromkeys(self.members)
        }
        return self

    def recommend(self, query: TaskQuery, k: int) -> list[Recommendation]:
        """Return up to ``k`` configurations, fused level by level (best first)."""
        check_k(k)
        lists: list[list[str]] = []
        first: dict[str, Recommendation] = {}
        sources: dict[str, list[str]] = {}
        predicted: dict[str, float | None] = {}
        for recs in (m.recommend(query, k) for m in self.members_.values()):
            keys = [canonical_json(rec.config) for rec in recs]
            lists.append(keys)
            for key, rec in zip(keys, recs, strict=True):
                first.setdefault(key, rec)
                sources.setdefault(key, []).extend(rec.source_tasks)
                if predicted.get(key) is None:
                    predicted[key] = rec.predicted_score
        return [
            Recommendation(
                dict(first[key].config), predicted[key], tuple(dict.fromkeys(sources[key]))
            )
            for key in fuse_by_level(lists, k)
        ]

    def _weighers(self) -> list[DefaultAwareWarmStarter]:
        models = [m for m in self.members_.values() if isinstance(m, DefaultAwareWarmStarter)]
        if not models:
            raise ValueError(f"no member of {list(self.members_)} weighs gains over a default")
        return models

    def gain_evidence(
        self, query: TaskQuery, configs: Sequence[Params], *, general: bool = False
    ) -> GainEvidence:
        """Return the members' evidence pooled, each member's weights summing to an equal share.

        Where the members disagree about a configuration, its gain is
        uncertain. ``general``: every training task, equally weighted (the
        same rows for every member, so the first member's).
        """
        models = self._weighers()
        if general:
            return models[0].gain_evidence(query, configs, general=True)
        parts = [m.gain_evidence(query, configs) for m in models]
        return GainEvidence(
            np.concatenate([p.weights / len(parts) for p in parts]),
            np.vstack([p.scores for p in parts]),
            tuple(s for p in parts for s in p.sources),
            f"tasks, pooled over {len(parts)} meta-models",
        )

    def general_configs(self, n: int) -> list[Params]:
        """Return the members' general configurations, one from each member in turn."""
        lists = [m.general_configs(n) for m in self._weighers()]
        out: dict[str, Params] = {}
        for level in range(n):
            for configs in lists:
                if level < len(configs):
                    out.setdefault(canonical_json(configs[level]), configs[level])
        return list(out.values())[:n]


class PredictiveEnsembleWarmStarter(EnsembleWarmStarter, PredictiveWarmStarter):
    """An ensemble with a predictive member, whose predictions it gives for Bayesian optimization.

    Recommends as :class:`EnsembleWarmStarter`; :meth:`predict` and
    :meth:`candidate_pool` are those of the first member (in member order)
    that is a :class:`PredictiveWarmStarter` (``transfer`` by default).

    Parameters
    ----------
    members : sequence of str
        As in :class:`EnsembleWarmStarter`; at least one must be predictive.
    seed : int
        Seed passed to every member.
    """

    def fit(self, data: MetaDataset) -> Self:
        """Fit every member on ``data``.

        Raises
        ------
        ValueError
            No member predicts (``members`` lacks ``transfer``).
        """
        super().fit(data)
        self._predictor()
        return self

    def _predictor(self) -> PredictiveWarmStarter:
        for model in self.members_.values():
            if isinstance(model, PredictiveWarmStarter):
                return model
        raise ValueError(f"no member of {list(self.members_)} predicts scores")

    def candidate_pool(self) -> list[Params]:
        """Return the predicting member's pool (``transfer``'s)."""
        return list(self._predictor().candidate_pool())

    def predict(
        self, query: TaskQuery, x: np.ndarray, observed: Observed | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the predicting member's mean and spread at encoded configs ``x``.

        ``observed`` is passed on (see `TransferWarmStarter.weights`).
        """
        mean, std = self._predictor().predict(query, x, observed)
        return np.asarray(mean, dtype=float), np.asarray(std, dtype=float)


def make_ensemble(members: Sequence[str] = DEFAULT_MEMBERS, seed: int = 0) -> EnsembleWarmStarter:
    """Return the ensemble of ``members``: predictive exactly when one of them is.

    The registry's ``ensemble``: with the default members (``transfer``
    first) a :class:`PredictiveEnsembleWarmStarter`, so that a search uses
    it as Bayesian optimization's prior; otherwise an
    :class:`EnsembleWarmStarter`, which only recommends. Unknown names are
    refused by ``fit``, as the classes do.
    """
    # Unfitted members are cheap (their __init__ only stores parameters), and
    # what they declare is what they will offer once fitted.
    predictive = any(
        isinstance(BASE_WARM_STARTERS[name](seed=seed), PredictiveWarmStarter)
        for name in members
        if name in BASE_WARM_STARTERS
    )
    cls = PredictiveEnsembleWarmStarter if predictive else EnsembleWarmStarter
    return cls(members=members, seed=seed)
