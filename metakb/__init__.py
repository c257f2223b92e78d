"""metakb: a meta-learning warm-start knowledge base for hyperparameter optimization."""

from metakb.errors import MetakbError

__version__ = "0.1.0"

__all__ = ["MetakbError", "__version__"]
