"""Read the tables a meta-model is trained on: one flow's evaluations, tasks and meta-features."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from metakb.errors import StoreError
from metakb.store._read import resolve_flow

LOCAL_COMPUTED_BY = "metakb"
"""``meta_features.computed_by`` of metakb's own extractor (`metakb.metafeatures`)."""


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
        dataset_id, name, value of those tasks' datasets (one ``computed_by``
        per dataset: OpenML's qualities, else metakb's own).
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
    fallback_computed_by: str = LOCAL_COMPUTED_BY,
    fidelity: float = 1.0,
) -> MetaFrames:
    """Read one flow's evaluations, tasks and meta-features (of one task type's tasks).

    Without ``metric``, every task is read in its own metric: the task's
    declared one (``tasks.metric``) when it was evaluated in it, else the
    flow's most evaluated metric it has. So metakb's own sweeps (ROC AUC,
    RMSE) and the published runs (TabRepo's error, OpenML's accuracy) train
    one model together. When the tasks' metrics differ, every value is
    oriented so that higher is better (``metric`` is then the sorted metrics
    joined by ``+`` and ``direction`` ``"max"``); models normalize per task.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open connection.
    flow : str
        A flow key, OpenML flow id or algorithm name resolving to exactly one flow.
    metric : str, optional
        The one metric to read (tasks without it are left out).
    task_type : str, optional
        Only tasks of this task type (``"classification"``, ``"regression"``);
        every task by default.
    computed_by : str
        Whose meta-features to read (``"openml"``: OpenML's qualities).
    fallback_computed_by : str
        Whose meta-features a dataset without any of ``computed_by`` gets
        (``"metakb"``: computed locally, as for the sweep's tables).
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
    if metric is not None:
        metrics = metrics[metrics["metric"] == metric]
    if metrics.empty:
        on = "" if task_type is None else f" on {task_type} tasks"
        what = "no evaluations" if metric is None else f"no evaluations of metric {metric!r}"
        raise StoreError(f"flow {flow_id} has {what}{on}")
    chosen = _task_metrics(con, flow_id, metrics, task_type, fidelity)
    used = sorted(set(chosen["metric"]))
    directions = dict(zip(metrics["metric"], metrics["direction"], strict=True))
    mixed = len(used) > 1
    params = {
        "flow": flow_id,
        "fidelity": fidelity,
        "tasks": chosen["task_id"].tolist(),
        "metrics": chosen["metric"].tolist(),
        "orient": mixed,
    }
    evaluations = con.execute(
        """
        WITH chosen AS (SELECT unnest($tasks) AS task_id, unnest($metrics) AS metric)
        SELECT e.task_id, e.config_id, any_value(c.params) AS params,
               -- Mixed metrics: minimized ones are negated, so higher is better everywhere.
               avg(CASE WHEN $orient AND m.direction = 'min' THEN -e.value ELSE e.value END)
                   AS value
        FROM evaluations e JOIN configs c USING (config_id) JOIN chosen USING (task_id, metric)
        LEFT JOIN metrics m USING (metric)
        WHERE c.flow_id = $flow AND e.fidelity = $fidelity
          AND e.value IS NOT NULL AND isfinite(e.value)
        GROUP BY e.task_id, e.config_id
        ORDER BY e.task_id, e.config_id
        """,
        params,
    ).df()
    tasks = con.execute(
        """
        SELECT t.task_id, t.dataset_id, d.openml_dataset_id, d.content_hash,
               coalesce(t.name, d.name) AS name
        FROM tasks t LEFT JOIN datasets d USING (dataset_id)
        WHERE list_contains($tasks, t.task_id)
        ORDER BY t.task_id
        """,
        {"tasks": params["tasks"]},
    ).df()
    meta_features = con.execute(
        """
        WITH wanted AS (
            SELECT DISTINCT dataset_id FROM tasks WHERE list_contains($tasks, task_id)
        )
        SELECT m.dataset_id, m.name, m.value FROM meta_features m JOIN wanted USING (dataset_id)
        WHERE m.value IS NOT NULL AND (
            m.computed_by = $by
            OR (m.computed_by = $fallback AND NOT EXISTS (
                SELECT 1 FROM meta_features o
                WHERE o.dataset_id = m.dataset_id AND o.computed_by = $by)))
        ORDER BY m.dataset_id, m.name
        """,
        {"tasks": params["tasks"], "by": computed_by, "fallback": fallback_computed_by},
    ).df()
    if mixed:
        return MetaFrames(flow_id, "+".join(used), "max", evaluations, tasks, meta_features)
    return MetaFrames(flow_id, used[0], directions[used[0]], evaluations, tasks, meta_features)


def _task_metrics(
    con: duckdb.DuckDBPyConnection,
    flow_id: str,
    metrics: pd.DataFrame,
    task_type: str | None,
    fidelity: float,
) -> pd.DataFrame:
    """Return task_id, metric: each task's declared metric if evaluated, else its most used."""
    frame = con.execute(
        """
        SELECT DISTINCT e.task_id, e.metric, t.metric AS declared
        FROM evaluations e JOIN configs c USING (config_id) LEFT JOIN tasks t USING (task_id)
        WHERE c.flow_id = $flow AND e.fidelity = $fidelity
          AND e.value IS NOT NULL AND isfinite(e.value)
          AND list_contains($metrics, e.metric)
          AND ($task_type IS NULL OR t.task_type = $task_type)
        """,
        {
            "flow": flow_id,
            "fidelity": fidelity,
            "metrics": metrics["metric"].tolist(),
            "task_type": task_type,
        },
    ).df()
    rank = {m: i for i, m in enumerate(metrics["metric"])}  # the flow's most evaluated first
    frame["order"] = [
        -1 if metric == declared else rank[metric]
        for metric, declared in zip(frame["metric"], frame["declared"], strict=True)
    ]
    best = frame.sort_values(["task_id", "order"]).drop_duplicates("task_id")
    return best[["task_id", "metric"]].sort_values("task_id").reset_index(drop=True)


