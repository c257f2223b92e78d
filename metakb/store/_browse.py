"""Queries behind the app's pages: evaluations of one task, meta-feature matrices."""

from __future__ import annotations

import json

import duckdb
import pandas as pd


def get_evaluations(
    con: duckdb.DuckDBPyConnection,
    task_id: str,
    flow_id: str | None = None,
    metric: str | None = None,
) -> pd.DataFrame:
    """Return a task's evaluations with their configurations, one row per evaluation.

    Returns
    -------
    pandas.DataFrame
        flow_id, metric, direction, value, fidelity, runtime_s, source,
        config_id, params (the canonical JSON).
    """
    return con.execute(
        """
        SELECT c.flow_id, e.metric, m.direction, e.value, e.fidelity, e.runtime_s, e.source,
               e.config_id, c.params
        FROM evaluations e JOIN configs c USING (config_id) LEFT JOIN metrics m USING (metric)
        WHERE e.task_id = $task AND ($flow IS NULL OR c.flow_id = $flow)
          AND ($metric IS NULL OR e.metric = $metric)
        ORDER BY c.flow_id, e.metric,
                 CASE WHEN m.direction = 'min' THEN e.value ELSE -e.value END
        """,
        {"task": task_id, "flow": flow_id, "metric": metric},
    ).df()


def expand_params(frame: pd.DataFrame, column: str = "params") -> pd.DataFrame:
    """Return ``frame`` with its JSON parameter column spread into one column per parameter."""
    if frame.empty:
        return frame.drop(columns=[column])
    params = pd.DataFrame([json.loads(text) for text in frame[column]], index=frame.index)
    return pd.concat([frame.drop(columns=[column]), params], axis=1)


def get_meta_feature_matrix(
    con: duckdb.DuckDBPyConnection, computed_by: str = "openml"
) -> pd.DataFrame:
    """Return one row per dataset and one column per meta-feature (NaN where missing)."""
    long = con.execute(
        "SELECT dataset_id, name, value FROM meta_features "
        "WHERE computed_by = ? AND value IS NOT NULL",
        [computed_by],
    ).df()
    if long.empty:
        return pd.DataFrame()
    return long.pivot(index="dataset_id", columns="name", values="value")


def get_best_by_flow(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Return each task's best value per flow and metric (in the metric's direction)."""
    return con.execute(
        """
        SELECT e.task_id, c.flow_id, e.metric,
               CASE WHEN any_value(m.direction) = 'min' THEN min(e.value)
                    ELSE max(e.value) END AS best
        FROM evaluations e JOIN configs c USING (config_id) LEFT JOIN metrics m USING (metric)
        GROUP BY e.task_id, c.flow_id, e.metric
        """
    ).df()


def get_evaluation_counts(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Return the number of evaluations per source and flow."""
    return con.execute(
        """
        SELECT e.source, c.flow_id, count(*) AS evaluations
        FROM evaluations e JOIN configs c USING (config_id)
        GROUP BY ALL ORDER BY e.source, c.flow_id
        """
    ).df()
