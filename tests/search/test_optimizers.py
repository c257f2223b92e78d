"""Contract tests run over every optimizer of the registry, plus SH/Hyperband budgets."""

from __future__ import annotations

import copy
import itertools
import math
from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metakb.search import (
    MULTI_FIDELITY,
    OPTIMIZERS,
    BayesianOptimization,
    ConditionalPrior,
    EIProposer,
    Hyperband,
    NoTrialAvailable,
    PooledPrior,
    PriorGuidedOptimizer,
    PriorSurrogate,
    QueryPrior,
    QuerySurrogate,
    RandomSearch,
    SuccessiveHalving,
    config_key,
    expected_improvement,
    hyperband_brackets,
    successive_halving_rungs,
)
from metakb.search._bo import _calibrate
from metakb.search._space import SpaceSampler, as_config, as_configs, encode
from metakb.search.testing import check_optimizer, drive
from metakb.spaces import SPACES
from tests.search.conftest import mixed_space, toy_value

NAMES = sorted(OPTIMIZERS)


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_optimizer_keeps_the_contract(name):
    check_optimizer(lambda space, seed: OPTIMIZERS[name](space, seed=seed))


def test_the_contract_check_catches_a_broken_optimizer():
    class ForgetsTheQueue(RandomSearch):
        def enqueue(self, config):
            pass

    with pytest.raises(AssertionError, match="enqueued configurations must come first"):
        check_optimizer(lambda space, seed: ForgetsTheQueue(space, seed=seed))


@pytest.mark.parametrize("name", NAMES)
def test_finite_candidates_are_asked_once_each(name, space):
    candidates = SpaceSampler(space).sample(np.random.default_rng(0), 12)
    optimizer = OPTIMIZERS[name](space, seed=0, candidates=candidates)
    keys = {config_key(c) for c in candidates}
    new_configs = []
    with pytest.raises(NoTrialAvailable):
        for _ in range(200):
            trial = optimizer.ask()
            assert config_key(trial.config) in keys
            if trial.rung in (None, 0):
                new_configs.append(config_key(trial.config))
            optimizer.tell(trial, toy_value(trial.config))
    assert sorted(new_configs) == sorted(keys)
    assert not optimizer.contains({"lr": 0.5, "n": 3, "kernel": "rbf"})


def test_bo_finds_better_configs_than_random(space):
    def best_of(name: str, seed: int) -> float:
        trials = []
        optimizer = OPTIMIZERS[name](space, seed=seed)
        for _ in range(30):
            trial = optimizer.ask()
            value = toy_value(trial.config)
            optimizer.tell(trial, value)
            trials.append(value)
        return max(trials)

    bo = np.mean([best_of("bo", s) for s in range(4)])
    random = np.mean([best_of("random", s) for s in range(4)])
    assert bo > random + 0.1  # the optimum is 0.3


class PreferKernel:
    """A stand-in for the transfer model: ``predict(query, x)`` favours one kernel."""

    def __init__(self, space):
        self.column = list(space.keys()).index("kernel")

    def predict(self, query, x, observed=None):
        mean = np.where(x[:, self.column] == float(query), 1.0, 0.0)
        return mean, np.full(len(x), 0.1)

    def candidate_pool(self):
        return []


@pytest.mark.parametrize("name", ["bo", "bohb"])
def test_a_prior_guides_from_the_first_trial(name, space):
    prior = QueryPrior(PreferKernel(space), query=1)  # choice index 1 = 'poly'
    optimizer = OPTIMIZERS[name](space, seed=0, prior=prior)
    if name == "bohb":
        optimizer.random_fraction = 0.0
    assert isinstance(prior, PriorSurrogate)
    assert all(optimizer.ask().config["kernel"] == "poly" for _ in range(3))


def test_the_own_model_takes_over_from_a_wrong_prior(space):
    wrong = QueryPrior(PreferKernel(space), query=2)  # 'linear', never the best kernel
    found_poly = 0
    for seed in range(4):
        optimizer = BayesianOptimization(space, seed=seed, prior=wrong)
        trials = drive(optimizer, 40)
        assert trials[0].config["kernel"] == "linear"
        best = max(trials, key=lambda t: toy_value(t.config))
        found_poly += best.config["kernel"] == "poly"
    assert found_poly >= 3


