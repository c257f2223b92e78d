"""Read a self-contained slice of the knowledge base: some evaluations and what they reference.

The shipped meta-dataset (:mod:`metakb.sources.shipped`) is the sweep's
evaluations (provenance ``sweep:...``) with exactly the tasks, datasets, flows,
configurations and meta-features they reference. This module selects those
rows, without the columns that describe the machine that built them rather
than the runs, in a fixed order, so the same knowledge base always gives the
same tables.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

EXPORT_DROPPED: dict[str, tuple[str, ...]] = {
    "datasets": ("created_at", "file_path"),
    "tasks": ("created_at",),
    "flows": ("created_at",),
    "configs": ("created_at",),
    "evaluations": ("created_at",),
    "meta_features": ("created_at", "seconds"),
}
"""Per table, the columns a slice leaves out: when a row was written, where the
dataset's file was on the building machine, and how long a meta-feature family
took there. Every other column, including ones a later schema adds, is kept."""

# One plain statement per table (identifiers written out, nothing spliced): the
# evaluations selected by provenance prefix, then what they reference, each in
# its natural key's order. EXCLUDE must list EXPORT_DROPPED (tests check).
_QUERIES: dict[str, str] = {
    "datasets": """
        SELECT * EXCLUDE (created_at, file_path) FROM datasets
        WHERE dataset_id IN (SELECT dataset_id FROM tasks WHERE task_id IN (
            SELECT task_id FROM evaluations WHERE starts_with(provenance, $prefix)))
        ORDER BY dataset_id
    """,
    "tasks": """
        SELECT * EXCLUDE (created_at) FROM tasks
        WHERE task_id IN (
            SELECT task_id FROM evaluations WHERE starts_with(provenance, $prefix))
        ORDER BY task_id
    """,
    "flows": """
        SELECT * EXCLUDE (created_at) FROM flows
        WHERE flow_id IN (SELECT flow_id FROM configs WHERE config_id IN (
            SELECT config_id FROM evaluations WHERE starts_with(provenance, $prefix)))
        ORDER BY flow_id
    """,
    "configs": """
        SELECT * EXCLUDE (created_at) FROM configs
        WHERE config_id IN (
            SELECT config_id FROM evaluations WHERE starts_with(provenance, $prefix))
        ORDER BY config_id
    """,
    "evaluations": """
        SELECT * EXCLUDE (created_at) FROM evaluations
        WHERE starts_with(provenance, $prefix)
        ORDER BY task_id, config_id, metric, fidelity, source, provenance
    """,
    "meta_features": """
        SELECT * EXCLUDE (created_at, seconds) FROM meta_features
        WHERE dataset_id IN (SELECT dataset_id FROM tasks WHERE task_id IN (
            SELECT task_id FROM evaluations WHERE starts_with(provenance, $prefix)))
        ORDER BY dataset_id, name, computed_by
    """,
}


def get_provenance_slice(con: duckdb.DuckDBPyConnection, prefix: str) -> dict[str, pa.Table]:
    """Return the evaluations whose provenance starts with ``prefix`` and the rows they reference.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open connection (read-only will do).
    prefix : str
        The provenance prefix, e.g. ``"sweep:"``.

    Returns
    -------
    dict of str to pyarrow.Table
        Per table (``datasets``, ``tasks``, ``flows``, ``configs``,
        ``evaluations``, ``meta_features``), its rows in natural-key order
        without the columns of :data:`EXPORT_DROPPED`. Arrow keeps the stored
        types (nullable integers stay integers).
    """
    return {
        table: con.sql(query, params={"prefix": prefix}).to_arrow_table()
        for table, query in _QUERIES.items()
    }
