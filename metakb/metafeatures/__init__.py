"""Meta-features: OpenML's data qualities computed locally, plus metakb's own.

One module per family (:mod:`~metakb.metafeatures.simple`,
:mod:`~metakb.metafeatures.statistical`, :mod:`~metakb.metafeatures.info_theory`,
:mod:`~metakb.metafeatures.landmarking`, :mod:`~metakb.metafeatures.model_based`),
one registry (:data:`FAMILIES`) and :func:`extract`. Names follow OpenML's
quality names where OpenML has the quality; metakb's own live under
``metakb.<family>.*``. Each module's docstring states its definitions and how
they relate to OpenML's.
"""

from metakb.metafeatures._extract import (
    DEFAULT_BUDGET_S,
    FAMILIES,
    METAFEATURES_VERSION,
    MetaFeatureResult,
    extract,
)
from metakb.metafeatures._featurize import (
    COMPUTED_BY,
    FeaturizeSummary,
    extract_table,
    featurize_all,
    featurize_file,
    result_rows,
)

__all__ = [
    "COMPUTED_BY",
    "DEFAULT_BUDGET_S",
    "FAMILIES",
    "METAFEATURES_VERSION",
    "FeaturizeSummary",
    "MetaFeatureResult",
    "extract",
    "extract_table",
    "featurize_all",
    "featurize_file",
    "result_rows",
]