def test_bo_with_candidates_picks_by_expected_improvement(space):
    candidates = SpaceSampler(space).sample(np.random.default_rng(1), 60)
    optimizer = BayesianOptimization(space, seed=0, candidates=candidates, n_initial=5)
    values = [t for t in drive(optimizer, 25)]
    best_possible = max(toy_value(c) for c in candidates)
    assert max(toy_value(t.config) for t in values) >= best_possible - 0.05


def test_expected_improvement_prefers_high_mean_and_uncertainty():
    ei = expected_improvement(np.array([0.0, 1.0, 0.0]), np.array([0.1, 0.1, 1.0]), best=0.5)
    assert ei[1] > ei[2] > ei[0] >= 0.0


def test_hyperband_schedule_matches_li_et_al():
    brackets = hyperband_brackets(1 / 81, eta=3)
    assert [[r.n_configs for r in b] for b in brackets] == [
        [81, 27, 9, 3, 1],
        [34, 11, 3, 1],
        [15, 5, 1],
        [8, 2],
        [5],
    ]
    assert [b[0].fidelity for b in brackets] == pytest.approx([1 / 81, 1 / 27, 1 / 9, 1 / 3, 1])
    with pytest.raises(ValueError, match="min_fidelity"):
        hyperband_brackets(0.0)


@given(
    min_fidelity=st.floats(0.004, 1.0),
    eta=st.integers(2, 5),
)
def test_bracket_rungs_respect_budget(min_fidelity, eta):
    for bracket in hyperband_brackets(min_fidelity, eta):
        n, r = bracket[0].n_configs, bracket[0].fidelity
        assert r >= min_fidelity - 1e-12
        assert bracket[-1].fidelity == pytest.approx(1.0)
        for lower, upper in itertools.pairwise(bracket):
            assert upper.n_configs == lower.n_configs // eta
            assert upper.fidelity == pytest.approx(lower.fidelity * eta)
        total = sum(rung.n_configs * rung.fidelity for rung in bracket)
        s = len(bracket) - 1
        assert total <= (s + 1) * n * r + 1e-9
        assert bracket[-1].n_configs >= 1


def _by_bracket(trials):
    groups = defaultdict(lambda: defaultdict(list))
    for trial in trials:
        groups[trial.bracket][trial.rung].append(trial)
    return groups


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    eta=st.integers(2, 4),
    min_fidelity=st.sampled_from([1.0, 0.5, 1 / 9, 1 / 27]),
    fail_every=st.integers(0, 5),
)
def test_hyperband_runs_respect_bracket_budgets(seed, eta, min_fidelity, fail_every):
    space = mixed_space()
    optimizer = Hyperband(space, seed=seed, eta=eta, min_fidelity=min_fidelity)
    schedule = optimizer.schedule_
    trials = drive(optimizer, 120, fail_every=fail_every)
    for number, rungs in _by_bracket(trials).items():
        plan = schedule[number % len(schedule)]
        for rung, asked in rungs.items():
            assert len(asked) <= plan[rung].n_configs
            assert all(math.isclose(t.fidelity, plan[rung].fidelity) for t in asked)
            if rung > 0:
                # Promoted configurations were all evaluated one rung below.
                below = {config_key(t.config) for t in rungs[rung - 1]}
                assert {config_key(t.config) for t in asked} <= below
                assert len(rungs[rung - 1]) == plan[rung - 1].n_configs
        spent = sum(t.fidelity for r in rungs.values() for t in r)
        assert spent <= sum(r.n_configs * r.fidelity for r in plan) + 1e-9


def test_successive_halving_promotes_the_best(space):
    optimizer = SuccessiveHalving(space, seed=0, min_fidelity=1 / 9, eta=3)
    assert [r.n_configs for r in optimizer.schedule_[0]] == [9, 3, 1]
    trials = drive(optimizer, 13)
    rungs = _by_bracket(trials)[0]
    scores = sorted(rungs[0], key=lambda t: -toy_value(t.config, t.fidelity))
    assert [config_key(t.config) for t in rungs[1]] == [config_key(t.config) for t in scores[:3]]
    assert len(rungs[2]) == 1 and rungs[2][0].fidelity == 1.0
    with pytest.raises(ValueError, match="at least"):
        successive_halving_rungs(5, 2, 3)


