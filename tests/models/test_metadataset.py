import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from metakb.models import MetaDataset, TaskData, dataset_groups, greedy_portfolio
from metakb.models._synthetic import synthetic_meta_dataset
from metakb.spaces import SPACES


def test_split_out_removes_the_whole_dataset_group():
    data = synthetic_meta_dataset(n_tasks=6, n_configs=5)
    # tasks 0 and 1 share openml_dataset_id 0
    train, held = data.split_out("synthetic:0")
    assert held.task_id == "synthetic:0"
    assert "synthetic:1" not in train.task_ids
    assert train.n_tasks == 4
    assert train.meta_features.shape == (4, len(data.meta_feature_names))


def test_dataset_groups_join_by_openml_id_and_content_hash():
    tasks = pd.DataFrame(
        {
            "task_id": ["a", "b", "c", "d"],
            "dataset_id": ["openml:1", "task:7", "pmlb:x", "local:y"],
            "openml_dataset_id": [1, 1, None, None],
            "content_hash": [None, None, "h", "h"],
        }
    )
    groups = dataset_groups(tasks)
    assert groups["a"] == groups["b"]
    assert groups["c"] == groups["d"]
    assert groups["a"] != groups["c"]


def test_values_are_oriented_higher_is_better():
    space = SPACES["lightgbm"]
    configs = space.sample(3, seed=0)
    from metakb.models import build_meta_dataset

    data = build_meta_dataset(
        pd.DataFrame({"task_id": "t", "params": configs, "value": [0.3, 0.1, 0.2]}),
        pd.DataFrame({"task_id": ["t"], "dataset_id": ["d"]}),
        pd.DataFrame({"dataset_id": ["d"], "name": ["m"], "value": [1.0]}),
        space=space,
        flow_id="tabrepo:lightgbm",
        metric="metric_error",
        direction="min",
    )
    task = data.task("t")
    assert task.best(1) == [1]
    assert task.normalized.max() == 1.0 and task.normalized.min() == 0.0


def test_shape_validation_raises_value_error():
    space = SPACES["lightgbm"]
    configs = tuple(space.sample(2, seed=0))
    x = space.encode_many(configs)
    with pytest.raises(ValueError):
        TaskData("t", "g", ("a", "b"), configs, x, np.array([1.0]))
    with pytest.raises(ValueError):
        TaskData("t", "g", ("a", "a"), configs, x, np.array([1.0, 2.0]))
    task = TaskData("t", "g", ("a", "b"), configs, x, np.array([1.0, 2.0]))
    with pytest.raises(ValueError):
        MetaDataset(
            space, [task], np.zeros((2, 1)), ["m"], flow_id="f", metric="m", direction="max"
        )
    with pytest.raises(ValueError):
        MetaDataset(space, [task], np.zeros((1, 1)), ["m"], flow_id="f", metric="m", direction="up")
    with pytest.raises(ValueError):
        MetaDataset(
            SPACES["svc"], [task], np.zeros((1, 1)), ["m"], flow_id="f", metric="m", direction="max"
        )


def test_arrays_are_read_only():
    data = synthetic_meta_dataset(n_tasks=4, n_configs=3)
    with pytest.raises(ValueError):
        data.tasks[0].y[0] = 1.0
    with pytest.raises(ValueError):
        data.meta_features[0, 0] = 1.0


def test_shared_configs_detected():
    assert synthetic_meta_dataset(n_tasks=4, n_configs=3, shared=True).shared_configs() is not None
    assert synthetic_meta_dataset(n_tasks=4, n_configs=3, shared=False).shared_configs() is None


@settings(max_examples=50, deadline=None)
@given(arrays(float, st.tuples(st.integers(1, 6), st.integers(1, 8)), elements=st.floats(0, 1)))
def test_greedy_portfolio_regret_never_rises_with_k(scores):
    regrets = []
    for k in range(1, scores.shape[1] + 1):
        chosen = greedy_portfolio(scores, k)
        assert len(set(chosen)) == len(chosen) == k
        regrets.append(float((1 - scores[:, chosen].max(axis=1)).mean()))
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(regrets))


def test_feature_ranges_skip_unknown_values_and_names():
    data = synthetic_meta_dataset(n_tasks=4, n_configs=5)
    column = data.meta_feature_names.index("NumberOfInstances")
    matrix = data.meta_features.copy()
    matrix[0, column] = np.nan
    data = MetaDataset(
        data.space,
        data.tasks,
        matrix,
        data.meta_feature_names,
        flow_id=data.flow_id,
        metric=data.metric,
        direction=data.direction,
    )
    known = matrix[1:, column]
    assert data.feature_ranges(["NumberOfInstances", "NoSuchFeature"]) == {
        "NumberOfInstances": (float(known.min()), float(known.max()))
    }
