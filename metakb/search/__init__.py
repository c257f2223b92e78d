"""Ask/tell hyperparameter search: optimizers, warm starts, objectives, executors, the loop.

Optimizers live in one registry, `OPTIMIZERS`; warm-starting is
``warm_start(optimizer, starter, query, k)`` (recommend, then enqueue); a
transfer surrogate plugs into ``bo``/``bohb`` as ``prior=``.
"""

from metakb.search._base import (
    AdaptiveStarter,
    BaseOptimizer,
    ConditionalPrior,
    PooledPrior,
    PriorGuidedOptimizer,
    PriorSurrogate,
    QuerySurrogate,
    config_key,
)
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
    DEFAULT_METRIC,
    SCORERS,
    TASK_METRICS,
    CVObjective,
    DefaultEstimators,
    LookupObjective,
    SpaceEstimators,
    SurrogateObjective,
    cv_scorer,
)
from metakb.search._registry import DEFAULT_OPTIMIZER, MULTI_FIDELITY, OPTIMIZERS
from metakb.search._run import (
    SearchResult,
    TrialLog,
    TrialRecord,
    load_trials,
    replay,
    result_rows,
    run_search,
)
from metakb.search._setup import (
    PRIOR_WARM,
    StartedOptimizer,
    build_optimizer,
    default_n_warm,
    executor_spec,
    fidelity_kind,
    min_fidelity,
    start_optimizer,
)
from metakb.search._space import encode, in_space
from metakb.search._types import (
    Config,
    EvalResult,
    NoTrialAvailable,
    Objective,
    Optimizer,
    SearchError,
    Starter,
    Trial,
)
from metakb.search._warm import AdaptiveWarmStart, WarmStartReport, warm_start
from metakb.spaces import categorical_columns

__all__ = [
    "BOHB",
    "DEFAULT_METRIC",
    "DEFAULT_OPTIMIZER",
    "MULTI_FIDELITY",
    "OPTIMIZERS",
    "PRIOR_WARM",
    "SCORERS",
    "TASK_METRICS",
    "AdaptiveStarter",
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
    "PooledPrior",
    "PriorGuidedOptimizer",
    "PriorSurrogate",
    "ProcessPoolExecutor",
    "QueryPrior",
    "QuerySurrogate",
    "RandomSearch",
    "Rung",
    "SearchError",
    "SearchResult",
    "SpaceEstimators",
    "StartedOptimizer",
    "Starter",
    "SuccessiveHalving",
    "SurrogateObjective",
    "Trial",
    "TrialLog",
    "TrialRecord",
    "WarmStartReport",
    "build_optimizer",
    "categorical_columns",
    "config_key",
    "cv_scorer",
    "default_n_warm",
    "encode",
    "executor_spec",
    "expected_improvement",
    "fidelity_kind",
    "hyperband_brackets",
    "in_space",
    "load_trials",
    "min_fidelity",
    "open_executor",
    "replay",
    "result_rows",
    "run_search",
    "start_optimizer",
    "successive_halving_rungs",
    "warm_start",
]
