"""Warm-starting an optimizer from a warm starter's recommendations."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metakb.search._base import (
    AdaptiveStarter,
    BaseOptimizer,
    PriorGuidedOptimizer,
    PriorSurrogate,
    config_key,
)
from metakb.search._types import Optimizer, Starter, Trial, is_failure

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WarmStartReport:
    """What `warm_start` did with the recommendations it received.

    Attributes
    ----------
    recommended : int
        Recommendations the starter returned.
    enqueued : int
        Distinct configurations put in the optimizer's queue.
    duplicates : int
        Recommendations repeating an earlier one (after snapping, if asked).
    out_of_space : int
        Recommendations the optimizer cannot ask (not in its space / candidates).
    """

    recommended: int
    enqueued: int
    duplicates: int
    out_of_space: int


def warm_start(
    optimizer: Optimizer,
    starter: Starter | None,
    query: Any,
    k: int,
    *,
    snap_to_candidates: bool = False,
) -> WarmStartReport:
    """Enqueue ``starter``'s top-``k`` recommendations for ``query`` into ``optimizer``.

    The optimizer evaluates them before any configuration of its own, as
    Optuna's ``enqueue_trial`` does; multi-fidelity optimizers start them in
    the lowest rung of the first bracket, like any new configuration, and
    promote the good ones. A cold start is the same call with
    ``starter=None`` (nothing is enqueued).

    Parameters
    ----------
    optimizer : Optimizer
        Any optimizer of `OPTIMIZERS`.
    starter : Starter or None
        Anything with ``recommend(query, k)`` returning items with a ``config`` mapping.
    query : Any
        The new task's description (``metakb.models.TaskQuery``), passed through.
    k : int
        How many recommendations to ask for.
    snap_to_candidates : bool
        For an optimizer over a finite candidate list (a `BaseOptimizer`
        with ``candidates``): replace each in-space recommendation by the
        nearest candidate (L1 in the encoding) instead of dropping it.

    Returns
    -------
    WarmStartReport
        Counts of enqueued, duplicate and out-of-space recommendations.
    """
    if k < 0:
        raise ValueError("k must be >= 0")
    if starter is None or k == 0:
        return WarmStartReport(0, 0, 0, 0)
    recommendations = list(starter.recommend(query, k))
    seen: set[str] = set()
    enqueued = duplicates = out_of_space = 0
    for recommendation in recommendations:
        config = dict(recommendation.config)
        if snap_to_candidates and isinstance(optimizer, BaseOptimizer):
            config = optimizer.nearest_candidate(config) or config
        key = config_key(config)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        if not optimizer.contains(config):
            out_of_space += 1
            logger.debug("dropping recommendation outside the space: %s", config)
            continue
        optimizer.enqueue(config)
        enqueued += 1
    report = WarmStartReport(len(recommendations), enqueued, duplicates, out_of_space)
    logger.info("warm start: %s", report)
    return report


class AdaptiveWarmStart:
    """An optimizer whose first ``k`` new configurations a starter picks one at a time.

    Before each of its first ``k`` asks, the starter is asked for the next
    configuration given the trials told so far (``recommend_given(query, n,
    observed=(x, y))`` with encoded configurations and higher-is-better
    scores; ``transfer`` continues its portfolio under weights that follow
    how well each past task orders those trials). The pick is enqueued into
    the wrapped optimizer, which otherwise behaves as usual. Deterministic
    given the tells, so a resumed search replays it.

    It is an `Optimizer` (ask, tell, enqueue, contains) and, like the
    optimizers, counts its pending trials and shows the wrapped optimizer's
    prior (a `PriorGuidedOptimizer`); the wrapped optimizer itself is
    ``optimizer``.

    Parameters
    ----------
    optimizer : Optimizer
        The optimizer to warm-start (any of `OPTIMIZERS`).
    starter : AdaptiveStarter
        Picks given observations (``metakb.models.AdaptiveWarmStarter``).
    query : Any
        The new task (``metakb.models.TaskQuery``), passed through.
    k : int
        How many of the first asks the starter picks for.
    encode : callable
        ``configs -> (n, d)`` rows in the starter's encoding.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        starter: AdaptiveStarter,
        query: Any,
        k: int,
        encode: Callable[[Sequence[Mapping[str, Any]]], np.ndarray],
    ) -> None:
        if k < 0:
            raise ValueError("k must be >= 0")
        self.optimizer = optimizer
        self.starter = starter
        self.query = query
        self.k = k
        self.encode = encode
        self._asked: set[str] = set()
        self._pending: set[int] = set()
        self._told: list[tuple[Mapping[str, Any], float]] = []
        self._counts = {"recommended": 0, "enqueued": 0, "duplicates": 0, "out_of_space": 0}

    @property
    def report(self) -> WarmStartReport:
        """What the starter's picks became so far (as `warm_start` reports)."""
        return WarmStartReport(**self._counts)

    @property
    def prior(self) -> PriorSurrogate | None:
        """The wrapped optimizer's prior surrogate (None when it takes none or was given none)."""
        return self.optimizer.prior if isinstance(self.optimizer, PriorGuidedOptimizer) else None

    @property
    def n_pending(self) -> int:
        """Number of asked trials whose value has not been told yet."""
        return len(self._pending)

    def ask(self) -> Trial:
        """Enqueue the starter's next pick while it has picks left, then ask the optimizer."""
        if self._counts["recommended"] < self.k:
            self._enqueue_next()
        trial = self.optimizer.ask()
        self._asked.add(config_key(trial.config))
        self._pending.add(trial.id)
        return trial

    def _enqueue_next(self) -> None:
        observed = None
        if self._told:
            configs, values = zip(*self._told, strict=True)
            observed = (self.encode(configs), np.array(values))
        # Ask for enough to skip what was asked but not told (pending or failed).
        n = 1 + len(self._asked) - len(self._told)
        picks = self.starter.recommend_given(self.query, n, observed)
        self._counts["recommended"] += 1
        fresh = [dict(p.config) for p in picks if config_key(p.config) not in self._asked]
        if not fresh:
            self._counts["duplicates"] += 1
        elif not self.optimizer.contains(fresh[0]):
            self._counts["out_of_space"] += 1
        else:
            self.optimizer.enqueue(fresh[0])
            self._counts["enqueued"] += 1

    def tell(self, trial: Trial, value: float | None) -> None:
        """Tell the optimizer; a full-fidelity success also informs the starter's next picks."""
        self.optimizer.tell(trial, value)
        self._pending.discard(trial.id)
        if not is_failure(value) and trial.fidelity >= 1.0:
            self._told.append((trial.config, float(value)))  # type: ignore[arg-type]

    def enqueue(self, config: Mapping[str, Any]) -> None:
        """Enqueue into the wrapped optimizer."""
        self.optimizer.enqueue(config)

    def contains(self, config: Mapping[str, Any]) -> bool:
        """Return whether the wrapped optimizer may ask ``config``."""
        return self.optimizer.contains(config)
