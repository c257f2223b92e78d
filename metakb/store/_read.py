"""Queries that read the knowledge base: counts, task listings and one task's details."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

from metakb.errors import MetakbError
from metakb.store._connection import first_row

_COUNTED = ("tasks", "datasets", "flows", "configs", "evaluations", "meta_features")


def _records(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def get_stats(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Return the knowledge base's size.

    Returns
    -------
    dict
        ``tasks``, ``datasets``, ``flows``, ``configs``, ``evaluations``,
        ``meta_features`` (row counts); ``by_flow``, one entry per (source,
        flow, metric) with ``openml_flow_id`` (None where unknown),
        ``evaluations`` and ``tasks``; ``by_source``, meta-feature counts by who
        computed them; ``last_ingest``, the newest ingest run or None.
    """
    stats: dict[str, Any] = {}
    for table in _COUNTED:
        row = first_row(con.execute(f"SELECT count(*) FROM {table}"))
        stats[table] = int(row[0]) if row else 0
    stats["by_flow"] = _records(
        con.execute(
            """
            SELECT e.source, f.name AS flow, f.flow_id, f.openml_flow_id, f.algorithm,
                   e.metric, m.direction,
                   count(*) AS evaluations, count(DISTINCT e.task_id) AS tasks
            FROM evaluations e
            JOIN configs c USING (config_id)
            JOIN flows f USING (flow_id)
            LEFT JOIN metrics m USING (metric)
            GROUP BY ALL
            ORDER BY e.source, f.flow_id, e.metric
            """
        )
    )
    stats["meta_features_by_source"] = _records(
        con.execute(
            """
            SELECT computed_by, count(*) AS values, count(DISTINCT dataset_id) AS datasets
            FROM meta_features GROUP BY ALL ORDER BY computed_by
            """
        )
    )
    last = _records(
        con.execute(
            "SELECT run_id, source, status, rows_added, updated_at FROM ingest_runs "
            "ORDER BY updated_at DESC LIMIT 1"
        )
    )
    stats["last_ingest"] = {**last[0], "updated_at": str(last[0]["updated_at"])} if last else None
    return stats


def resolve_flow(con: duckdb.DuckDBPyConnection, ref: str) -> list[str]:
    """Return the flow keys matching ``ref``: a flow key, an OpenML flow id or an algorithm."""
    rows = con.execute(
        """
        SELECT flow_id FROM flows
        WHERE flow_id = $ref OR algorithm = lower($ref) OR CAST(openml_flow_id AS VARCHAR) = $ref
        ORDER BY flow_id
        """,
        {"ref": ref.strip()},
    ).fetchall()
    return [r[0] for r in rows]


