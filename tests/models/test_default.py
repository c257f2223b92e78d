"""select_over_default on tiny knowledge bases whose gains over the default are known."""

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from metakb.configs import canonical_json
from metakb.kb import recommendations_json
from metakb.models import (
    WARM_STARTERS,
    KnnWarmStarter,
    MetaDataset,
    TaskQuery,
    build_meta_dataset,
    select_over_default,
)
from metakb.models._default import POOL
from metakb.spaces import ALGORITHMS, Params

SPACE = ALGORITHMS["lightgbm"].space
DEFAULT = SPACE.validate(ALGORITHMS["lightgbm"].library_config())
STAR = SPACE.validate(
    {
        "learning_rate": 0.02,
        "num_leaves": 120,
        "feature_fraction": 0.6,
        "min_data_in_leaf": 5,
        "extra_trees": True,
    }
)
RANDOM = SPACE.sample(12, seed=7)
CONFIGS = [DEFAULT, STAR, *RANDOM]
N_TASKS = 12


def _key(config: Params) -> str:
    return canonical_json(SPACE.validate(config))


def _meta_dataset(value: Callable[[int, int], float]) -> MetaDataset:
    """Every task evaluates ``CONFIGS``; ``value(task, j)`` is config ``j``'s value on it.

    Task ``t`` has ``f1 = t`` and ``1000 * (t + 1)`` instances, so tasks near in
    index are near in meta-feature space.
    """
    evaluations, tasks, metas = [], [], []
    for t in range(N_TASKS):
        tid = f"toy:{t}"
        evaluations += [
            {"task_id": tid, "params": c, "value": value(t, j)} for j, c in enumerate(CONFIGS)
        ]
        tasks.append({"task_id": tid, "dataset_id": f"d:{t}"})
        metas += [
            {"dataset_id": f"d:{t}", "name": "f1", "value": float(t)},
            {"dataset_id": f"d:{t}", "name": "NumberOfInstances", "value": 1000.0 * (t + 1)},
        ]
    return build_meta_dataset(
        pd.DataFrame(evaluations),
        pd.DataFrame(tasks),
        pd.DataFrame(metas),
        space=SPACE,
        flow_id=SPACE.flow_ids[0],
        metric="toy",
        direction="max",
    )


def _query(t: float = 5.0, instances: float = 6000.0) -> TaskQuery:
    return TaskQuery({"f1": t, "NumberOfInstances": instances})


def _dominated(t: int, j: int) -> float:
    # STAR beats the default by far on every task; random configurations are worse.
    rng = np.random.default_rng(100 * t + j)
    return {0: 0.5, 1: 0.95}.get(j, float(rng.uniform(0.0, 0.4)))


def _noisy(t: int, j: int) -> float:
    # Every configuration is the default +- 0.2, the sign alternating over tasks:
    # each beats it on half the tasks and loses on the other half.
    return 0.5 if j == 0 else 0.5 + (0.2 if (t + j) % 2 else -0.2)


@pytest.fixture(scope="module")
def dominated() -> MetaDataset:
    return _meta_dataset(_dominated)


@pytest.fixture(scope="module")
def noisy() -> MetaDataset:
    return _meta_dataset(_noisy)


@pytest.mark.parametrize("name", sorted(WARM_STARTERS))
def test_a_config_that_beats_the_default_everywhere_leads(name, dominated):
    model = WARM_STARTERS[name](seed=0).fit(dominated)
    recs = select_over_default(model, _query(), 3, default=DEFAULT, space=SPACE)
    top = recs[0]
    assert _key(top.config) == _key(STAR)
    assert not top.is_default
    assert top.predicted_gain is not None and top.gain_sd is not None
    assert top.predicted_gain > top.gain_sd >= 0
    assert top.reason is not None
    assert top.reason.startswith(f"predicted {top.predicted_gain:+.3f} ± {top.gain_sd:.3f}")
    assert "over the default from" in top.reason
    # The default stays a candidate, after what clears the bar.
    assert sum(r.is_default for r in recs) == 1


@pytest.mark.parametrize("name", sorted(WARM_STARTERS))
def test_configs_noisy_around_the_default_leave_it_first(name, noisy):
    model = WARM_STARTERS[name](seed=0).fit(noisy)
    recs = select_over_default(model, _query(), 4, default=DEFAULT, space=SPACE)
    first, *rest = recs
    assert first.is_default and _key(first.config) == _key(DEFAULT)
    assert (first.predicted_gain, first.gain_sd) == (0.0, 0.0)
    assert first.reason is not None and first.reason.startswith(
        "default: no configuration predicted to beat it by more than its uncertainty"
    )
    assert rest
    for rec in rest:
        assert rec.predicted_gain is not None and rec.gain_sd is not None
        assert rec.predicted_gain <= rec.gain_sd
        assert rec.reason is not None and rec.reason.endswith("ranked after the default")


