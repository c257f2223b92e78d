"""The DuckDB knowledge base: schema, connections, writes and queries.

This package is the only place in metakb that holds SQL and names table
columns: writes go through the typed writers (``put_datasets``, ``put_tasks``,
``put_flows``, ``put_configs``, ``put_evaluations``, ``put_meta_features``, or
``put_rows`` for any batch), which take the frozen batch records below.
"""

from metakb.store._browse import (
    expand_params,
    get_best_by_flow,
    get_evaluation_counts,
    get_evaluations,
    get_meta_feature_matrix,
)
from metakb.store._connection import (
    DEFAULT_DB,
    Store,
    default_db_path,
    first_row,
    migrate,
    schema_version,
    transaction,
)
from metakb.store._meta import (
    MetaFrames,
    get_task_dataset,
    get_task_meta_features,
    list_flow_metrics,
    load_meta_frames,
)
from metakb.store._read import (
    find_task,
    get_meta_features,
    get_stats,
    get_task,
    list_dataset_files,
    list_featurized,
    list_flows,
    list_tasks,
    resolve_flow,
)
from metakb.store._records import (
    Column,
    Configs,
    Datasets,
    Evaluations,
    Flows,
    MetaFeatures,
    Rows,
    Tasks,
    Values,
)
from metakb.store._schema import KNOWN_METRICS, SCHEMA_VERSION, TABLES
from metakb.store._write import (
    delete_outdated_meta_features,
    get_ingest_run,
    put_configs,
    put_datasets,
    put_evaluations,
    put_flows,
    put_meta_features,
    put_rows,
    put_tasks,
    read_table_file,
    record_ingest_run,
)

__all__ = [
    "DEFAULT_DB",
    "KNOWN_METRICS",
    "SCHEMA_VERSION",
    "TABLES",
    "Column",
    "Configs",
    "Datasets",
    "Evaluations",
    "Flows",
    "MetaFeatures",
    "MetaFrames",
    "Rows",
    "Store",
    "Tasks",
    "Values",
    "default_db_path",
    "delete_outdated_meta_features",
    "expand_params",
    "find_task",
    "first_row",
    "get_best_by_flow",
    "get_evaluation_counts",
    "get_evaluations",
    "get_ingest_run",
    "get_meta_feature_matrix",
    "get_meta_features",
    "get_stats",
    "get_task",
    "get_task_dataset",
    "get_task_meta_features",
    "list_dataset_files",
    "list_featurized",
    "list_flow_metrics",
    "list_flows",
    "list_tasks",
    "load_meta_frames",
    "migrate",
    "put_configs",
    "put_datasets",
    "put_evaluations",
    "put_flows",
    "put_meta_features",
    "put_rows",
    "put_tasks",
    "read_table_file",
    "record_ingest_run",
    "resolve_flow",
    "schema_version",
    "transaction",
]