def list_flows(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Return every flow with its number of configurations and evaluations."""
    return con.execute(
        """
        SELECT f.flow_id, f.openml_flow_id, f.name, f.algorithm, f.source,
               (SELECT count(*) FROM configs c WHERE c.flow_id = f.flow_id) AS configs
        FROM flows f ORDER BY f.flow_id
        """
    ).df()


def list_tasks(con: duckdb.DuckDBPyConnection, flow: str | None = None) -> pd.DataFrame:
    """Return one row per task with its dataset and evaluation counts.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open connection.
    flow : str, optional
        Keep only tasks with evaluations of this flow (key, OpenML id or algorithm).

    Returns
    -------
    pandas.DataFrame
        task_id, openml_task_id, name, task_type, dataset_id, openml_dataset_id, n_rows,
        n_features, n_classes, flows, evaluations.
    """
    flow_ids = resolve_flow(con, flow) if flow is not None else None
    if flow_ids is not None and not flow_ids:
        return _empty_tasks(con)
    return con.execute(
        """
        WITH ev AS (
            SELECT e.task_id, count(*) AS evaluations,
                   string_agg(DISTINCT c.flow_id, ',' ORDER BY c.flow_id) AS flows
            FROM evaluations e JOIN configs c USING (config_id)
            WHERE $flows IS NULL OR list_contains($flows, c.flow_id)
            GROUP BY e.task_id
        )
        SELECT t.task_id, t.openml_task_id, coalesce(t.name, d.name) AS name, t.task_type,
               t.dataset_id, d.openml_dataset_id, d.n_rows, d.n_features, d.n_classes,
               ev.flows, coalesce(ev.evaluations, 0) AS evaluations
        FROM tasks t
        LEFT JOIN datasets d USING (dataset_id)
        LEFT JOIN ev USING (task_id)
        WHERE $flows IS NULL OR ev.task_id IS NOT NULL
        ORDER BY t.openml_task_id NULLS LAST, t.task_id
        """,
        {"flows": flow_ids},
    ).df()


def _empty_tasks(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return list_tasks(con).iloc[0:0]


def find_task(con: duckdb.DuckDBPyConnection, ref: str) -> str | None:
    """Return the task key ``ref`` names, or None when it names none.

    Tried in order, the first that matches wins: the task key itself
    (``openml:31``), an OpenML task id (``31``), a task or dataset name,
    case-insensitive (``credit-g``), a prefix of a key with or without its
    source (``local:039c48``, ``039c48``); a name or a prefix must name one task.

    Raises
    ------
    MetakbError
        ``ref`` is a prefix or a name of more than one task (the message lists some).
    """
    ref = ref.strip()
    if not ref:
        return None
    row = first_row(
        con.execute(
            "SELECT task_id FROM tasks "
            "WHERE task_id = $ref OR CAST(openml_task_id AS VARCHAR) = $ref "
            "ORDER BY task_id = $ref DESC, task_id LIMIT 1",
            {"ref": ref},
        )
    )
    if row:
        return str(row[0])
    for how, query in _TASK_REFS:
        found = [str(r[0]) for r in con.execute(query, {"ref": ref}).fetchall()]
        if len(found) == 1:
            return found[0]
        if found:
            shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
            raise MetakbError(f"{ref!r} is {how} of several tasks ({shown}): give one's full key")
    return None


# How a reference that is not a whole key names a task, tried in this order (a
# name first: it is meant, where a short hex prefix may be a coincidence).
_TASK_REFS = (
    (
        "the name",
        "SELECT t.task_id FROM tasks t LEFT JOIN datasets d USING (dataset_id) "
        "WHERE lower(coalesce(t.name, d.name)) = lower($ref) ORDER BY t.task_id LIMIT 6",
    ),
    (
        "a prefix",
        "SELECT task_id FROM tasks WHERE starts_with(task_id, $ref) "
        "OR starts_with(substr(task_id, strpos(task_id, ':') + 1), $ref) "
        "ORDER BY task_id LIMIT 6",
    ),
)


def find_table_datasets(
    con: duckdb.DuckDBPyConnection,
    *,
    content_hash: str,
    name: str,
    n_rows: Sequence[int],
    n_features: int,
) -> list[dict[str, Any]]:
    """Return the datasets with tasks that a user's table is a copy of.

    A dataset matches when its file has the table's content hash, or when it
    has the table's name (case-insensitive) and shape: one of ``n_rows`` (the
    file's rows, or those left once rows without a target are dropped) and
    ``n_features`` (the target not counted).

    Returns
    -------
    list of dict
        ``dataset_id``, ``name``, ``openml_dataset_id``, ``how`` (``"same
        file"`` or ``"same name and shape"``) and ``task_ids`` (sorted), same
        file first.
    """
    return _records(
        con.execute(
            """
            SELECT d.dataset_id, d.name, d.openml_dataset_id,
                   CASE WHEN d.content_hash = $hash THEN 'same file'
                        ELSE 'same name and shape' END AS how,
                   list(t.task_id ORDER BY t.task_id) AS task_ids
            FROM datasets d JOIN tasks t USING (dataset_id)
            WHERE d.content_hash = $hash
               OR (lower(d.name) = lower($name) AND list_contains($rows, d.n_rows)
                   AND d.n_features = $features)
            GROUP BY ALL
            ORDER BY how, d.dataset_id
            """,
            {"hash": content_hash, "name": name, "rows": list(n_rows), "features": n_features},
        )
    )


def get_task(con: duckdb.DuckDBPyConnection, ref: str, *, top: int = 5) -> dict[str, Any] | None:
    """Return one task with its dataset, evaluation summary and best configurations.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open connection.
    ref : str
        A task key (``openml:31``), an OpenML task id (``31``), a name or a
        unique key prefix (see :func:`find_task`).
    top : int
        How many best configurations to return per flow and metric.

    Returns
    -------
    dict or None
        ``task``, ``dataset`` (or None), ``evaluations`` (one entry per flow
        and metric with count, best, median and worst in the metric's
        direction), ``best`` (the top configurations) and ``meta_features``
        (count per source); None when no task matches.
    """
    task_id = find_task(con, ref)
    if task_id is None:
        return None
    task = _records(con.execute("SELECT * FROM tasks WHERE task_id = ?", [task_id]))[0]
    datasets = _records(
        con.execute("SELECT * FROM datasets WHERE dataset_id = ?", [task["dataset_id"]])
    )
    summary = _records(
        con.execute(
            """
            SELECT c.flow_id, e.metric, m.direction, count(*) AS evaluations,
                   CASE WHEN any_value(m.direction) = 'min' THEN min(e.value)
                        ELSE max(e.value) END AS best,
                   median(e.value) AS median,
                   CASE WHEN any_value(m.direction) = 'min' THEN max(e.value)
                        ELSE min(e.value) END AS worst
            FROM evaluations e JOIN configs c USING (config_id) LEFT JOIN metrics m USING (metric)
            WHERE e.task_id = ?
            GROUP BY c.flow_id, e.metric, m.direction ORDER BY c.flow_id, e.metric
            """,
            [task_id],
        )
    )
    best = _records(
        con.execute(
            """
            SELECT flow_id, metric, value, params FROM (
                SELECT c.flow_id, e.metric, e.value, c.params,
                       row_number() OVER (
                           PARTITION BY c.flow_id, e.metric
                           ORDER BY CASE WHEN m.direction = 'min' THEN e.value ELSE -e.value END
                       ) AS r
                FROM evaluations e JOIN configs c USING (config_id)
                LEFT JOIN metrics m USING (metric)
                WHERE e.task_id = ? AND e.value IS NOT NULL
            ) WHERE r <= ? ORDER BY flow_id, metric, r
            """,
            [task_id, top],
        )
    )
    meta = _records(
        con.execute(
            "SELECT computed_by, count(*) AS values FROM meta_features WHERE dataset_id = ? "
            "GROUP BY ALL ORDER BY computed_by",
            [task["dataset_id"]],
        )
    )
    return {
        "task": _jsonable(task),
        "dataset": _jsonable(datasets[0]) if datasets else None,
        "evaluations": summary,
        "best": best,
        "meta_features": meta,
    }


def get_meta_features(
    con: duckdb.DuckDBPyConnection, dataset_id: str, computed_by: str | None = None
) -> pd.DataFrame:
    """Return a dataset's stored meta-features (name, value, family, computed_by, ...)."""
    return con.execute(
        """
        SELECT name, value, family, computed_by, version, seconds, reason
        FROM meta_features
        WHERE dataset_id = $d AND ($by IS NULL OR computed_by = $by)
        ORDER BY name, computed_by
        """,
        {"d": dataset_id, "by": computed_by},
    ).df()


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if hasattr(v, "isoformat") else v) for k, v in row.items()}


