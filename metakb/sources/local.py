"""The ``local`` source: a user's table and the trials of searches on it, written back.

What a search (``metakb search``) or the quickstart's own evaluations leave in
the knowledge base:

* dataset ``local:<content hash>`` (:func:`metakb.datasets.kb_dataset_id`) and its
  meta-features;
* task ``local:<content hash[:16]>:<target>`` (:func:`local_task_id`);
* the algorithm's flow, and configurations under the flow's own parameter
  names with the flow's constants
  (:meth:`~metakb.spaces.SearchSpace.to_flow_params`), so a setting is the
  same ``configs`` row as in the published runs;
* evaluations with ``source='local'`` and a provenance saying which search
  (``search:<search id>``) or job (``quickstart:<seed>``) made them.

Every write is an upsert on natural keys: a rerun or a resume adds nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from metakb.configs import canonical_json, config_id
from metakb.datasets import Table, kb_dataset_id
from metakb.store import (
    Configs,
    Datasets,
    Evaluations,
    Flows,
    MetaFeatures,
    Store,
    Tasks,
    put_configs,
    put_datasets,
    put_evaluations,
    put_flows,
    put_meta_features,
    put_tasks,
    transaction,
)

if TYPE_CHECKING:  # records and spaces arrive as objects; nothing here builds them
    from metakb.search import TrialRecord
    from metakb.spaces import SearchSpace

SOURCE = "local"

KB_METRICS: dict[str, tuple[str, float]] = {
    "accuracy": ("predictive_accuracy", 1.0),
    "roc_auc": ("area_under_roc_curve", 1.0),
    "roc_auc_ovr": ("area_under_roc_curve", 1.0),
    "neg_rmse": ("root_mean_squared_error", -1.0),
    "r2": ("r2", 1.0),
}
"""The CV objective's metric -> (knowledge-base metric, sign turning the score into its value)."""

__all__ = [
    "KB_METRICS",
    "SOURCE",
    "flow_rows",
    "local_task_id",
    "register_table",
    "table_rows",
    "trial_rows",
    "write_trials",
]


def local_task_id(table: Table) -> str:
    """Return the knowledge-base key of a search task: ``local:<hash[:16]>:<target>``."""
    return f"local:{table.content_hash[:16]}:{table.target}"


def flow_rows(space: SearchSpace) -> Flows:
    """Return the ``flows`` row of a space's flow (the first of its flow ids)."""
    flow_id = space.flow_ids[0]
    return Flows(
        flow_id=flow_id,
        openml_flow_id=int(flow_id.split(":")[1]) if flow_id.startswith("openml:") else None,
        name=space.estimator,
        algorithm=space.name,
        parameters=[list(space.to_flow_params(space.default()))],
        source=SOURCE,
    )


def table_rows(
    table: Table, metric: str, openml_dataset_id: int | None = None
) -> tuple[Datasets, Tasks]:
    """Return the ``datasets`` and ``tasks`` rows of a user's table searched for ``metric``.

    ``openml_dataset_id`` records the OpenML dataset the table is a copy of,
    when known (a manifest's), so benchmarks group it with that dataset's tasks.

    Raises
    ------
    KeyError
        When ``metric`` is not one of :data:`KB_METRICS`.
    """
    dataset_id = kb_dataset_id(table)
    classify = table.task_type == "classification"
    dataset = Datasets(
        dataset_id=dataset_id,
        openml_dataset_id=[openml_dataset_id],
        name=table.name,
        task_type=table.task_type,
        n_rows=len(table.X),
        n_features=table.X.shape[1],
        n_classes=[table.y.nunique() if classify else None],
        target=table.target,
        file_path=[table.path],
        content_hash=table.content_hash,
        source=SOURCE,
    )
    task = Tasks(
        task_id=local_task_id(table),
        dataset_id=dataset_id,
        name=table.name,
        task_type=table.task_type,
        target=table.target,
        estimation_procedure="stratified k-fold CV" if classify else "k-fold CV",
        metric=KB_METRICS[metric][0],
        source=SOURCE,
    )
    return dataset, task


