"""metakb: a meta-learning warm-start knowledge base for hyperparameter optimization."""

from typing import Any

from metakb.errors import MetakbError

__version__ = "0.1.0"

__all__ = ["ExtrapolationWarning", "MetakbError", "__version__", "recommend", "train"]


def __getattr__(name: str) -> Any:
    # recommend/train pull in scikit-learn, LightGBM and ConfigSpace: import them
    # on first use so that `import metakb` (and the CLI's startup) stays fast.
    if name in ("ExtrapolationWarning", "recommend", "train"):
        from metakb import warmstart

        return getattr(warmstart, name)
    raise AttributeError(f"module 'metakb' has no attribute {name!r}")
