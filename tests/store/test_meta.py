"""load_meta_frames: one flow's runs, of every task or of one task type's tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from metakb.errors import StoreError
from metakb.sources.published import import_published
from metakb.store import Store, get_task_dataset, list_flow_metrics, load_meta_frames


@pytest.fixture
def kb(tiny_data: Path, store: Store) -> Store:
    # TabRepo's LightGBM runs: task 3 is classification, task 2280 regression.
    import_published(store, tiny_data)
    return store


def test_meta_frames_keep_the_tasks_of_one_task_type(kb: Store) -> None:
    with kb.read() as con:
        every = load_meta_frames(con, "tabrepo:lightgbm")
        classification = load_meta_frames(con, "tabrepo:lightgbm", task_type="classification")
        regression = load_meta_frames(con, "tabrepo:lightgbm", task_type="regression")
        metrics = list_flow_metrics(con, "tabrepo:lightgbm", "regression")
    assert set(every.tasks["task_id"]) == {"openml:3", "openml:2280"}
    assert list(classification.tasks["task_id"]) == ["openml:3"]
    assert list(regression.tasks["task_id"]) == ["openml:2280"]
    assert set(regression.evaluations["task_id"]) == {"openml:2280"}
    assert len(regression.evaluations) == 3
    assert regression.metric == every.metric == "metric_error"
    assert list(metrics["tasks"]) == [1]
    # Meta-features only of the kept tasks' datasets.
    assert set(regression.meta_features["dataset_id"]) <= {"openml:197"}
    assert "openml:3" not in set(regression.meta_features["dataset_id"])


def test_a_task_type_without_runs_is_a_store_error(kb: Store) -> None:
    with kb.read() as con, pytest.raises(StoreError, match="no evaluations on regression tasks"):
        load_meta_frames(con, "openml:6969", task_type="regression")


def test_the_task_row_says_its_task_type(kb: Store) -> None:
    with kb.read() as con:
        row = get_task_dataset(con, "openml:2280")
    assert list(row["task_type"]) == ["regression"]


def test_each_task_is_read_in_its_own_metric_oriented_when_they_differ(tmp_path: Path) -> None:
    from metakb.store import (
        Configs,
        Evaluations,
        Flows,
        MetaFeatures,
        Store,
        Tasks,
        load_meta_frames,
        put_configs,
        put_evaluations,
        put_flows,
        put_meta_features,
        put_tasks,
        transaction,
    )

    store = Store(tmp_path / "kb.duckdb")
    with store.write() as con, transaction(con):
        put_flows(con, Flows(flow_id="f", name="m", algorithm="lightgbm", source="t"))
        put_configs(con, Configs(config_id=["a", "b"], flow_id="f", params=["{}", "{}"]))
        put_tasks(
            con,
            Tasks(
                task_id=["err", "auc"],
                dataset_id=["d1", "d2"],
                task_type="classification",
                metric=["metric_error", "area_under_roc_curve"],
                source="t",
            ),
        )
        put_evaluations(
            con,
            Evaluations(
                task_id=["err", "err", "auc", "auc", "auc"],
                config_id=["a", "b", "a", "b", "a"],
                metric=["metric_error"] * 2 + ["area_under_roc_curve"] * 2 + ["metric_error"],
                value=[0.2, 0.1, 0.7, 0.9, 0.5],
                source="t",
                provenance="p",
            ),
        )
        put_meta_features(
            con,
            MetaFeatures(
                dataset_id=["d1", "d1", "d2"],
                name=["q", "q", "q"],
                value=[1.0, 5.0, 2.0],
                computed_by=["openml", "metakb", "metakb"],
            ),
        )
    with store.read() as con:
        frames = load_meta_frames(con, "f")
        only = load_meta_frames(con, "f", "metric_error")
    values = {(r.task_id, r.config_id): r.value for r in frames.evaluations.itertuples()}
    # Task "auc" is read in its declared AUC (its stray error row is not used), "err" in
    # its error, negated: higher is better in both.
    assert values == {("err", "a"): -0.2, ("err", "b"): -0.1, ("auc", "a"): 0.7, ("auc", "b"): 0.9}
    assert (frames.metric, frames.direction) == ("area_under_roc_curve+metric_error", "max")
    # One metric asked for: as stored, in its own direction.
    assert (only.metric, only.direction) == ("metric_error", "min")
    assert set(only.evaluations.task_id) == {"err", "auc"} and only.evaluations.value.max() == 0.5
    # OpenML's qualities where a dataset has them, metakb's own for the others.
    features = {(r.dataset_id, r.value) for r in frames.meta_features.itertuples()}
    assert features == {("d1", 1.0), ("d2", 2.0)}
