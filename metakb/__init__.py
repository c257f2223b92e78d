"""metakb: a meta-learning warm-start knowledge base for hyperparameter optimization."""

from typing import Any

from metakb._version import __version__
from metakb.errors import MetakbError

__all__ = [
    "ExtrapolationWarning",
    "KnowledgeBase",
    "MetakbError",
    "__version__",
    "recommend",
    "train",
]


def __getattr__(name: str) -> Any:
    # The knowledge base pulls in scikit-learn, LightGBM and ConfigSpace: import it
    # on first use so that `import metakb` (and the CLI's startup) stays fast.
    if name in ("ExtrapolationWarning", "KnowledgeBase", "recommend", "train"):
        from metakb import kb

        return getattr(kb, name)
    raise AttributeError(f"module 'metakb' has no attribute {name!r}")
