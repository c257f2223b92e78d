"""The knowledge base facade: :class:`KnowledgeBase` and the verbs the edges call.

The command line, the app, the pipelines and the integrations use this
package and the pure packages (:mod:`metakb.models`, :mod:`metakb.search`,
:mod:`metakb.spaces`, ...), never the store's wiring: a
:class:`KnowledgeBase` owns its :class:`~metakb.store.Store` and the
:class:`Layout` of the folders beside the DuckDB file.
"""

from metakb.kb._artifacts import ArtifactError, Manifest, clear_model_cache
from metakb.kb._facade import KnowledgeBase, load_warm_starter, recommend, train
from metakb.kb._layout import Layout
from metakb.kb._recommend import (
    SCORE_NOTE,
    ExtrapolationWarning,
    ModelFittedWarning,
    RecommendedConfig,
    TableMatch,
    extrapolation_notes,
    recommendations_json,
)
from metakb.kb._search import NO_WARM_START, BestConfig, TableSearch
from metakb.kb._train import MIN_CONFIGS, check_metric
from metakb.store import expand_params

__all__ = [
    "MIN_CONFIGS",
    "NO_WARM_START",
    "SCORE_NOTE",
    "ArtifactError",
    "BestConfig",
    "ExtrapolationWarning",
    "KnowledgeBase",
    "Layout",
    "Manifest",
    "ModelFittedWarning",
    "RecommendedConfig",
    "TableMatch",
    "TableSearch",
    "check_metric",
    "clear_model_cache",
    "expand_params",
    "extrapolation_notes",
    "load_warm_starter",
    "recommend",
    "recommendations_json",
    "train",
]