def get_fit_times(
    con: duckdb.DuckDBPyConnection,
    flow: str,
    *,
    task_type: str | None = None,
    fidelity: float = 1.0,
) -> pd.DataFrame:
    """Return the stored fit times of one flow's configurations: the data a cost estimate reads.

    One row per task and configuration evaluated at ``fidelity`` with a
    runtime (TabRepo's training times, metakb's sweeps and searches; OpenML's
    runs when ingested with one): task_id, params (canonical JSON),
    runtime_s (the median over the rows stored for it, one per metric or
    repetition). Empty when nothing has a runtime.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        An open connection.
    flow : str
        A flow key, OpenML flow id or algorithm name.
    task_type : str, optional
        Only tasks of this task type.
    fidelity : float
        Only evaluations at this fidelity (1.0 = full budget).
    """
    return con.execute(
        """
        SELECT e.task_id, any_value(c.params) AS params, median(e.runtime_s) AS runtime_s
        FROM evaluations e JOIN configs c USING (config_id) LEFT JOIN tasks t USING (task_id)
        WHERE list_contains($flows, c.flow_id) AND e.fidelity = $fidelity
          AND e.runtime_s > 0 AND isfinite(e.runtime_s)
          AND ($task_type IS NULL OR t.task_type = $task_type)
        GROUP BY e.task_id, e.config_id
        ORDER BY e.task_id, e.config_id
        """,
        {"flows": resolve_flow(con, flow), "fidelity": fidelity, "task_type": task_type},
    ).df()


def get_task_meta_features(
    con: duckdb.DuckDBPyConnection,
    task_id: str,
    computed_by: str = "openml",
    fallback_computed_by: str = LOCAL_COMPUTED_BY,
) -> dict[str, float]:
    """Return a task's dataset meta-features as ``{name: value}`` (missing values left out).

    A dataset without any of ``computed_by`` gets ``fallback_computed_by``'s
    (as :func:`load_meta_frames` does).
    """
    rows = con.execute(
        """
        SELECT m.computed_by, m.name, m.value FROM meta_features m JOIN tasks t USING (dataset_id)
        WHERE t.task_id = $task AND m.computed_by IN ($by, $fallback) AND m.value IS NOT NULL
        ORDER BY m.name
        """,
        {"task": task_id, "by": computed_by, "fallback": fallback_computed_by},
    ).fetchall()
    source = computed_by if any(by == computed_by for by, _, _ in rows) else fallback_computed_by
    return {str(name): float(value) for by, name, value in rows if by == source}


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
