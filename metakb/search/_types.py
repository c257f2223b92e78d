"""Records and protocols shared by the optimizers, objectives and the search loop."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np

from metakb.errors import MetakbError

Config = dict[str, Any]
Status = Literal["ok", "failed"]


class SearchError(MetakbError):
    """A search cannot go on as asked (for example a resume that does not fit the optimizer)."""


class NoTrialAvailable(SearchError):  # noqa: N818 - reads as a state, like StopIteration
    """Raised by ``ask`` when the optimizer has nothing to hand out right now.

    Either its finite candidate list is used up, or every trial it could run next
    waits for results of trials still pending. The search loop then waits for
    pending results and asks again, or stops when nothing is pending.
    """


@dataclass(frozen=True)
class Trial:
    """One configuration an optimizer asks to evaluate.

    Attributes
    ----------
    id : int
        Sequential per optimizer, in the order trials were asked.
    config : dict
        Hyperparameter values keyed by the space's names (inactive ones absent).
    fidelity : float
        Fraction of the full evaluation, in (0, 1]; 1.0 for single-fidelity methods.
    bracket : int or None
        For successive halving / Hyperband: the running number of the bracket.
    rung : int or None
        For successive halving / Hyperband: the rung inside the bracket (0 = lowest fidelity).
    """

    id: int
    config: Config
    fidelity: float = 1.0
    bracket: int | None = None
    rung: int | None = None


@dataclass(frozen=True)
class EvalResult:
    """What an objective returns for one (configuration, fidelity).

    Attributes
    ----------
    score : float or None
        Higher is better (errors are negated); None when the evaluation failed.
    seconds : float
        Wall-clock time of the evaluation.
    status : {'ok', 'failed'}
    error : str or None
        One line saying why it failed.
    folds : tuple of float
        The per-fold scores of a cross-validated evaluation (empty otherwise).
    """

    score: float | None
    seconds: float
    status: Status = "ok"
    error: str | None = None
    folds: tuple[float, ...] = ()

    @classmethod
    def failed(cls, error: str, seconds: float = 0.0) -> EvalResult:
        """Return a failed result with ``error`` as its message."""
        return cls(score=None, seconds=seconds, status="failed", error=error)


def is_failure(value: float | None) -> bool:
    """Return whether ``value`` reports a failed trial (None or NaN)."""
    return value is None or (isinstance(value, float | np.floating) and math.isnan(value))


@runtime_checkable
class Optimizer(Protocol):
    """The ask/tell contract every optimizer in ``OPTIMIZERS`` fulfils.

    ``ask`` returns the next trial (enqueued configurations first) or raises
    `NoTrialAvailable`; ``tell`` reports a trial's value (higher is better; None
    or NaN for a failed trial, which ranks below every success) exactly once per
    asked trial, in any order. ``contains`` says whether a configuration can be
    enqueued (in the space and, for a finite candidate list, one of them).
    """

    def ask(self) -> Trial:
        """Return the next trial to evaluate."""
        ...

    def tell(self, trial: Trial, value: float | None) -> None:
        """Report the value of a trial returned by ``ask``."""
        ...

    def enqueue(self, config: Mapping[str, Any]) -> None:
        """Evaluate ``config`` before any proposal of the optimizer's own."""
        ...

    def contains(self, config: Mapping[str, Any]) -> bool:
        """Return whether ``config`` may be asked by this optimizer."""
        ...


class _HasConfig(Protocol):
    @property
    def config(self) -> Mapping[str, Any]: ...


@runtime_checkable
class Starter(Protocol):
    """What `warm_start` needs from a warm starter: ``recommend(query, k)``.

    The returned items carry a ``config`` mapping (``metakb.models.Recommendation`` does).
    """

    def recommend(self, query: Any, k: int) -> Sequence[_HasConfig]:
        """Return up to ``k`` recommendations for ``query``, best first."""
        ...


@runtime_checkable
class Objective(Protocol):
    """Evaluates a configuration at a fidelity; must never raise for a bad configuration."""

    def __call__(self, config: Mapping[str, Any], fidelity: float) -> EvalResult:
        """Return the evaluation of ``config`` at ``fidelity``."""
        ...
