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
