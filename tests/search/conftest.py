"""Tiny search spaces and objectives shared by the search tests."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest
from ConfigSpace import ConfigurationSpace

from metakb.search import EvalResult
from metakb.search.testing import contract_space, toy_value

mixed_space = contract_space


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