def test_failed_trials_are_never_promoted(space):
    optimizer = SuccessiveHalving(space, seed=0, min_fidelity=1 / 3, eta=3)
    first = [optimizer.ask() for _ in range(3)]
    for trial, value in zip(first, [None, float("nan"), -5.0], strict=True):
        optimizer.tell(trial, value)
    promoted = optimizer.ask()
    assert promoted.rung == 1 and promoted.config == first[2].config


def test_hyperband_opens_a_new_bracket_while_results_are_pending(space):
    optimizer = Hyperband(space, seed=0, min_fidelity=1 / 3)
    first_bracket = optimizer.schedule_[0][0].n_configs
    asked = [optimizer.ask() for _ in range(first_bracket + 1)]
    assert asked[-1].bracket == 1


@pytest.mark.parametrize("name", sorted(MULTI_FIDELITY))
def test_multi_fidelity_reaches_full_fidelity(name, space):
    trials = drive(OPTIMIZERS[name](space, seed=0, min_fidelity=1 / 9), 40)
    assert any(t.fidelity == 1.0 for t in trials)
    assert min(t.fidelity for t in trials) == pytest.approx(1 / 9)


@pytest.mark.parametrize("name", sorted(SPACES))
@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_column_wise_conversion_matches_configspace(name, seed):
    space = copy.deepcopy(SPACES[name].configspace)
    space.seed(seed)
    drawn = space.sample_configuration(size=40)
    expected = [as_config(c) for c in drawn]
    got = as_configs(space, drawn)
    assert [list(c.items()) for c in got] == [list(c.items()) for c in expected]
    assert all(type(c[k]) is type(e[k]) for c, e in zip(got, expected, strict=True) for k in c)


def test_refit_growth_reuses_the_forest():
    rng = np.random.default_rng(0)
    x, y = rng.random((60, 3)), rng.random(60)
    fits = []
    for growth in (0.0, 0.5):
        proposer = EIProposer(n_trees=4, refit_growth=growth)
        n_fits = 0
        for n in range(2, 61):
            proposer.choose(x[:n], y[:n], rng.random((30, 3)), np.random.default_rng(n))
            n_fits += proposer._fitted[0] == n
        fits.append(n_fits)
        # Fewer observations than the last fit (BOHB moving to a higher fidelity): refit.
        proposer.choose(x[:10], y[:10], rng.random((30, 3)), np.random.default_rng(0))
        assert proposer._fitted[0] == 10
    assert fits[0] == 59
    assert fits[1] < 12  # 2, 3, 5, 8, 12, 18, 27, 41: geometric growth


@given(
    st.lists(st.integers(-50, 50).map(lambda i: i / 10), min_size=3, max_size=12, unique=True),
    st.floats(-3, 3),
    st.floats(-3, 3),
)
def test_prior_calibration_is_the_least_squares_line_with_a_non_negative_slope(xs, a, b):
    prior = np.array(xs)
    target = a * prior + b
    slope, offset = _calibrate(prior, target)
    # A prior that orders the observations backwards is switched off (slope 0).
    assert slope == pytest.approx(max(a, 0.0), abs=1e-6)
    assert offset == pytest.approx(np.mean(target) - slope * np.mean(prior), abs=1e-6)
    if a >= 0:
        assert offset == pytest.approx(b, abs=1e-6)


class _Recording:
    """A conditional prior that prefers large first coordinates and records what it was given."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x[:, 0].astype(float), np.full(len(x), 0.1)

    def predict_given(self, x, x_obs, y_obs):
        self.seen.append(len(y_obs))
        return self.predict(x)


def test_a_conditional_prior_is_given_the_observations_and_keeps_its_ranking():
    prior = _Recording()
    assert isinstance(prior, ConditionalPrior)
    rows = np.random.default_rng(0).random((40, 3))
    proposer = EIProposer(prior, n_trees=5)
    order: list[int] = []
    for _ in range(6):
        free = np.setdiff1d(np.arange(len(rows)), order)
        x_obs, y_obs = rows[order], rows[order, 0]
        order.append(int(free[proposer.choose(x_obs, y_obs, rows[free], np.random.default_rng(1))]))
    assert prior.seen == [1, 2, 3, 4, 5]  # asked with every observation (none: plain predict)
    # The prior is right, so its line explains the observations and the picks
    # follow its ranking: the largest first coordinates, in order.
    assert order == list(np.argsort(-rows[:, 0])[:6])


class KnowsOnePoint(PreferKernel):
    """A prior whose best configuration is one exact point, offered in its pool."""

    def __init__(self, space, point):
        super().__init__(space)
        self.point = point
        self.row = encode(space, [point])[0]

    def predict(self, query, x, observed=None):
        return -np.abs(x - self.row).sum(axis=1), np.full(len(x), 0.1)

    def candidate_pool(self):
        return [self.point, {"lr": 5.0}]  # the second is outside the space: dropped


def test_bo_also_scores_the_priors_own_pool(space):
    """Random samples never hit the prior's exact optimum; its pool does."""
    point = {"lr": 0.0123, "n": 7, "kernel": "rbf"}
    optimizer = BayesianOptimization(
        space, seed=0, prior=QueryPrior(KnowsOnePoint(space, point), 0)
    )
    assert optimizer.ask().config == point


