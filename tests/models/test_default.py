"""select_over_default on tiny knowledge bases whose gains over the default are known."""

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pytest

from metakb.configs import canonical_json
from metakb.kb import recommendations_json
from metakb.models import (
    WARM_STARTERS,
    DefaultAwareWarmStarter,
    GainEvidence,
    KnnWarmStarter,
    MetaDataset,
    Recommendation,
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
LOCAL = SPACE.validate(
    {
        "learning_rate": 0.008,
        "num_leaves": 200,
        "feature_fraction": 0.9,
        "min_data_in_leaf": 40,
        "extra_trees": False,
    }
)
GENERAL = SPACE.validate(
    {
        "learning_rate": 0.04,
        "num_leaves": 20,
        "feature_fraction": 0.45,
        "min_data_in_leaf": 50,
        "extra_trees": True,
    }
)
N_TASKS = 12


def _near(config: Params, n: int = 3) -> list[Params]:
    """Return ``config`` and ``n`` configurations next to it (a region a surrogate can resolve)."""
    out = [config]
    for i in range(1, n + 1):
        out.append(
            SPACE.validate(
                {
                    **config,
                    "learning_rate": min(0.1, config["learning_rate"] * (1 - 0.03 * i)),
                    "num_leaves": config["num_leaves"] + i,
                    "min_data_in_leaf": config["min_data_in_leaf"] - i,
                }
            )
        )
    return out


# The default's neighbours score below it (the "near_default" group), so that it is a
# peak of its own and not a plateau a neighbour could edge out.
GROUPS = {"default": [DEFAULT], "near_default": _near(DEFAULT)[1:], "star": _near(STAR)}
GROUPS["local"] = _near(LOCAL)
GROUPS["general"] = _near(GENERAL)
GROUPS["random"] = SPACE.sample(8, seed=7)
CONFIGS = [(group, c) for group, configs in GROUPS.items() for c in configs]


def _key(config: Params) -> str:
    return canonical_json(SPACE.validate(config))


def _meta_dataset(value: Callable[[int, str], float]) -> MetaDataset:
    """Every task evaluates ``CONFIGS``; ``value(task, group)`` is a configuration's value.

    Random configurations score a task-dependent value below 0.4, the
    default's neighbours 0.1 less than the default. Task ``t``
    has ``f1 = t`` and ``1000 * (t + 1)`` instances, so tasks near in index
    are near in meta-feature space.
    """
    evaluations, tasks, metas = [], [], []
    for t in range(N_TASKS):
        tid = f"toy:{t}"
        rng = np.random.default_rng(t)
        for group, config in CONFIGS:
            if group == "random":
                v = float(rng.uniform(0.0, 0.4))
            elif group == "near_default":
                v = value(t, "default") - 0.1
            else:
                v = value(t, group)
            evaluations.append({"task_id": tid, "params": config, "value": v})
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


def _dominated(t: int, group: str) -> float:
    # STAR's region beats the default by far on every task; the others are worse.
    return {"default": 0.5, "star": 0.95}.get(group, 0.2)


def _noisy(t: int, group: str) -> float:
    # Every region is the default +- 0.2, the sign alternating over tasks (and
    # regions): each beats it on half the tasks and loses on the other half.
    if group == "default":
        return 0.5
    return 0.5 + (0.2 if (t + len(group)) % 2 else -0.2)


@pytest.fixture(scope="module")
def dominated() -> MetaDataset:
    return _meta_dataset(_dominated)


@pytest.fixture(scope="module")
def noisy() -> MetaDataset:
    return _meta_dataset(_noisy)


@pytest.mark.parametrize("name", sorted(WARM_STARTERS))
def test_a_config_that_beats_the_default_everywhere_leads(name, dominated):
    model = WARM_STARTERS[name](seed=0).fit(dominated)
    recs = select_over_default(model, _query(), 6, default=DEFAULT, space=SPACE)
    top = recs[0]
    assert _key(top.config) in {_key(c) for c in GROUPS["star"]}
    assert not top.is_default
    assert top.predicted_gain is not None and top.gain_sd is not None
    assert top.predicted_gain > top.gain_sd >= 0
    assert top.reason is not None
    assert top.reason.startswith(f"predicted {top.predicted_gain:+.3f} ± {top.gain_sd:.3f}")
    assert "over the default from" in top.reason
    # The default stays a candidate, after what clears the bar (at most STAR's region).
    (at,) = [i for i, r in enumerate(recs) if r.is_default]
    assert 1 <= at <= len(GROUPS["star"])
    assert all(
        r.predicted_gain is not None and r.gain_sd is not None and r.predicted_gain > r.gain_sd
        for r in recs[:at]
    )


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


def _local_or_general(t: int, group: str) -> float:
    # LOCAL is excellent on the three largest tasks only and poor elsewhere;
    # GENERAL is good on every task; the default is in between.
    if group == "local":
        return 1.0 if t >= N_TASKS - 3 else 0.0
    return {"general": 0.8, "default": 0.5}.get(group, 0.1)


@pytest.fixture(scope="module")
def local_or_general() -> MetaDataset:
    return _meta_dataset(_local_or_general)


def test_extrapolation_leans_on_the_general_configs(local_or_general):
    model = KnnWarmStarter(n_neighbors=3, seed=0).fit(local_or_general)
    query = _query(t=N_TASKS + 20, instances=1e7)  # beyond the largest task
    # Judged on its three nearest tasks, the local configuration wins.
    near = select_over_default(model, query, 3, default=DEFAULT, space=SPACE)
    assert _key(near[0].config) in {_key(c) for c in GROUPS["local"]}
    outside = ["NumberOfInstances 10,000,000 above the training range"]
    recs = select_over_default(model, query, 3, default=DEFAULT, space=SPACE, extrapolation=outside)
    assert _key(recs[0].config) in {_key(c) for c in GROUPS["general"]}
    assert not {_key(r.config) for r in recs[:2]} & {_key(c) for c in GROUPS["local"]}
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
    recs = select_over_default(model, _query(), 8, default=DEFAULT, space=SPACE)
    shown = recommendations_json(ALGORITHMS["lightgbm"], recs, "classification")["recommendations"]
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
    observed = ((DEFAULT, 0.5), (GROUPS["random"][5], 0.1))
    tried = TaskQuery(_query().meta_features, observations=observed)
    recs = select_over_default(model, tried, 4, default=DEFAULT, space=SPACE)
    assert not any(r.is_default for r in recs)
    assert _key(DEFAULT) not in {_key(r.config) for r in recs}


def test_candidates_without_the_default_keep_it_out(dominated):
    model = WARM_STARTERS["knn"](seed=0).fit(dominated)
    only = TaskQuery(_query().meta_features, candidates=(STAR, *GROUPS["random"][:3]))
    recs = select_over_default(model, only, 4, default=DEFAULT, space=SPACE)
    assert {_key(r.config) for r in recs} <= {_key(c) for c in only.candidates or ()}
    assert _key(recs[0].config) == _key(STAR)


def test_the_margin_scales_the_bar(dominated):
    model = WARM_STARTERS["knn"](seed=0).fit(dominated)
    recs = select_over_default(model, _query(), 2, default=DEFAULT, space=SPACE, margin=100.0)
    assert recs[0].is_default
    assert recs[0].reason is not None and "by more than 100 times its uncertainty" in recs[0].reason
    assert recs[1].reason is not None and recs[1].reason.endswith(
        "within 100 times its uncertainty, ranked after the default"
    )


class _Stub(DefaultAwareWarmStarter):
    """Fixed picks and fixed gains over the default on four tasks."""

    seed = 0

    def __init__(self, gains: dict[str, list[float]]) -> None:
        self.gains = gains  # config key -> its score minus the default's, per task
        self.picks = [STAR, GENERAL]

    def fit(self, data: MetaDataset) -> "_Stub":
        return self

    def recommend(self, query: TaskQuery, k: int) -> list[Recommendation]:
        return [Recommendation(dict(c), None, ("t0",)) for c in self.picks[:k]]

    def gain_evidence(
        self, query: TaskQuery, configs: Sequence[Params], *, general: bool = False
    ) -> GainEvidence:
        rows = np.array(
            [[0.5 + self.gains.get(_key(c), [0.0] * 4)[t] for c in configs] for t in range(4)]
        )
        return GainEvidence(np.full(4, 0.25), rows, ("t0", "t1", "t2", "t3"), "similar tasks")

    def general_configs(self, n: int) -> list[Params]:
        return self.picks[:n]


NOISY_GAINS = [0.3, -0.2, 0.3, -0.2]  # mean +0.05, spread 0.25
SURE_GAINS = [0.1, 0.1, 0.12, 0.08]  # mean +0.10, spread 0.014


def test_a_later_pick_that_clears_the_bar_never_jumps_ahead_of_the_first():
    model = _Stub({_key(STAR): NOISY_GAINS, _key(GENERAL): SURE_GAINS})
    first, star, general = select_over_default(model, _query(), 3, default=DEFAULT, space=SPACE)
    assert first.is_default
    assert first.reason == (
        "default: the model's first pick is not predicted to beat it by more than its "
        "uncertainty (4 similar tasks)"
    )
    assert _key(star.config) == _key(STAR) and star.reason == (
        "predicted +0.050 ± 0.250 over the default from 4 similar tasks: "
        "within its uncertainty, ranked after the default"
    )
    assert _key(general.config) == _key(GENERAL)
    assert general.reason is not None and general.reason.endswith(
        "the model ranks it below a pick that is not clearly better, ranked after the default"
    )


def test_the_first_pick_leads_when_it_clears_the_bar():
    model = _Stub({_key(STAR): SURE_GAINS, _key(GENERAL): NOISY_GAINS})
    star, default, general = select_over_default(model, _query(), 3, default=DEFAULT, space=SPACE)
    assert _key(star.config) == _key(STAR)
    assert star.reason == "predicted +0.100 ± 0.014 over the default from 4 similar tasks"
    assert default.is_default and default.reason == (
        "default: ranked after the configuration predicted to beat it by more than its uncertainty"
    )
    assert _key(general.config) == _key(GENERAL)
