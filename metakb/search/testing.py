"""Contract checks any ask/tell optimizer must pass, shipped so new strategies get them for free.

Run ``check_optimizer(factory)`` in a test (as scikit-learn's
``check_estimator`` or Optuna's sampler test-suite): it raises
``AssertionError`` with a one-line reason on the first broken promise of the
`Optimizer` contract.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, Integer

from metakb.search._space import in_space
from metakb.search._types import Optimizer, Trial

OptimizerFactory = Callable[[ConfigurationSpace, int | None], Optimizer]


def contract_space() -> ConfigurationSpace:
    """Return a small mixed space: log float, log int, categorical and a conditional int."""
    space = ConfigurationSpace()
    space.add(
        [
            Float("lr", (1e-3, 1.0), log=True),
            Integer("n", (1, 64), log=True),
            Categorical("kernel", ["rbf", "poly", "linear"]),
            Integer("degree", (2, 5)),
        ]
    )
    space.add(EqualsCondition(space["degree"], space["kernel"], "poly"))
    return space


def toy_value(config: Mapping[str, Any], fidelity: float = 1.0) -> float:
    """Return a smooth score on `contract_space` (best 0.3 at lr=0.1, n=20, poly, degree 3)."""
    value = -((math.log10(config["lr"]) + 1.0) ** 2) - (config["n"] - 20) ** 2 / 400
    if config["kernel"] == "poly":
        value += 0.3 - 0.05 * abs(config["degree"] - 3)
    return value - 0.2 * (1.0 - fidelity)


def drive(optimizer: Optimizer, n: int, fail_every: int = 0) -> list[Trial]:
    """Ask and tell ``n`` trials one by one with `toy_value`, failing every ``fail_every``-th."""
    trials = []
    for i in range(n):
        trial = optimizer.ask()
        trials.append(trial)
        failed = fail_every and i % fail_every == fail_every - 1
        optimizer.tell(trial, None if failed else toy_value(trial.config, trial.fidelity))
    return trials


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def check_optimizer(factory: OptimizerFactory, n_trials: int = 20) -> None:
    """Check the ask/tell contract of the optimizers ``factory(space, seed)`` builds.

    Checks: the object satisfies `Optimizer`; trial ids count up from 0;
    every asked configuration is valid in the space and every fidelity is in
    (0, 1], with failed trials (None and NaN) in the mix; the same seed
    gives the same trials and another seed other ones; enqueued
    configurations are asked first and out-of-space ones are refused with
    ``ValueError``; telling a trial twice, or one never asked, raises ``ValueError``.

    Parameters
    ----------
    factory : callable
        ``(space, seed) -> optimizer``.
    n_trials : int
        Trials per run.
    """
    space = contract_space()
    optimizer = factory(space, 3)
    _require(isinstance(optimizer, Optimizer), "not an Optimizer (ask/tell/enqueue/contains)")
    trials = drive(optimizer, n_trials, fail_every=4)
    _require([t.id for t in trials] == list(range(n_trials)), "trial ids must count up from 0")
    for trial in trials:
        _require(in_space(space, trial.config), f"asked an invalid configuration {trial.config}")
        _require(0.0 < trial.fidelity <= 1.0, f"fidelity {trial.fidelity} not in (0, 1]")

    first = drive(factory(space, 11), n_trials, fail_every=5)
    again = drive(factory(space, 11), n_trials, fail_every=5)
    other = drive(factory(space, 12), n_trials, fail_every=5)
    _require(first == again, "the same seed must give the same trials")
    _require([t.config for t in first] != [t.config for t in other], "seeds change nothing")

    optimizer = factory(space, 0)
    queued = [
        {"lr": 0.1, "n": 20, "kernel": "poly", "degree": 3},
        {"lr": 0.01, "n": 5, "kernel": "rbf"},
    ]
    for config in queued:
        optimizer.enqueue(config)
    asked = [optimizer.ask(), optimizer.ask()]
    _require([t.config for t in asked] == queued, "enqueued configurations must come first")
    _refuses(lambda: optimizer.enqueue({"lr": 5.0, "n": 20, "kernel": "rbf"}), "enqueue outside")
    optimizer.tell(asked[0], float("nan"))
    _refuses(lambda: optimizer.tell(asked[0], 1.0), "a second tell of one trial")
    _refuses(lambda: optimizer.tell(Trial(10_000, asked[1].config), 1.0), "a tell never asked")


def _refuses(call: Callable[[], object], what: str) -> None:
    try:
        call()
    except ValueError:
        return
    raise AssertionError(f"{what} must raise ValueError")
