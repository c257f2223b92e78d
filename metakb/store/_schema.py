"""The knowledge base's schema, its version and the migrations between versions.

Table names follow OpenML's entities (datasets, tasks, flows, setups as
``configs``, evaluations, qualities as ``meta_features``). String keys are used
throughout so that OpenML entities (``openml:31``), published tables
(``tabrepo:lightgbm``) and the user's own data (``local:<hash>``) share one
key space without clashing.
"""

from __future__ import annotations

SCHEMA_VERSION = 2

_V1 = [
    """
    CREATE TABLE schema_version (
        version INTEGER NOT NULL,
        applied_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    )
    """,
    """
    CREATE TABLE metrics (
        metric VARCHAR PRIMARY KEY,
        direction VARCHAR NOT NULL CHECK (direction IN ('max', 'min')),
        description VARCHAR
    )
    """,
    """
    CREATE TABLE datasets (
        dataset_id VARCHAR PRIMARY KEY,
        openml_dataset_id INTEGER,
        name VARCHAR,
        task_type VARCHAR,
        n_rows BIGINT,
        n_features BIGINT,
        n_classes BIGINT,
        target VARCHAR,
        file_path VARCHAR,
        content_hash VARCHAR,
        source VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    )
    """,
    """
    CREATE TABLE tasks (
        task_id VARCHAR PRIMARY KEY,
        openml_task_id INTEGER,
        dataset_id VARCHAR,
        name VARCHAR,
        task_type VARCHAR,
        target VARCHAR,
        estimation_procedure VARCHAR,
        metric VARCHAR,
        source VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    )
    """,
    """
    CREATE TABLE flows (
        flow_id VARCHAR PRIMARY KEY,
        openml_flow_id INTEGER,
        name VARCHAR NOT NULL,
        algorithm VARCHAR NOT NULL,
        parameters VARCHAR,
        source VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    )
    """,
    """
    CREATE TABLE configs (
        config_id VARCHAR PRIMARY KEY,
        flow_id VARCHAR NOT NULL,
        params VARCHAR NOT NULL,
        name VARCHAR,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    )
    """,
    """
    CREATE TABLE evaluations (
        task_id VARCHAR NOT NULL,
        config_id VARCHAR NOT NULL,
        metric VARCHAR NOT NULL,
        value DOUBLE,
        fidelity DOUBLE NOT NULL DEFAULT 1.0,
        runtime_s DOUBLE,
        infer_s DOUBLE,
        source VARCHAR NOT NULL,
        provenance VARCHAR NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    )
    """,
    """
    CREATE TABLE meta_features (
        dataset_id VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        value DOUBLE,
        family VARCHAR,
        computed_by VARCHAR NOT NULL,
        version VARCHAR,
        seconds DOUBLE,
        reason VARCHAR,
        created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
        PRIMARY KEY (dataset_id, name, computed_by)
    )
    """,
    """
    CREATE TABLE ingest_runs (
        run_id VARCHAR PRIMARY KEY,
        source VARCHAR NOT NULL,
        selection VARCHAR,
        status VARCHAR NOT NULL,
        cursor VARCHAR,
        rows_added BIGINT NOT NULL DEFAULT 0,
        started_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
        updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
        message VARCHAR
    )
    """,
    "CREATE INDEX configs_flow ON configs (flow_id)",
    "CREATE INDEX tasks_openml ON tasks (openml_task_id)",
]

# evaluations, by far the largest table, has no PRIMARY KEY and no index: DuckDB's
# ART indexes make bulk inserts 3-4x slower, and its zone maps serve the per-task
# scans. Its natural key (task_id, config_id, metric, fidelity, source,
# provenance) is enforced with an anti-join by _write.upsert, behind every typed writer.

# MIGRATIONS[v] upgrades a knowledge base at version v - 1 to version v; version 1
# creates everything from an empty file. A new version adds one entry here and
# a frozen database of the old version under tests/store/ to prove the upgrade.
# Version 2: an evaluation keeps its per-fold values (JSON list, the metric's units)
# and, when it failed, why; the shipped meta-dataset's standard errors come from them.
_V2 = [
    "ALTER TABLE evaluations ADD COLUMN fold_values VARCHAR",
    "ALTER TABLE evaluations ADD COLUMN error VARCHAR",
]

MIGRATIONS: dict[int, list[str]] = {1: _V1, 2: _V2}

TABLES = (
    "schema_version",
    "metrics",
    "datasets",
    "tasks",
    "flows",
    "configs",
    "evaluations",
    "meta_features",
    "ingest_runs",
)

# Metrics metakb knows, with the direction in which they improve.
KNOWN_METRICS: dict[str, tuple[str, str]] = {
    "predictive_accuracy": ("max", "fraction of correct predictions (OpenML)"),
    "area_under_roc_curve": ("max", "ROC AUC, weighted over classes (OpenML)"),
    "f_measure": ("max", "F1 score, weighted over classes (OpenML)"),
    "balanced_accuracy": ("max", "mean per-class recall"),
    "log_loss": ("min", "multiclass logarithmic loss"),
    "root_mean_squared_error": ("min", "RMSE (OpenML)"),
    "mean_absolute_error": ("min", "MAE (OpenML)"),
    "r2": ("max", "coefficient of determination"),
    "metric_error": (
        "min",
        "TabRepo validation error: 1 - ROC AUC (binary), log loss (multiclass), RMSE (regression)",
    ),
}
