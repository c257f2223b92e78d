"""Contract tests run over every entry of WARM_STARTERS, and of every ability it declares."""

import numpy as np
import pytest

from metakb.configs import canonical_json
from metakb.models import (
    WARM_STARTERS,
    AdaptiveWarmStarter,
    DefaultAwareWarmStarter,
    PredictiveWarmStarter,
    TaskQuery,
    WarmStarter,
)
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


ABILITIES = (PredictiveWarmStarter, AdaptiveWarmStarter, DefaultAwareWarmStarter)
"""The optional abilities a warm starter may declare (by subclassing the protocol)."""


def _declaring(ability):
    return [n for n in sorted(WARM_STARTERS) if ability in type(WARM_STARTERS[n](seed=0)).__mro__]


PREDICTIVE = _declaring(PredictiveWarmStarter)
ADAPTIVE = _declaring(AdaptiveWarmStarter)
DEFAULT_AWARE = _declaring(DefaultAwareWarmStarter)


@pytest.mark.parametrize("name", sorted(WARM_STARTERS))
def test_an_ability_is_had_exactly_when_declared(name, dense):
    """isinstance only checks method names: no model may have an ability's names by accident."""
    for model in (WARM_STARTERS[name](seed=0), WARM_STARTERS[name](seed=0).fit(dense)):
        for ability in ABILITIES:
            assert isinstance(model, ability) == (ability in type(model).__mro__), ability


def test_every_ability_is_offered_by_some_model():
    """The checks below run over the declaring models: none of them may be vacuous."""
    assert "transfer" in PREDICTIVE and "ensemble" in PREDICTIVE
    assert "transfer" in ADAPTIVE
    # Recommendations weigh every method's picks against the library default.
    assert sorted(WARM_STARTERS) == DEFAULT_AWARE


@pytest.mark.parametrize("name", PREDICTIVE)
@pytest.mark.parametrize("observations", [0, 3])
def test_predictive_models_predict_finite_moments_in_space(name, data, observations):
    train, held = data.split_out(data.task_ids[1])
    model = WARM_STARTERS[name](seed=0).fit(train)
    query = _query(data, held.task_id, observations=observations)
    configs = [*data.space.sample(7, seed=1), *held.configs[:3]]
    x = data.space.encode_many(configs)
    observed = (x[-3:], held.normalized[:3])
    for given in (None, observed):
        mean, std = model.predict(query, x, given)
        assert mean.shape == std.shape == (len(configs),)
        assert np.isfinite(mean).all() and np.isfinite(std).all() and (std >= 0).all()
        again = model.predict(query, x, given)
        assert np.array_equal(mean, again[0]) and np.array_equal(std, again[1])
    pool = model.candidate_pool()
    assert all(data.space.contains(c) for c in pool)
    assert model.candidate_pool() == pool  # fixed at fit


@pytest.mark.parametrize("name", ADAPTIVE)
@pytest.mark.parametrize("candidates", [False, True])
@pytest.mark.parametrize("n_observed", [1, 3])
def test_adaptive_picks_are_new_distinct_and_in_space(name, data, candidates, n_observed):
    train, held = data.split_out(data.task_ids[0])
    model = WARM_STARTERS[name](seed=0).fit(train)
    query = _query(data, held.task_id, candidates=candidates)
    first = model.recommend_given(query, n_observed, None)
    assert 1 <= len(first) <= n_observed
    # Observe the model's own first picks (so that excluding them is not free) plus
    # one of the task's configurations, with values higher-is-better.
    seen = [*(r.config for r in first), held.configs[-1]]
    x_obs = data.space.encode_many(seen)
    y_obs = np.linspace(0.2, 0.8, len(seen))
    picks = model.recommend_given(query, 5, (x_obs, y_obs))
    assert 1 <= len(picks) <= 5
    keys = [canonical_json(r.config) for r in picks]
    assert len(set(keys)) == len(keys)
    assert not set(keys) & {canonical_json(c) for c in seen}
    assert all(data.space.contains(r.config) for r in picks)
    if candidates:
        assert set(keys) <= {canonical_json(c) for c in held.configs}
    assert model.recommend_given(query, 5, (x_obs, y_obs)) == picks  # replayable


@pytest.mark.parametrize("name", DEFAULT_AWARE)
@pytest.mark.parametrize("general", [False, True])
def test_gain_evidence_has_a_column_per_config_and_weights_summing_to_one(name, data, general):
    train, held = data.split_out(data.task_ids[1])
    model = WARM_STARTERS[name](seed=0).fit(train)
    configs = [data.space.default(), *data.space.sample(4, seed=2)]
    evidence = model.gain_evidence(_query(data, held.task_id), configs, general=general)
    rows = len(evidence.weights)
    assert evidence.scores.shape == (rows, len(configs)) and len(evidence.sources) == rows
    assert np.isfinite(evidence.scores).all()
    assert (evidence.weights >= 0).all() and evidence.weights.sum() == pytest.approx(1.0)
    assert set(evidence.sources) <= set(train.task_ids)
    if general:  # every training task, equally weighted
        assert set(evidence.sources) == set(train.task_ids)
        assert evidence.basis == "training tasks"
    # The columns follow the configurations asked for.
    swapped = model.gain_evidence(_query(data, held.task_id), configs[::-1], general=general)
    assert np.allclose(swapped.scores, evidence.scores[:, ::-1])


@pytest.mark.parametrize("name", DEFAULT_AWARE)
def test_general_configs_are_at_most_n_distinct_in_space(name, data):
    model = WARM_STARTERS[name](seed=0).fit(data)
    for n in (1, 4):
        configs = model.general_configs(n)
        assert 1 <= len(configs) <= n
        assert len({canonical_json(c) for c in configs}) == len(configs)
        assert all(data.space.contains(c) for c in configs)
    assert model.general_configs(4)[:1] == model.general_configs(1)
