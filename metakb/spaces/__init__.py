"""Search spaces per algorithm (ConfigSpace), mapped to OpenML flow parameters and estimators."""

from metakb.spaces._algorithms import SPACES, get_space
from metakb.spaces._space import INACTIVE_VALUE, Params, SearchSpace

DEFAULT_ALGORITHM = "lightgbm"
"""The algorithm recommendations and searches use unless told otherwise."""

__all__ = ["DEFAULT_ALGORITHM", "INACTIVE_VALUE", "SPACES", "Params", "SearchSpace", "get_space"]
