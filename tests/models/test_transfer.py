"""The transfer model's global surrogate, member weights and predictions."""

import pickle

import numpy as np
import pytest
from scipy.stats import spearmanr

from metakb.models import TaskQuery, TransferWarmStarter
from metakb.models._synthetic import synthetic_meta_dataset


@pytest.fixture(scope="module")
def data():
    return synthetic_meta_dataset(n_tasks=16, n_configs=40, shared=False, space="svc")


@pytest.fixture(scope="module")
def split(data):
    return data.split_out(data.task_ids[0])


def _query(data, held, observations=0):
    obs = tuple((held.configs[i], float(held.y[i])) for i in range(observations))
    return TaskQuery(data.meta_features_of(held.task_id), obs, task_id=held.task_id)


def test_global_surrogate_is_blended_into_every_member(data, split):
    train, held = split
    query = _query(data, held)
    model = TransferWarmStarter(global_weight=0.3, seed=0).fit(train)
    alone = TransferWarmStarter(global_weight=0.0, seed=0).fit(train)
    assert alone.global_ is None
    with pytest.raises(ValueError, match="global"):
        alone.global_predict(query, held.X)
    w = model.weights(query)
    assert len(w) == train.n_tasks and w.sum() == pytest.approx(1.0)
    mean, std = model.predict(query, held.X)
    mean0, std0 = alone.predict(query, held.X)
    g = model.global_predict(query, held.X)
    np.testing.assert_allclose(mean, 0.7 * mean0 + 0.3 * g)
    np.testing.assert_allclose(std, 0.7 * std0)


def test_global_surrogate_transfers_to_the_held_out_task(data, split):
    """On synthetic tasks whose optimum follows the meta-features, it ranks unseen configs."""
    train, held = split
    model = TransferWarmStarter(global_weight=0.5, seed=0).fit(train)
    pred = model.global_predict(_query(data, held), held.X)
    assert spearmanr(pred, held.y).statistic > 0.5


def test_predict_mean_and_spread(data, split):
    train, held = split
    model = TransferWarmStarter(global_weight=0.25, seed=0).fit(train)
    mean, std = model.predict(_query(data, held), held.X)
    assert mean.shape == std.shape == (len(held.y),)
    assert np.all((mean >= 0) & (mean <= 1)) and np.all(std >= 0)
    baseline = TransferWarmStarter(global_weight=0.0, seed=0).fit(train)
    mean0, _ = baseline.predict(_query(data, held), held.X)
    assert not np.allclose(mean, mean0)
    assert spearmanr(mean, held.y).statistic > 0.5


def test_pickle_round_trip_keeps_predictions(data, split):
    train, held = split
    model = TransferWarmStarter(seed=0).fit(train)
    loaded = pickle.loads(pickle.dumps(model))
    query = _query(data, held, observations=4)
    for a, b in zip(model.predict(query, held.X), loaded.predict(query, held.X), strict=True):
        np.testing.assert_allclose(a, b)


@pytest.mark.parametrize(
    "bad", [{"global_weight": 1.0}, {"global_weight": -0.1}, {"global_rows": 0}]
)
def test_invalid_global_settings_raise(data, bad):
    with pytest.raises(ValueError):
        TransferWarmStarter(**bad).fit(data)


def test_observations_given_encoded_weigh_like_the_querys_own(data, split):
    """`observed=(x, y)`, a search's view, weighs as the same observations in the query do."""
    train, held = split
    model = TransferWarmStarter(seed=0).fit(train)
    query = _query(data, held, observations=8)
    x, y = held.X[:8], held.y[:8] * (1.0 if train.direction == "max" else -1.0)
    np.testing.assert_allclose(model.weights(_query(data, held), (x, y)), model.weights(query))
    np.testing.assert_allclose(
        model.predict(_query(data, held), held.X, (x, y))[0], model.predict(query, held.X)[0]
    )


def test_ranking_weights_favour_members_that_order_the_observations(data, split):
    train, _ = split
    model = TransferWarmStarter(n_tasks=2, rank_bandwidth=0.5, seed=0).fit(train)
    y = np.array([0.1, 0.5, 0.9, 0.3])
    preds = np.vstack([y, -y, [0.1, 0.5, 0.9, 0.6], np.zeros(4)])
    w = model.ranking_weights(preds, y)
    assert w is not None and w[1] == w[3] == 0.0  # kept: the two that order best
    assert w[0] > w[2] > 0.0 and w.sum() == pytest.approx(1.0)
    assert model.ranking_weights(-preds[:1], y) is None  # nobody agrees: no weights
    assert model.ranking_weights(preds, np.ones(4)) is None  # nothing to agree on


def test_observations_continue_the_portfolio(data, split):
    """Seen configurations count as picked: never recommended again, and the next pick
    complements them (with one observation the weights are still the similarities, so the
    continuation is the static portfolio's next pick)."""
    train, held = split
    model = TransferWarmStarter(seed=0).fit(train)
    query = TaskQuery(data.meta_features_of(held.task_id), candidates=held.configs)
    static = model.recommend(query, 4)
    x = train.space.encode_many([static[0].config])
    nxt = model.recommend(query, 3, observed=(x, np.array([0.5])))
    assert [r.config for r in nxt] == [r.config for r in static[1:]]
    tried = [r.config for r in static[:3]]
    y = np.array([0.2, 0.9, 0.4])
    later = model.recommend(query, 10, observed=(train.space.encode_many(tried), y))
    assert len(later) == 10 and not any(r.config in tried for r in later)
    # The ranking kernel weighs past tasks by the observed order: other values, other picks.
    flipped = model.recommend(query, 10, observed=(train.space.encode_many(tried), -y))
    seen = train.space.encode_many(tried)
    assert not np.allclose(model.weights(query, (seen, y)), model.weights(query, (seen, -y)))
    assert [r.config for r in later] != [r.config for r in flipped]