def register_table(
    store: Store,
    table: Table,
    meta_features: MetaFeatures,
    space: SearchSpace,
    metric: str,
    openml_dataset_id: int | None = None,
) -> tuple[str, str]:
    """Write the table's dataset, task, flow and meta-feature rows (idempotent).

    Parameters
    ----------
    store : Store
        The knowledge base.
    table : Table
        The user's loaded table.
    meta_features : MetaFeatures
        Its meta-features (:func:`metakb.metafeatures.result_rows`).
    space : SearchSpace
        The algorithm searched; its flow is written.
    metric : str
        The CV objective's metric, a key of :data:`KB_METRICS`.

    Returns
    -------
    (str, str)
        The dataset and task keys.
    """
    dataset, task = table_rows(table, metric, openml_dataset_id)
    with store.write() as con, transaction(con):
        put_datasets(con, dataset)
        put_tasks(con, task)
        put_flows(con, flow_rows(space))
        if len(meta_features):
            put_meta_features(con, meta_features)
    return kb_dataset_id(table), local_task_id(table)


def trial_rows(
    records: Sequence[TrialRecord],
    *,
    space: SearchSpace,
    task_id: str,
    metric: str,
    provenance: str,
    folds: Sequence[Sequence[float]] | None = None,
) -> tuple[Configs, Evaluations]:
    """Return ``configs`` and ``evaluations`` rows for finished trials (failed ones too, null).

    Configurations are stored with the flow's constants under the flow's
    parameter names, so their ``config_id`` is the published runs' one.
    ``folds`` holds each trial's per-fold scores (stored as the metric's values).
    """
    flow_id = space.flow_ids[0]
    kb_metric, sign = KB_METRICS[metric]
    params = [space.to_flow_params(record.config) for record in records]
    ids = [config_id(flow_id, p) for p in params]
    configs = Configs(config_id=ids, flow_id=flow_id, params=[canonical_json(p) for p in params])
    evaluations = Evaluations(
        task_id=task_id,
        config_id=ids,
        metric=kb_metric,
        value=[None if r.score is None else sign * r.score for r in records],
        fidelity=[r.fidelity for r in records],
        runtime_s=[r.seconds for r in records],
        error=[r.error for r in records],
        fold_values=None
        if folds is None
        else [json.dumps([sign * v for v in f]) if f else None for f in folds],
        source=SOURCE,
        provenance=provenance,
    )
    return configs, evaluations


def write_trials(
    store: Store,
    records: Sequence[TrialRecord],
    *,
    space: SearchSpace,
    task_id: str,
    metric: str,
    provenance: str,
    folds: Sequence[Sequence[float]] | None = None,
) -> int:
    """Upsert finished trials in one short write transaction; return evaluations added.

    Parameters
    ----------
    store : Store
        The knowledge base.
    records : sequence of TrialRecord
        Finished trials, failed ones included (stored without a value);
        skipped ones (never evaluated, ``status='skipped'``) are left out.
    space : SearchSpace
        The space the configurations come from.
    task_id : str
        The task, as returned by :func:`register_table`.
    metric : str
        The CV objective's metric, a key of :data:`KB_METRICS`.
    provenance : str
        What made the trials (``search:<id>``, ``quickstart:<seed>``, ``sweep:<design>``).
    folds : sequence of sequences of float, optional
        Each trial's per-fold scores.
    """
    if folds is not None:
        folds = [f for r, f in zip(records, folds, strict=True) if r.status != "skipped"]
    records = [r for r in records if r.status != "skipped"]
    if not records:
        return 0
    configs, evaluations = trial_rows(
        records, space=space, task_id=task_id, metric=metric, provenance=provenance, folds=folds
    )
    with store.write() as con, transaction(con):
        put_configs(con, configs)
        return put_evaluations(con, evaluations)
