"""Ingest tasks, datasets, flows and runs from an OpenML server with openml-python.

This is the only package of metakb that imports ``openml``. It pulls, for a
selection of tasks (a benchmark suite and/or task ids) and flows:

* tasks (type, target, estimation procedure) and their datasets, with OpenML's
  data qualities stored as meta-features computed by ``'openml'``;
* flows (name and parameter names);
* evaluations of one metric with their setups' hyperparameter values
  (``openml.evaluations.list_evaluations_setups``, one page at a time), mapped
  onto canonical configurations (:mod:`._flows`).

Rooms: :mod:`._client` talks to the server (deadlines, retries, openml-python's
configuration, the reachability probe), :mod:`._flows` maps flows and setups
onto configurations, :mod:`._ingest` runs the ingest and writes through the
store's typed writers, one transaction per page with its checkpoint.
"""

from metakb.sources.openml._client import (
    DEFAULT_SERVER,
    SERVER_ENV,
    HttpPolicy,
    openml_reachable,
    resolve_server,
)
from metakb.sources.openml._ingest import (
    QUICKSTART_FLOW,
    QUICKSTART_MAX_RUNS,
    QUICKSTART_TASKS,
    SOURCE,
    OpenMLIngestSummary,
    ingest_openml,
    ingest_openml_quickstart,
)

__all__ = [
    "DEFAULT_SERVER",
    "QUICKSTART_FLOW",
    "QUICKSTART_MAX_RUNS",
    "QUICKSTART_TASKS",
    "SERVER_ENV",
    "SOURCE",
    "HttpPolicy",
    "OpenMLIngestSummary",
    "ingest_openml",
    "ingest_openml_quickstart",
    "openml_reachable",
    "resolve_server",
]
