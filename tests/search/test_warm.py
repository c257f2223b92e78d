from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from metakb.search import (
    OPTIMIZERS,
    AdaptiveStarter,
    AdaptiveWarmStart,
    Optimizer,
    PriorGuidedOptimizer,
    QueryPrior,
    WarmStartReport,
    warm_start,
)


def encode_rows(configs):
    return np.array([[c["lr"], c["n"]] for c in configs], dtype=float)


@dataclass(frozen=True)
class Rec:
    config: dict[str, Any]
    predicted_score: float | None = None
    source_tasks: tuple[str, ...] = field(default_factory=tuple)


class FixedStarter:
    def __init__(self, configs):
        self.configs = configs
        self.calls = []

    def recommend(self, query, k):
        self.calls.append((query, k))
        return [Rec(c) for c in self.configs[:k]]


GOOD = {"lr": 0.1, "n": 20, "kernel": "poly", "degree": 3}
OTHER = {"lr": 0.01, "n": 4, "kernel": "rbf"}
OUTSIDE = {"lr": 0.1, "n": 20, "kernel": "sigmoid"}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_warm_start_enqueues_distinct_in_space_recommendations(name, space):
    optimizer = OPTIMIZERS[name](space, seed=0)
    starter = FixedStarter([GOOD, dict(GOOD), OUTSIDE, OTHER])
    report = warm_start(optimizer, starter, query="q", k=4)
    assert (report.recommended, report.enqueued, report.duplicates, report.out_of_space) == (
        4,
        2,
        1,
        1,
    )
    assert starter.calls == [("q", 4)]
    assert [optimizer.ask().config for _ in range(2)] == [GOOD, OTHER]


def test_cold_start_is_the_same_optimizer_without_starter(space):
    cold = OPTIMIZERS["bo"](space, seed=5)
    assert warm_start(cold, None, query="q", k=5).enqueued == 0
    plain = OPTIMIZERS["bo"](space, seed=5)
    assert cold.ask() == plain.ask()
    with pytest.raises(ValueError, match="k must be"):
        warm_start(cold, FixedStarter([]), query="q", k=-1)


def test_warm_start_drops_configs_outside_a_candidate_list(space):
    optimizer = OPTIMIZERS["random"](space, seed=0, candidates=[GOOD])
    report = warm_start(optimizer, FixedStarter([OTHER, GOOD]), query=None, k=2)
    assert report.enqueued == 1 and report.out_of_space == 1
    assert optimizer.ask().config == GOOD


def test_snapping_maps_recommendations_to_the_nearest_candidates(space):
    near_good = {"lr": 0.09, "n": 21, "kernel": "poly", "degree": 3}
    candidates = [GOOD, OTHER]
    optimizer = OPTIMIZERS["bo"](space, seed=0, candidates=candidates)
    report = warm_start(
        optimizer,
        FixedStarter([near_good, GOOD, OUTSIDE]),
        query=None,
        k=3,
        snap_to_candidates=True,
    )
    assert (report.enqueued, report.duplicates, report.out_of_space) == (1, 1, 1)
    assert optimizer.ask().config == GOOD
    assert OPTIMIZERS["bo"](space, seed=0).nearest_candidate(GOOD) is None


class ObservingStarter(FixedStarter):
    """Recommends its list in order, skipping what it was shown; records what it saw."""

    def __init__(self, configs):
        super().__init__(configs)
        self.seen = []

    def recommend_given(self, query, k, observed):
        n_seen = 0 if observed is None else len(observed[1])
        self.seen.append((n_seen, k))
        return [Rec(c) for c in self.configs[n_seen:][:k]]


def test_adaptive_warm_start_picks_one_at_a_time_from_what_was_told(space):
    starter = ObservingStarter([GOOD, OUTSIDE, OTHER, GOOD])
    warm = AdaptiveWarmStart(OPTIMIZERS["bo"](space, seed=0), starter, "q", 3, encode_rows)
    first = warm.ask()
    assert first.config == GOOD and starter.seen == [(0, 1)]
    second = warm.ask()  # GOOD is pending, not told: asked for one more, and skipped
    assert starter.seen[-1] == (0, 2) and second.config != GOOD
    warm.tell(first, 0.5)
    warm.tell(second, None)  # a failure is not shown to the starter
    warm.ask()
    assert starter.seen[-1] == (1, 2)  # one told; the failed one is skipped
    assert warm.report == WarmStartReport(recommended=3, enqueued=1, duplicates=0, out_of_space=2)
    warm.ask()  # its k picks are spent: the optimizer's own from here
    assert len(starter.seen) == 3 and warm.n_pending == 2


def test_only_a_starter_declaring_next_picks_is_adaptive():
    assert isinstance(ObservingStarter([]), AdaptiveStarter)
    assert not isinstance(FixedStarter([]), AdaptiveStarter)


class FlatModel:
    """A query-conditioned model predicting nothing in particular, with an empty pool."""

    def predict(self, query, x, observed=None):
        return np.zeros(len(x)), np.ones(len(x))

    def candidate_pool(self):
        return []


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_adaptive_warm_start_is_an_optimizer_showing_the_wrapped_prior(name, space):
    """Without forwarding every attribute: the Optimizer protocol, its pending count, ``prior``."""
    options = {"prior": QueryPrior(FlatModel(), None)} if name in ("bo", "bohb") else {}
    inner = OPTIMIZERS[name](space, seed=0, **options)
    warm = AdaptiveWarmStart(inner, ObservingStarter([GOOD]), "q", 1, encode_rows)
    assert isinstance(warm, Optimizer) and isinstance(warm, PriorGuidedOptimizer)
    assert warm.prior is (inner.prior if isinstance(inner, PriorGuidedOptimizer) else None)
    assert (warm.prior is not None) == (name in ("bo", "bohb"))
    trials = [warm.ask(), warm.ask()]
    assert trials[0].config == GOOD and warm.n_pending == inner.n_pending == 2
    warm.tell(trials[0], 0.1)
    assert warm.n_pending == inner.n_pending == 1
    with pytest.raises(ValueError):
        warm.tell(trials[0], 0.1)  # told twice: the wrapped optimizer refuses, nothing changes
    assert warm.n_pending == 1