class _PoolOnly:
    """A prior that is not a QueryPrior: ``predict(x)`` and a pool holding one exact point."""

    def __init__(self, space, point):
        self.point, self.row = point, encode(space, [point])[0]

    def predict(self, x):
        return -np.abs(x - self.row).sum(axis=1), np.full(len(x), 0.1)

    def pool(self):
        return [self.point]


def test_prior_abilities_are_declared_protocols(space):
    """Each ability has a name of its own, so an isinstance check cannot mistake one for another."""
    point = {"lr": 0.0123, "n": 7, "kernel": "rbf"}
    bound = QueryPrior(PreferKernel(space), query=1)
    assert isinstance(PreferKernel(space), QuerySurrogate)
    assert all(isinstance(bound, p) for p in (PriorSurrogate, ConditionalPrior, PooledPrior))
    assert isinstance(_Recording(), ConditionalPrior) and not isinstance(_Recording(), PooledPrior)
    pooled = _PoolOnly(space, point)
    assert isinstance(pooled, PooledPrior) and not isinstance(pooled, ConditionalPrior)
    assert not isinstance(pooled, QuerySurrogate)  # predict(x) alone binds no query
    # Any pooled prior has its pool scored (not only a QueryPrior); others have none.
    assert BayesianOptimization(space, seed=0, prior=pooled).ask().config == point
    assert BayesianOptimization(space, seed=0, prior=_Recording())._prior_pool == []


def test_query_prior_passes_the_observations_to_the_model(space):
    seen = []

    class Model(PreferKernel):
        def predict(self, query, x, observed=None):
            seen.append(observed)
            return super().predict(query, x)

    prior = QueryPrior(Model(space), query=1)
    x = encode(space, space.sample_configuration(4))
    prior.predict(x)
    prior.predict_given(x, x[:2], np.array([0.1, 0.2]))
    assert seen[0] is None
    assert np.array_equal(seen[1][0], x[:2]) and np.array_equal(seen[1][1], [0.1, 0.2])


@pytest.mark.parametrize("name", NAMES)
def test_only_optimizers_taking_a_prior_are_prior_guided(name, space):
    optimizer = OPTIMIZERS[name](space, seed=0)
    assert isinstance(optimizer, PriorGuidedOptimizer) == (name in ("bo", "bohb"))
    if isinstance(optimizer, PriorGuidedOptimizer):
        assert optimizer.prior is None


def test_a_prior_flat_at_the_observations_is_switched_off():
    assert _calibrate(np.array([0.0, 1e-120, -1e-90]), np.array([1.0, 2.0, 3.0]))[0] == 0.0


def test_a_prior_without_weight_leaves_bo_its_own_choices():
    """prior_weight=0 shrinks the prior's line to nothing once there are 3 observations."""
    rng = np.random.default_rng(0)
    rows, x_obs = rng.random((50, 3)), rng.random((6, 3))
    y_obs = x_obs[:, 1] - x_obs[:, 0]
    weightless = EIProposer(_Recording(), prior_weight=0.0, n_trees=5)
    cold = EIProposer(None, n_trees=5)
    for seed in range(5):
        a = weightless.choose(x_obs, y_obs, rows, np.random.default_rng(seed))
        b = cold.choose(x_obs, y_obs, rows, np.random.default_rng(seed))
        assert a == b
