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
    QueryPrior,
    RandomSearch,
    expected_improvement,
)
from metakb.search._executors import (
    DaskExecutor,
    Executor,
    InProcessExecutor,
    ProcessPoolExecutor,
    open_executor,
)
from metakb.search._hyperband import (
    BOHB,
    Hyperband,
    Rung,
    SuccessiveHalving,
    hyperband_brackets,
    successive_halving_rungs,
)
from metakb.search._objectives import (
    SCORERS,
    CVObjective,
    DefaultEstimators,
    LookupObjective,
    SpaceEstimators,
    SurrogateObjective,
)
from metakb.search._registry import MULTI_FIDELITY, OPTIMIZERS
from metakb.search._run import (
    SearchResult,
    TrialLog,
    TrialRecord,
    load_trials,
    replay,
    result_rows,
    run_search,
)
from metakb.search._space import encode, in_space
from metakb.search._types import (
    ConditionalPrior,
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
from metakb.search._warm import AdaptiveWarmStart, WarmStartReport, warm_start
from metakb.spaces import categorical_columns

__all__ = [
    "BOHB",
    "MULTI_FIDELITY",
    "OPTIMIZERS",
    "SCORERS",
    "AdaptiveWarmStart",
    "BaseOptimizer",
    "BayesianOptimization",
    "CVObjective",
    "ConditionalPrior",
    "Config",
    "DaskExecutor",
    "DefaultEstimators",
    "EIProposer",
    "EvalResult",
    "Executor",
    "ForestSurrogate",
    "Hyperband",
    "InProcessExecutor",
    "LookupObjective",
    "NoTrialAvailable",
    "Objective",
    "Optimizer",
    "PriorSurrogate",
    "ProcessPoolExecutor",
    "QueryPrior",
    "RandomSearch",
    "Rung",
    "SearchError",
    "SearchResult",
    "SpaceEstimators",
    "Starter",
    "SuccessiveHalving",
    "SurrogateObjective",
    "Trial",
    "TrialLog",
    "TrialRecord",
    "WarmStartReport",
    "categorical_columns",
    "config_key",
    "encode",
    "expected_improvement",
    "hyperband_brackets",
    "in_space",
    "load_trials",
    "open_executor",
    "replay",
    "result_rows",
    "run_search",
    "successive_halving_rungs",
    "warm_start",
]
