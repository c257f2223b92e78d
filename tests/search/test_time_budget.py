"""run_search's time budget: stop before overrunning it, skip costly warm starts, resume."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from metakb.search import (
    OPTIMIZERS,
    EvalResult,
    TrialRecord,
    expected_seconds,
    run_search,
)
from metakb.search.testing import toy_value


class FakeClock:
    """A clock the objective advances by each trial's duration: no real waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TimedObjective:
    """Takes ``seconds_per_n * config['n']`` seconds (or a fixed ``seconds``) on ``clock``."""

    def __init__(
        self, clock: FakeClock, *, seconds_per_n: float = 0.0, seconds: float = 0.0
    ) -> None:
        self.clock = clock
        self.seconds_per_n = seconds_per_n
        self.seconds = seconds
        self.calls: list[dict[str, Any]] = []

    def __call__(self, config: Mapping[str, Any], fidelity: float = 1.0) -> EvalResult:
        self.calls.append(dict(config))
        took = (self.seconds + self.seconds_per_n * config["n"]) * fidelity
        self.clock.now += took
        return EvalResult(toy_value(config, fidelity), took)


def n_cost(config: Mapping[str, Any]) -> float:
    """A cost model that knows the truth: the duration is proportional to ``n``."""
    return float(config["n"])


def _record(trial_id: int, n: int, seconds: float, fidelity: float = 1.0) -> TrialRecord:
    config = {"lr": 0.1, "n": n, "kernel": "rbf"}
    return TrialRecord(trial_id, config, fidelity, 0.5, seconds, "ok")


def test_expected_seconds_scales_the_mean_by_predicted_cost_and_fidelity():
    trials = [_record(0, 2, 2.0), _record(1, 4, 4.0, fidelity=0.5)]
    # 6 s over 2 + 4 * 0.5 = 4 units of cost: 1.5 s per unit.
    assert expected_seconds({"n": 10}, 1.0, trials, n_cost) == (pytest.approx(15.0), True)
    # Without a cost, the mean seconds per unit of fidelity: 6 s over 1.5.
    assert expected_seconds({"n": 10}, 0.5, trials) == (pytest.approx(2.0), False)
    assert expected_seconds({"n": 10}, 1.0, trials, lambda c: None) == (
        pytest.approx(4.0),
        False,
    )
    skipped = TrialRecord(2, {"n": 1}, 1.0, None, 0.0, "skipped")
    assert expected_seconds({"n": 3}, 1.0, [skipped]) is None
    assert expected_seconds({"n": 3}, 1.0, []) is None


def test_the_search_stops_before_the_next_trial_would_overrun_the_time_budget(space):
    clock = FakeClock()
    result = run_search(
        OPTIMIZERS["random"](space, seed=0),
        TimedObjective(clock, seconds=1.0),
        100,
        time_budget=5.5,
        clock=clock,
    )
    # 1 s each: after five trials the sixth (expected 1 s) would end at 6 s > 5.5 s.
    assert len(result.trials) == 5
    stop = result.stop
    assert stop is not None and stop.reason == "time_budget"
    assert stop.elapsed == pytest.approx(5.0) and stop.next_seconds == pytest.approx(1.0)
    assert stop.message.startswith("time budget 5.5 s reached after 5 trials")
    assert result.to_dict()["stop"]["reason"] == "time_budget"


def test_predicted_costs_keep_a_costly_trial_from_starting(space):
    clock = FakeClock()
    optimizer = OPTIMIZERS["random"](space, seed=0)
    for n in (2, 3, 60):
        optimizer.enqueue({"lr": 0.1, "n": n, "kernel": "rbf"})
    result = run_search(
        optimizer,
        TimedObjective(clock, seconds_per_n=0.1),
        100,
        time_budget=5.0,
        cost=n_cost,
        clock=clock,
    )
    # The mean so far (0.25 s) fits the 4.5 s left, but n=60 is predicted to take 6 s.
    assert [t.config["n"] for t in result.trials] == [2, 3]
    assert result.stop is not None and result.stop.next_seconds == pytest.approx(6.0)
    assert clock.now - 1000.0 <= 5.0


def test_a_warm_start_configuration_costing_more_than_the_time_left_is_skipped(space):
    clock = FakeClock()
    optimizer = OPTIMIZERS["random"](space, seed=0)
    warm = [{"lr": 0.1, "n": n, "kernel": "rbf"} for n in (2, 60, 3, 4)]
    for config in warm:
        optimizer.enqueue(config)
    objective = TimedObjective(clock, seconds_per_n=0.1)
    result = run_search(
        optimizer, objective, 3, time_budget=5.0, cost=n_cost, n_warm=len(warm), clock=clock
    )
    assert [t.status for t in result.trials] == ["ok", "skipped", "ok", "ok"]
    skipped = result.trials[1]
    assert skipped.config["n"] == 60 and skipped.seconds == 0.0
    assert skipped.error == "predicted to take 6.0 s, more than the 4.8 s left of the time budget"
    assert {"n": 60} not in [{"n": c["n"]} for c in objective.calls]
    # A skipped trial is not one of the budget's three.
    assert result.stop is not None and result.stop.reason == "budget"
    assert result.stop.n_trials == 3 and len(result.evaluated) == 3
    assert result.best is not None


def test_the_trial_budget_and_exhaustion_are_stop_reasons_too(space):
    clock = FakeClock()
    result = run_search(OPTIMIZERS["random"](space, seed=0), TimedObjective(clock), 3)
    assert result.stop is not None and result.stop.reason == "budget"
    assert result.stop.message == "trial budget reached after 3 trials"
    assert result.stop.time_budget is None


def test_a_resumed_search_gets_the_whole_time_budget_again(space):
    def build() -> Any:
        optimizer = OPTIMIZERS["random"](space, seed=3)
        for n in (2, 60, 3):
            optimizer.enqueue({"lr": 0.1, "n": n, "kernel": "rbf"})
        return optimizer

    class InterruptError(Exception):
        pass

    logged: list[TrialRecord] = []

    def keep(record: TrialRecord, _: Any) -> None:
        logged.append(record)
        if len(logged) == 3:
            raise InterruptError

    clock = FakeClock()
    options: dict[str, Any] = {"time_budget": 5.0, "cost": n_cost, "n_warm": 3, "clock": clock}
    with pytest.raises(InterruptError):
        run_search(build(), TimedObjective(clock, seconds_per_n=0.1), 10, on_trial=keep, **options)
    previous = [TrialRecord.from_dict(json.loads(json.dumps(r.to_dict()))) for r in logged]
    assert [r.status for r in previous] == ["ok", "skipped", "ok"]

    clock.now += 3600.0  # an hour later: none of it counts against this run's budget
    objective = TimedObjective(clock, seconds_per_n=0.1)
    resumed = run_search(build(), objective, 10, previous=previous, **options)
    assert resumed.trials[:3] == previous  # the skip is replayed, not re-decided
    assert {"n": 60} not in [{"n": c["n"]} for c in objective.calls]
    assert len(resumed.trials) > 3
    assert resumed.stop is not None and resumed.stop.elapsed <= 5.0


def test_a_time_budget_must_be_positive(space):
    with pytest.raises(ValueError, match="time_budget"):
        optimizer = OPTIMIZERS["random"](space, seed=0)
        run_search(optimizer, TimedObjective(FakeClock()), 3, time_budget=0)
