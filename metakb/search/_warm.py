"""Warm-starting an optimizer from a warm starter's recommendations."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from metakb.search._base import BaseOptimizer, config_key
from metakb.search._types import Optimizer, Starter

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