def list_dataset_files(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Return datasets with a local file: dataset_id, name, task_type, target, file_path."""
    return con.execute(
        """
        SELECT dataset_id, name, task_type, target, file_path
        FROM datasets WHERE file_path IS NOT NULL ORDER BY dataset_id
        """
    ).df()


def list_featurized(
    con: duckdb.DuckDBPyConnection, *, computed_by: str, version: str
) -> pd.DataFrame:
    """Return the (dataset_id, family) pairs with meta-features of one producer and version."""
    return con.execute(
        """
        SELECT DISTINCT dataset_id, family FROM meta_features
        WHERE computed_by = $by AND version = $version
        ORDER BY dataset_id, family
        """,
        {"by": computed_by, "version": version},
    ).df()


def list_flow_configs(
    con: duckdb.DuckDBPyConnection, flow_ids: Sequence[str], *, limit: int | None = None
) -> list[str]:
    """Return the parameter JSON of the published configurations of some flows, by config id.

    Published means evaluated by some source other than ``local`` (metakb's own
    searches and sweeps add configurations to the same flows). Config ids are
    hashes, so the first ``limit`` are a deterministic, unbiased subset.
    """
    rows = con.execute(
        """
        SELECT c.params FROM configs c
        WHERE list_contains($flows, c.flow_id) AND EXISTS (
            SELECT 1 FROM evaluations e WHERE e.config_id = c.config_id AND e.source <> 'local'
        )
        ORDER BY c.config_id LIMIT $limit
        """,
        {"flows": list(flow_ids), "limit": limit if limit is not None else 2**62},
    ).fetchall()
    return [str(row[0]) for row in rows]


def evaluated_configs(
    con: duckdb.DuckDBPyConnection, task_id: str, *, metric: str, provenance: str
) -> dict[str, bool]:
    """Return config id -> whether it succeeded, for a task's evaluations by one producer."""
    rows = con.execute(
        """
        SELECT config_id, bool_or(value IS NOT NULL) FROM evaluations
        WHERE task_id = $task AND metric = $metric AND provenance = $provenance
        GROUP BY config_id
        """,
        {"task": task_id, "metric": metric, "provenance": provenance},
    ).fetchall()
    return {str(row[0]): bool(row[1]) for row in rows}


def has_provenance(con: duckdb.DuckDBPyConnection, provenance: str) -> bool:
    """Return whether any evaluation was made by ``provenance`` (a search, a sweep)."""
    row = first_row(
        con.execute("SELECT count(*) FROM evaluations WHERE provenance = $p", {"p": provenance})
    )
    return bool(row and row[0])


def get_fold_results(
    con: duckdb.DuckDBPyConnection, provenance_prefix: str, task_type: str | None = None
) -> pd.DataFrame:
    """Return the evaluations of one producer family with their per-fold values.

    Columns: task_id, name, task_type, config_id, params, metric, direction,
    value, fold_values (JSON text), error; one row per evaluation whose
    provenance starts with ``provenance_prefix`` (``sweep:lightgbm:``), on tasks
    of ``task_type`` when given.
    """
    return con.execute(
        """
        SELECT e.task_id, t.name, t.task_type, e.config_id, c.params, e.metric,
               coalesce(m.direction, 'max') AS direction, e.value, e.fold_values, e.error
        FROM evaluations e JOIN tasks t USING (task_id) JOIN configs c USING (config_id)
        LEFT JOIN metrics m ON m.metric = e.metric
        WHERE starts_with(e.provenance, $prefix)
          AND ($task_type IS NULL OR t.task_type = $task_type)
        ORDER BY e.task_id, e.config_id
        """,
        {"prefix": provenance_prefix, "task_type": task_type},
    ).df()
