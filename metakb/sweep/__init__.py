"""Sweeps: metakb's own experiments, a design of configurations cross-validated on many tables.

``metakb sweep`` grows the knowledge base where the published runs are thin
(small and medium tables, regression): every evaluation is a real
cross-validation with its per-fold scores and fit time, stored as source
``local`` with provenance ``sweep:<design>:cv<k>:seed<s>``.
"""

from metakb.sweep._design import (
    DEFAULT_DESIGN,
    DESIGNS,
    DesignPoint,
    DesignSpec,
    build_design,
    sobol_configs,
)
from metakb.sweep._run import (
    BATCH,
    DEFAULT_MAX_ROWS,
    METRICS,
    DatasetRef,
    Progress,
    SweepReport,
    SweepSettings,
    fold_values,
    folder_refs,
    run_sweep,
)

__all__ = [
    "BATCH",
    "DEFAULT_DESIGN",
    "DEFAULT_MAX_ROWS",
    "DESIGNS",
    "METRICS",
    "DatasetRef",
    "DesignPoint",
    "DesignSpec",
    "Progress",
    "SweepReport",
    "SweepSettings",
    "build_design",
    "fold_values",
    "folder_refs",
    "run_sweep",
    "sobol_configs",
]
