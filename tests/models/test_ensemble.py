"""Level-by-level fusion of the warm starters."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metakb.configs import canonical_json
from metakb.models import (
    BASE_WARM_STARTERS,
    WARM_STARTERS,
    EnsembleWarmStarter,
    PredictiveEnsembleWarmStarter,
    PredictiveWarmStarter,
    TaskQuery,
    make_ensemble,
)
from metakb.models._ensemble import fuse_by_level
from metakb.models._synthetic import synthetic_meta_dataset


@pytest.fixture(scope="module")
def data():
    return synthetic_meta_dataset(n_tasks=10, n_configs=24, shared=False, space="svc")


def _query(data, task_id, candidates=True):
    task = data.task(task_id)
    return TaskQuery(
        data.meta_features_of(task_id), candidates=task.configs if candidates else None
    )


# Members' lists: distinct picks each, drawn from a small pool so that they overlap.
member_lists = st.lists(
    st.lists(st.integers(0, 12), unique=True, max_size=10), min_size=1, max_size=5
)


@given(member_lists, st.integers(1, 12))
def test_fusion_takes_each_pick_from_its_level(lists, k):
    fused = fuse_by_level(lists, k)
    union = {key for picks in lists for key in picks}
    assert len(fused) == len(set(fused)) == min(k, len(union))
    for j, key in enumerate(fused, start=1):
        tops = [picks[:j] for picks in lists]
        level_j = [picks[j - 1] for picks in lists if len(picks) >= j]
        open_j = [c for c in level_j if c not in fused[: j - 1]]
        if open_j:
            # The j-th pick is some member's j-th pick: a pick only ranked
            # deeper by every member never displaces one; and it is the one
            # in most members' top j.
            assert key in open_j
            support = [sum(c in top for top in tops) for c in open_j]
            assert sum(key in top for top in tops) == max(support)
        elif any(len(picks) >= j for picks in lists):
            assert any(key in top for top in tops)
    if fused and lists[0]:
        # At k = 1: some member's first pick, the most trusted on a tie.
        firsts = [picks[0] for picks in lists if picks]
        assert fused[0] in firsts
        if len(set(firsts)) == len(firsts):
            assert fused[0] == lists[0][0]


@given(member_lists, st.integers(1, 10), st.integers(0, 5))
def test_fusion_is_prefix_consistent(lists, k, more):
    # Members are greedy: asked for fewer, they return a prefix of their longer list.
    short = fuse_by_level([picks[:k] for picks in lists], k)
    long = fuse_by_level([picks[: k + more] for picks in lists], k + more)
    assert short == long[:k]


def test_first_pick_beats_a_shared_hedge():
    # Reciprocal-rank fusion would put "h", every member's second pick, first.
    lists = [["a", "h", "x"], ["b", "h", "y"], ["c", "h", "z"]]
    assert fuse_by_level(lists, 3) == ["a", "h", "x"]
    # Agreement among first picks orders them; the trusted member breaks ties.
    assert fuse_by_level([["a", "x"], ["h", "y"], ["h", "a"]], 3) == ["h", "a", "x"]
    assert fuse_by_level([["a", "h"], ["h", "b"], ["c", "h"]], 2) == ["a", "h"]


@pytest.mark.parametrize("name", sorted(BASE_WARM_STARTERS))
def test_one_member_keeps_its_order(data, name):
    train, held = data.split_out(data.task_ids[0])
    query = _query(data, held.task_id)
    alone = BASE_WARM_STARTERS[name](seed=0).fit(train).recommend(query, 5)
    fused = EnsembleWarmStarter(members=(name,), seed=0).fit(train).recommend(query, 5)
    assert [r.config for r in fused] == [r.config for r in alone]
    assert [r.source_tasks for r in fused] == [r.source_tasks for r in alone]


def test_fusion_of_members_and_merged_sources(data):
    train, held = data.split_out(data.task_ids[2])
    query = _query(data, held.task_id)
    members = ("transfer", "knn", "cf")
    model = make_ensemble(members=members, seed=0).fit(train)
    assert isinstance(model, PredictiveWarmStarter)
    recs = model.recommend(query, 4)
    lists = [model.members_[n].recommend(query, 4) for n in members]
    keys = [[canonical_json(r.config) for r in recs_m] for recs_m in lists]
    assert [canonical_json(r.config) for r in recs] == fuse_by_level(keys, 4)
    assert [r.config for r in model.recommend(query, 2)] == [r.config for r in recs[:2]]
    for rec in recs:
        key = canonical_json(rec.config)
        proposed = [r for recs_m in lists for r in recs_m if canonical_json(r.config) == key]
        assert rec.source_tasks == tuple(dict.fromkeys(t for r in proposed for t in r.source_tasks))
        # The first score a member gave it: transfer's where transfer proposed it.
        scores = [r.predicted_score for r in proposed if r.predicted_score is not None]
        assert rec.predicted_score == (scores[0] if scores else None)
    # Bayesian optimization gets transfer's surrogate and pool.
    x = data.space.encode_many(held.configs)
    transfer = model.members_["transfer"]
    observed = (x[:3], held.normalized[:3])
    for a, b in zip(model.predict(query, x), transfer.predict(query, x), strict=True):
        np.testing.assert_allclose(a, b)
    for a, b in zip(
        model.predict(query, x, observed), transfer.predict(query, x, observed), strict=True
    ):
        np.testing.assert_allclose(a, b)
    assert model.candidate_pool() == transfer.candidate_pool()


def test_only_an_ensemble_with_a_predicting_member_predicts(data):
    """The registry's ensemble declares prediction exactly when one of its members can."""
    assert type(WARM_STARTERS["ensemble"](seed=0)) is PredictiveEnsembleWarmStarter
    assert type(make_ensemble(members=("knn", "transfer"))) is PredictiveEnsembleWarmStarter
    assert type(make_ensemble(members=("knn", "cf"))) is EnsembleWarmStarter
    model = make_ensemble(members=("knn",), seed=0).fit(data)
    assert type(model) is EnsembleWarmStarter
    assert not isinstance(model, PredictiveWarmStarter)
    query = _query(data, data.task_ids[0], candidates=False)
    assert all(r.predicted_score is None for r in model.recommend(query, 3))
    with pytest.raises(ValueError, match="predicts"):
        PredictiveEnsembleWarmStarter(members=("knn",), seed=0).fit(data)


@pytest.mark.parametrize("bad", [{"members": ()}, {"members": ("ensemble",)}])
@pytest.mark.parametrize("factory", [EnsembleWarmStarter, make_ensemble])
def test_invalid_settings_raise(data, bad, factory):
    with pytest.raises(ValueError):
        factory(**bad).fit(data)


def test_fusion_rejects_bad_k():
    with pytest.raises(ValueError):
        fuse_by_level([["a"]], 0)