def _local_or_general(t: int, j: int) -> float:
    # RANDOM[0] is excellent on the three largest tasks only and poor elsewhere;
    # RANDOM[1] is good on every task; the default is in between.
    if j == 2:
        return 1.0 if t >= N_TASKS - 3 else 0.0
    if j == 3:
        return 0.8
    return 0.5 if j == 0 else 0.1


@pytest.fixture(scope="module")
def local_or_general() -> MetaDataset:
    return _meta_dataset(_local_or_general)


def test_extrapolation_leans_on_the_general_configs(local_or_general):
    model = KnnWarmStarter(n_neighbors=3, seed=0).fit(local_or_general)
    query = _query(t=N_TASKS + 20, instances=1e7)  # beyond the largest task
    # Judged on its three nearest tasks, the local configuration wins.
    near = select_over_default(model, query, 3, default=DEFAULT, space=SPACE)
    assert _key(near[0].config) == _key(RANDOM[0])
    outside = ["NumberOfInstances 10,000,000 above the training range"]
    recs = select_over_default(model, query, 3, default=DEFAULT, space=SPACE, extrapolation=outside)
    assert _key(recs[0].config) == _key(RANDOM[1])
    assert _key(RANDOM[0]) not in {_key(r.config) for r in recs[:2]}
    for rec in recs:
        assert rec.reason is not None
        assert rec.reason.startswith(
            "extrapolating (NumberOfInstances 10,000,000 above the training range), "
            f"judged across all {N_TASKS} training tasks: "
        )


@pytest.mark.parametrize("name", sorted(WARM_STARTERS))
def test_extrapolating_every_method_leads_with_the_default_or_a_general_config(name, noisy):
    model = WARM_STARTERS[name](seed=0).fit(noisy)
    outside = ["NumberOfInstances 5 below the training range"]
    recs = select_over_default(
        model, _query(), 3, default=DEFAULT, space=SPACE, extrapolation=outside
    )
    general = {_key(c) for c in model.general_configs(POOL)}
    assert recs[0].is_default or _key(recs[0].config) in general
    assert all(r.reason is not None and r.reason.startswith("extrapolating (") for r in recs)
    assert recs[0].reason is not None and "default: no configuration" in recs[0].reason


@pytest.mark.parametrize("name", sorted(WARM_STARTERS))
def test_json_carries_gain_uncertainty_and_reason_for_every_recommendation(name, dominated):
    model = WARM_STARTERS[name](seed=0).fit(dominated)
    recs = select_over_default(model, _query(), 5, default=DEFAULT, space=SPACE)
    shown = recommendations_json(SPACE, recs)["recommendations"]
    assert len(shown) == len(recs) >= 2
    for entry in shown:
        assert isinstance(entry["predicted_gain"], float)
        assert isinstance(entry["gain_sd"], float) and entry["gain_sd"] >= 0
        assert isinstance(entry["reason"], str) and entry["reason"]
        assert isinstance(entry["is_default"], bool)
    assert [e["is_default"] for e in shown].count(True) == 1


def test_a_single_source_task_cannot_clear_the_bar(dominated):
    model = WARM_STARTERS["portfolio"](seed=0).fit(dominated.subset(["toy:0"]))
    (first,) = select_over_default(model, _query(), 1, default=DEFAULT, space=SPACE)
    assert first.is_default
    assert first.reason == "default: 1 training task is too few to tell a predicted gain from noise"


def test_smaller_k_is_a_prefix_and_observed_defaults_are_not_repeated(dominated):
    model = WARM_STARTERS["transfer"](seed=0).fit(dominated)
    long = select_over_default(model, _query(), POOL, default=DEFAULT, space=SPACE)
    assert select_over_default(model, _query(), 3, default=DEFAULT, space=SPACE) == long[:3]
    tried = TaskQuery(_query().meta_features, observations=((DEFAULT, 0.5), (RANDOM[5], 0.1)))
    recs = select_over_default(model, tried, 4, default=DEFAULT, space=SPACE)
    assert not any(r.is_default for r in recs)
    assert _key(DEFAULT) not in {_key(r.config) for r in recs}


def test_candidates_without_the_default_keep_it_out(dominated):
    model = WARM_STARTERS["knn"](seed=0).fit(dominated)
    only = TaskQuery(_query().meta_features, candidates=(STAR, *RANDOM[:3]))
    recs = select_over_default(model, only, 4, default=DEFAULT, space=SPACE)
    assert {_key(r.config) for r in recs} <= {_key(c) for c in only.candidates or ()}
    assert _key(recs[0].config) == _key(STAR)
