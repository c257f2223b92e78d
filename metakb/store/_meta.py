"""Read the tables a meta-model is trained on: one flow's evaluations, tasks and meta-features."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from metakb.errors import StoreError
from metakb.store._read import resolve_flow


@dataclass(frozen=True)
class MetaFrames:
    """Plain pandas frames for one flow and metric, as stored.

    Attributes
    ----------
    flow_id, metric, direction : str
        The flow key, the metric and whether it is maximized (``"max"``) or minimized.
    evaluations : pandas.DataFrame
        task_id, config_id, params (canonical JSON), value (mean over repeated
        evaluations at full fidelity), one row per task and configuration.
    tasks : pandas.DataFrame
        task_id, dataset_id, openml_dataset_id, content_hash, name of every task
        in ``evaluations``.
    meta_features : pandas.DataFrame
        dataset_id, name, value of those tasks' datasets (one ``computed_by``).
    """

    flow_id: str
    metric: str
    direction: str
    evaluations: pd.DataFrame
    tasks: pd.DataFrame
    meta_features: pd.DataFrame


def list_flow_metrics(
    con: duckdb.DuckDBPyConnection, flow: str, task_type: str | None = None
) -> pd.DataFrame:
    """Return the metrics evaluated for ``flow`` with direction and counts, most used first.

    With ``task_type``, only evaluations on tasks of that type count.
    """
    return con.execute(
        """
        SELECT e.metric, coalesce(m.direction, 'max') AS direction,
               count(*) AS evaluations, count(DISTINCT e.task_id) AS tasks
        FROM evaluations e JOIN configs c USING (config_id) LEFT JOIN metrics m USING (metric)
        WHERE list_contains($flows, c.flow_id) AND e.value IS NOT NULL
          -- $task_type NULL: every task
          AND ($task_type IS NULL
               OR e.task_id IN (SELECT task_id FROM tasks WHERE task_type = $task_type))
        GROUP BY ALL ORDER BY evaluations DESC, e.metric
        """,
        {"flows": resolve_flow(con, flow), "task_type": task_type},
    ).df()


def load_meta_frames(
    con: duckdb.DuckDBPyConnection,
    flow: str,
    metric: str | None = None,
    *,
    task_type: str | None = None,
    computed_by: str = "openml",
    fidelity: float = 1.0,
) -> MetaFrames:
    """Read one flow's evaluations, tasks and meta-features (of one task type's tasks).

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open connection.
    flow : str
        A flow key, OpenML flow id or algorithm name resolving to exactly one flow.
    metric : str, optional
        The metric to read; by default the flow's most evaluated metric (on
        the tasks of ``task_type``).
    task_type : str, optional
        Only tasks of this task type (``"classification"``, ``"regression"``);
        every task by default.
    computed_by : str
        Whose meta-features to read (``"openml"``: OpenML's qualities).
    fidelity : float
        Only evaluations at this fidelity are read (1.0 = full budget).

    Raises
    ------
    StoreError
        The flow is unknown or ambiguous, or has no evaluations of ``metric``
        (on tasks of ``task_type``).
    """
    flows = resolve_flow(con, flow)
    if len(flows) != 1:
        raise StoreError(
            f"flow {flow!r} matches {flows or 'nothing'} in the knowledge base; name one flow"
        )
    flow_id = flows[0]
    metrics = list_flow_metrics(con, flow_id, task_type)
    if metric is None and len(metrics):
        metric = str(metrics["metric"].iloc[0])
    chosen = metrics[metrics["metric"] == metric]
    if chosen.empty:
        on = "" if task_type is None else f" on {task_type} tasks"
        what = "no evaluations" if metric is None else f"no evaluations of metric {metric!r}"
        raise StoreError(f"flow {flow_id} has {what}{on}")
    direction = str(chosen["direction"].iloc[0])
    params = {"flow": flow_id, "metric": metric, "task_type": task_type}
    evaluations = con.execute(
        """
        SELECT e.task_id, e.config_id, any_value(c.params) AS params, avg(e.value) AS value
        FROM evaluations e JOIN configs c USING (config_id)
        WHERE c.flow_id = $flow AND e.metric = $metric AND e.fidelity = $fidelity
          AND e.value IS NOT NULL AND isfinite(e.value)
          AND ($task_type IS NULL
               OR e.task_id IN (SELECT task_id FROM tasks WHERE task_type = $task_type))
        GROUP BY e.task_id, e.config_id
        ORDER BY e.task_id, e.config_id
        """,
        {**params, "fidelity": fidelity},
    ).df()
    tasks = con.execute(
        """
        SELECT t.task_id, t.dataset_id, d.openml_dataset_id, d.content_hash,
               coalesce(t.name, d.name) AS name
        FROM tasks t LEFT JOIN datasets d USING (dataset_id)
        WHERE ($task_type IS NULL OR t.task_type = $task_type) AND t.task_id IN (
            SELECT DISTINCT e.task_id FROM evaluations e JOIN configs c USING (config_id)
            WHERE c.flow_id = $flow AND e.metric = $metric
        )
        ORDER BY t.task_id
        """,
        params,
    ).df()
    meta_features = con.execute(
        """
        SELECT m.dataset_id, m.name, m.value FROM meta_features m
        WHERE m.computed_by = $by AND m.value IS NOT NULL
          AND m.dataset_id IN (SELECT dataset_id FROM tasks WHERE task_id IN (
              SELECT DISTINCT e.task_id FROM evaluations e JOIN configs c USING (config_id)
              WHERE c.flow_id = $flow AND e.metric = $metric)
              AND ($task_type IS NULL OR task_type = $task_type))
        ORDER BY m.dataset_id, m.name
        """,
        {**params, "by": computed_by},
    ).df()
    return MetaFrames(flow_id, str(metric), direction, evaluations, tasks, meta_features)


def get_task_meta_features(
    con: duckdb.DuckDBPyConnection, task_id: str, computed_by: str = "openml"
) -> dict[str, float]:
    """Return a task's dataset meta-features as ``{name: value}`` (missing values left out)."""
    rows = con.execute(
        """
        SELECT m.name, m.value FROM meta_features m JOIN tasks t USING (dataset_id)
        WHERE t.task_id = $task AND m.computed_by = $by AND m.value IS NOT NULL
        ORDER BY m.name
        """,
        {"task": task_id, "by": computed_by},
    ).fetchall()
    return {str(name): float(value) for name, value in rows}


def get_task_dataset(con: duckdb.DuckDBPyConnection, task_id: str) -> pd.DataFrame:
    """Return one task's row: the columns of :attr:`MetaFrames.tasks`, and its task_type."""
    return con.execute(
        """
        SELECT t.task_id, t.dataset_id, d.openml_dataset_id, d.content_hash,
               coalesce(t.name, d.name) AS name, t.task_type
        FROM tasks t LEFT JOIN datasets d USING (dataset_id)
        WHERE t.task_id = $task
        """,
        {"task": task_id},
    ).df()
