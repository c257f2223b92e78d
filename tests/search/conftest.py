"""Tiny search spaces and objectives shared by the search tests."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import pytest
from ConfigSpace import Categorical, ConfigurationSpace, EqualsCondition, Float, Integer

from metakb.search import EvalResult


def mixed_space() -> ConfigurationSpace:
    """Float (log), int (log), categorical and one conditional integer."""
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
    """A smooth function with its optimum at lr=0.1, n=20, kernel=poly, degree=3."""
    value = -((math.log10(config["lr"]) + 1.0) ** 2) - (config["n"] - 20) ** 2 / 400
    if config["kernel"] == "poly":
        value += 0.3 - 0.05 * abs(config["degree"] - 3)
    return value - 0.2 * (1.0 - fidelity)


class ToyObjective:
    """Picklable objective; fails for kernel='linear' when ``fail_linear``."""

    def __init__(self, fail_linear: bool = False) -> None:
        self.fail_linear = fail_linear
        self.calls: list[tuple[dict[str, Any], float]] = []

    def __call__(self, config: Mapping[str, Any], fidelity: float = 1.0) -> EvalResult:
        self.calls.append((dict(config), fidelity))
        if self.fail_linear and config["kernel"] == "linear":
            return EvalResult.failed("linear kernels are broken here")
        return EvalResult(toy_value(config, fidelity), 0.0)


@pytest.fixture
def space() -> ConfigurationSpace:
    return mixed_space()


class SleepyObjective:
    """Picklable objective that hangs for rbf kernels (to exercise time limits)."""

    def __init__(self, sleep_s: float) -> None:
        self.sleep_s = sleep_s

    def __call__(self, config: Mapping[str, Any], fidelity: float = 1.0) -> EvalResult:
        time.sleep(self.sleep_s if config["kernel"] == "rbf" else 0.0)
        return EvalResult(1.0, 0.0)
