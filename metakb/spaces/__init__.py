"""One record per algorithm: search space (ConfigSpace), estimators, OpenML flow mapping."""

from metakb.spaces._algorithm import (
    Algorithm,
    BaseModel,
    FidelityKind,
    FlowParameterMap,
    TaskType,
    TreeSize,
    categorical_columns,
)
from metakb.spaces._algorithms import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    SPACES,
    get_algorithm,
    get_space,
)
from metakb.spaces._code import estimator_code, jsonable_kwargs, python_kwargs, python_value
from metakb.spaces._space import INACTIVE_VALUE, Params, SearchSpace

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "INACTIVE_VALUE",
    "SPACES",
    "Algorithm",
    "BaseModel",
    "FidelityKind",
    "FlowParameterMap",
    "Params",
    "SearchSpace",
    "TaskType",
    "TreeSize",
    "categorical_columns",
    "estimator_code",
    "get_algorithm",
    "get_space",
    "jsonable_kwargs",
    "python_kwargs",
    "python_value",
]
