"""metakb: a meta-learning warm-start knowledge base for hyperparameter optimization."""

import importlib
from typing import Any

from metakb._version import __version__
from metakb.errors import MetakbError

__all__ = [
    "ExtrapolationWarning",
    "KnowledgeBase",
    "MetakbError",
    "__version__",
    "load_warm_starter",
    "recommend",
    "train",
]


_FROM_KB = ("ExtrapolationWarning", "KnowledgeBase", "load_warm_starter", "recommend", "train")
# Subpackages the README reaches as attributes (`metakb.metafeatures.extract(X, y)`).
_SUBPACKAGES = ("integrations", "kb", "metafeatures", "models", "search", "spaces", "store")


def __getattr__(name: str) -> Any:
    # The knowledge base pulls in scikit-learn, LightGBM and ConfigSpace: import it
    # on first use so that `import metakb` (and the CLI's startup) stays fast.
    if name in _FROM_KB:
        from metakb import kb

        return getattr(kb, name)
    if name in _SUBPACKAGES:
        return importlib.import_module(f"metakb.{name}")
    raise AttributeError(f"module 'metakb' has no attribute {name!r}")
