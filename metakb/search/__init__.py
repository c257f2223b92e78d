"""Ask/tell hyperparameter search: optimizers, warm starts, objectives, executors, the loop.

Optimizers live in one registry, `OPTIMIZERS`; warm-starting is
``warm_start(optimizer, starter, query, k)`` (recommend, then enqueue); a
transfer surrogate plugs into ``bo``/``bohb`` as ``prior=``.
"""

from metakb.search._base import BaseOptimizer, config_key
from metakb.search._bo import (
    BayesianOptimization,
    EIProposer,
    ForestSurrogate,
    RandomSearch,
    expected_improvement,
)
from metakb.search._hyperband import (
    BOHB,
    Hyperband,
    Rung,
    SuccessiveHalving,
    hyperband_brackets,
    successive_halving_rungs,
)
from metakb.search._registry import MULTI_FIDELITY, OPTIMIZERS
from metakb.search._space import encode, in_space
from metakb.search._types import (
    Config,
    EvalResult,
    NoTrialAvailable,
    Objective,
    Optimizer,
    PriorSurrogate,
    SearchError,
    Starter,
    Trial,
)
from metakb.search._warm import WarmStartReport, warm_start

__all__ = [
    "BOHB",
    "MULTI_FIDELITY",
    "OPTIMIZERS",
    "BaseOptimizer",
    "BayesianOptimization",
    "Config",
    "EIProposer",
    "EvalResult",
    "ForestSurrogate",
    "Hyperband",
    "NoTrialAvailable",
    "Objective",
    "Optimizer",
    "PriorSurrogate",
    "RandomSearch",
    "Rung",
    "SearchError",
    "Starter",
    "SuccessiveHalving",
    "Trial",
    "WarmStartReport",
    "config_key",
    "encode",
    "expected_improvement",
    "hyperband_brackets",
    "in_space",
    "successive_halving_rungs",
    "warm_start",
]
