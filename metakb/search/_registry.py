"""The registry of optimizers: one name per ask/tell strategy."""

from __future__ import annotations

from metakb.search._bo import BayesianOptimization, RandomSearch
from metakb.search._hyperband import BOHB, Hyperband, SuccessiveHalving

OPTIMIZERS: dict[str, type] = {
    "random": RandomSearch,
    "bo": BayesianOptimization,
    "sh": SuccessiveHalving,
    "hyperband": Hyperband,
    "bohb": BOHB,
}
"""Optimizer classes by name; each takes ``(space, *, seed=..., candidates=..., encoder=...)``."""

MULTI_FIDELITY = frozenset({"sh", "hyperband", "bohb"})
"""Names whose trials run at fidelities below 1."""

DEFAULT_OPTIMIZER = "bo"
"""The optimizer of a search unless told otherwise: with transfer's prior it leads at every
budget of the tabular benchmark (docs/benchmarks/tabular_*.md)."""
