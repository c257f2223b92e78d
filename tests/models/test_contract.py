"""Contract tests run over every entry of WARM_STARTERS."""

import numpy as np
import pytest

from metakb.configs import canonical_json
from metakb.models import WARM_STARTERS, TaskQuery, WarmStarter
from metakb.models._synthetic import synthetic_meta_dataset


@pytest.fixture(scope="module")
def dense():
    return synthetic_meta_dataset(n_tasks=10, n_configs=24, shared=True)


@pytest.fixture(scope="module")
def sampled():
    return synthetic_meta_dataset(n_tasks=8, n_configs=24, shared=False, space="svc")


def _query(data, task_id, *, candidates=False, observations=0):
    task = data.task(task_id)
    obs = tuple((task.configs[i], float(task.y[i])) for i in range(observations))
    return TaskQuery(
        meta_features=data.meta_features_of(task_id),
        observations=obs,
        candidates=task.configs if candidates else None,
        task_id=task_id,
    )


@pytest.fixture(params=["dense", "sampled"])
def data(request, dense, sampled):
    return dense if request.param == "dense" else sampled


@pytest.mark.parametrize("name", sorted(WARM_STARTERS))
@pytest.mark.parametrize("k", [1, 3, 7])
@pytest.mark.parametrize("candidates", [False, True])
def test_at_most_k_distinct_in_space(name, data, k, candidates):
    train, held = data.split_out(data.task_ids[0])
    model = WARM_STARTERS[name](seed=0).fit(train)
    assert isinstance(model, WarmStarter)
    recs = model.recommend(_query(data, held.task_id, candidates=candidates), k)
    assert 1 <= len(recs) <= k
    keys = [canonical_json(r.config) for r in recs]
    assert len(set(keys)) == len(keys)
    for rec in recs:
        assert data.space.contains(rec.config)
        assert all(isinstance(t, str) for t in rec.source_tasks)
        assert set(rec.source_tasks) <= set(train.task_ids)
    if candidates:
        allowed = {canonical_json(c) for c in held.configs}
        assert set(keys) <= allowed


@pytest.mark.parametrize("name", sorted(WARM_STARTERS))
def test_same_seed_same_result(name, data):
    train, held = data.split_out(data.task_ids[-1])
    query = _query(data, held.task_id, observations=3)
    a = WARM_STARTERS[name](seed=3).fit(train).recommend(query, 5)
    b = WARM_STARTERS[name](seed=3).fit(train).recommend(query, 5)
    assert a == b


@pytest.mark.parametrize("name", sorted(WARM_STARTERS))
def test_fit_does_not_mutate_input(name, data):
    before = [(t.task_id, t.config_ids, t.configs, t.X.copy(), t.y.copy()) for t in data.tasks]
    meta = data.meta_features.copy()
    WARM_STARTERS[name](seed=0).fit(data)
    assert np.array_equal(data.meta_features, meta, equal_nan=True)
    for (tid, ids, configs, x, y), task in zip(before, data.tasks, strict=True):
        assert (tid, ids, configs) == (task.task_id, task.config_ids, task.configs)
        assert np.array_equal(task.X, x) and np.array_equal(task.y, y)


@pytest.mark.parametrize("name", sorted(WARM_STARTERS))
def test_held_out_task_never_leaks(name, dense):
    held_id = dense.task_ids[2]
    train, held = dense.split_out(held_id)
    assert held_id not in train.task_ids
    assert held.group not in {t.group for t in train.tasks}
    model = WARM_STARTERS[name](seed=0).fit(train)
    recs = model.recommend(_query(dense, held_id), 5)
    for rec in recs:
        assert held.group not in {dense.task(t).group for t in rec.source_tasks}


@pytest.mark.parametrize("name", sorted(WARM_STARTERS))
def test_invalid_k_raises(name, dense):
    model = WARM_STARTERS[name](seed=0).fit(dense)
    with pytest.raises(ValueError):
        model.recommend(_query(dense, dense.task_ids[0]), 0)
