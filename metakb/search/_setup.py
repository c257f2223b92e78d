"""How a search is set up: its optimizer, warm start, fidelity and executor.

Everything here is pure (no knowledge base): given an algorithm's record, an
optimizer name, a budget and, optionally, a warm starter with its query, it
returns the optimizer a search runs. ``metakb search``, the quickstart and
the benchmarks all set searches up through these functions, so a change to
how a search starts is made here once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from metakb.errors import MetakbError
from metakb.search._base import AdaptiveStarter, PriorGuidedOptimizer, QuerySurrogate
from metakb.search._bo import QueryPrior
from metakb.search._hyperband import successive_halving_rungs
from metakb.search._registry import MULTI_FIDELITY, OPTIMIZERS
from metakb.search._types import Starter
from metakb.search._warm import AdaptiveWarmStart, WarmStartReport, warm_start
from metakb.spaces import Algorithm, FidelityKind, SearchSpace

PRIOR_WARM = 5
"""Recommendations evaluated first when the starter is also BO's prior, which leads after."""


def min_fidelity(budget: int, eta: int = 3) -> float:
    """Return the lowest fidelity (1/27, 1/9 or 1/3) whose first bracket fits half the budget.

    Successive halving's bracket from fidelity ``eta**-s`` runs ``eta**s``
    configurations and promotes a third each rung; with 1/27 that is 40
    trials before any full-fidelity result. Starting higher on a small budget
    makes the search end with full-fidelity trials, the only ones whose
    scores are comparable to a model the user would train.
    """
    for s in (3, 2):
        if sum(r.n_configs for r in successive_halving_rungs(eta**s, s, eta)) <= budget / 2:
            return float(eta**-s)
    return 1.0 / eta


def default_n_warm(budget: int, *, prior: bool) -> int:
    """Return how many recommendations a search of ``budget`` trials evaluates first.

    Without a prior, up to 10 (half the budget at most); with one,
    `PRIOR_WARM` (picked one at a time from the trials seen, where the
    starter can): the prior, reweighted by what the search observes, then
    picks better than the rest of a list fixed in advance (the tabular
    benchmark, docs/benchmarks/tabular_*.md).
    """
    return min(PRIOR_WARM if prior else 10, max(1, budget // 2))


def build_optimizer(
    space: SearchSpace,
    method: str,
    budget: int,
    *,
    starter: Starter | None = None,
    query: Any = None,
    seed: int = 0,
) -> Any:
    """Return the ``method`` optimizer over ``space`` (nothing enqueued yet).

    The optimizer encodes configurations as the meta-models do
    (:meth:`~metakb.spaces.SearchSpace.encode_many`), so a starter that
    predicts (a `QuerySurrogate`, as :class:`~metakb.models.PredictiveWarmStarter` is) is
    ``bo``/``bohb``'s prior surrogate for ``query``; multi-fidelity methods
    start at :func:`min_fidelity` of the budget.
    """
    options: dict[str, Any] = {"seed": seed, "encoder": space.encode_many}
    if isinstance(starter, QuerySurrogate) and method in ("bo", "bohb"):
        options["prior"] = QueryPrior(starter, query)
    if method in MULTI_FIDELITY:
        options["min_fidelity"] = min_fidelity(budget)
    return OPTIMIZERS[method](space.configspace, **options)


@dataclass(frozen=True)
class StartedOptimizer:
    """An optimizer with its warm start in place.

    Attributes
    ----------
    optimizer : Optimizer
        What the search asks: the optimizer itself, or an
        :class:`AdaptiveWarmStart` around it that picks the first trials.
    k : int
        How many recommendations start the search.
    """

    optimizer: Any
    k: int
    _report: WarmStartReport | None = None

    @property
    def report(self) -> WarmStartReport:
        """What the warm start enqueued (so far, for adaptive picks)."""
        return self.optimizer.report if self._report is None else self._report

    @property
    def n_warm_trials(self) -> int:
        """How many of the first asked trials are the warm start's (``run_search``'s ``n_warm``).

        The enqueued recommendations, asked before any configuration of the
        optimizer's own; for adaptive picks, the first ``k`` asks.
        """
        return self.k if self._report is None else self._report.enqueued


def start_optimizer(
    space: SearchSpace,
    method: str,
    budget: int,
    *,
    starter: Starter | None,
    query: Any,
    n_warm: int | None = None,
    seed: int = 0,
) -> StartedOptimizer:
    """Return the optimizer of a search with the starter's recommendations in front.

    A starter that is also the optimizer's prior and can pick given
    observations (an `AdaptiveStarter`) picks the
    first ``k`` trials one at a time from the scores seen; any other starter's
    top ``k`` are enqueued at once. ``k`` is ``n_warm`` or `default_n_warm`.
    """
    optimizer = build_optimizer(space, method, budget, starter=starter, query=query, seed=seed)
    prior = isinstance(optimizer, PriorGuidedOptimizer) and optimizer.prior is not None
    k = n_warm if n_warm is not None else default_n_warm(budget, prior=prior)
    if isinstance(starter, AdaptiveStarter) and prior:
        adaptive = AdaptiveWarmStart(optimizer, starter, query, k, space.encode_many)
        return StartedOptimizer(adaptive, k)
    return StartedOptimizer(optimizer, k, warm_start(optimizer, starter, query, k))


def fidelity_kind(algorithm: Algorithm, method: str) -> FidelityKind:
    """Return what a trial below full fidelity shrinks: the algorithm's kind, for multi-fidelity."""
    return algorithm.fidelity if method in MULTI_FIDELITY else "rows"


def executor_spec(dask: str | None) -> str:
    """Return the executor spec for ``--dask`` (``local:N``, ``tcp://HOST:PORT``; None: in-process).

    Raises
    ------
    MetakbError
        Anything else.
    """
    if dask is None:
        return "inprocess"
    text = dask.strip()
    if re.fullmatch(r"local:[1-9]\d*", text) or re.fullmatch(r"tcp://[^\s:]+:\d+", text):
        return f"dask:{text}"
    raise MetakbError(f"--dask takes local:N or tcp://HOST:PORT, not {dask!r}")
