"""Relative fit costs from stored fit times: measured ratios, the per-task model, unknown."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from metakb.configs import canonical_json
from metakb.models import FitCostModel
from metakb.spaces import ALGORITHMS

LIGHTGBM = ALGORITHMS["lightgbm"]
SPACE = LIGHTGBM.space
DEFAULT = LIGHTGBM.library_config()


def _times(rows: list[tuple[str, dict, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "task_id": [t for t, _, _ in rows],
            "params": [canonical_json(c) for _, c, _ in rows],
            "runtime_s": [s for _, _, s in rows],
        }
    )


def test_measured_ratio_is_the_median_over_tasks_with_both() -> None:
    slow = {**DEFAULT, "learning_rate": 0.01}
    rows = [
        ("a", DEFAULT, 1.0),
        ("a", slow, 8.0),
        ("b", DEFAULT, 2.0),
        ("b", slow, 20.0),
        ("c", DEFAULT, 1.0),
        ("c", slow, 12.0),
        ("d", slow, 1000.0),  # no default on d: not a measured ratio
    ]
    model = FitCostModel(SPACE, DEFAULT).fit(_times(rows))
    cost = model.relative_cost(slow)
    assert cost.value == pytest.approx(10.0) and cost.basis == "measured on 3 tasks"
    assert model.relative_cost(DEFAULT).value == 1.0
    # Too few fits for a model: a configuration never timed is unknown, not guessed.
    other = {**DEFAULT, "num_leaves": 200}
    assert model.relative_cost(other).value is None
    assert model.relative_cost(other).basis.startswith("unknown")


def test_the_model_learns_relative_times_without_the_default() -> None:
    # Fit times log t = task size + b . x(config): the default is never fitted, and
    # each task runs on its own scale, yet the ratio to the default is recovered.
    rng = np.random.default_rng(0)
    b = rng.normal(size=SPACE.n_dims)
    rows = []
    for task, scale in (("a", 0.1), ("b", 3.0), ("c", 50.0), ("d", 1.0)):
        for config in SPACE.sample(15, seed=len(rows)):
            rows.append((task, config, scale * float(np.exp(SPACE.encode(config) @ b))))
    model = FitCostModel(SPACE, DEFAULT).fit(_times(rows))
    for config in SPACE.sample(5, seed=99):
        truth = float(np.exp((SPACE.encode(config) - SPACE.encode(DEFAULT)) @ b))
        cost = model.relative_cost(config)
        assert cost.value == pytest.approx(truth, rel=0.05)
        assert cost.basis == "modelled from 60 fits on 4 tasks"


def test_rows_that_are_not_fit_times_of_the_space_are_left_out() -> None:
    slow = {**DEFAULT, "learning_rate": 0.01}
    times = _times([("a", DEFAULT, 1.0), ("a", slow, 4.0), ("b", DEFAULT, 0.0), ("b", slow, 9.0)])
    bad = pd.DataFrame(
        {"task_id": ["a"], "params": [json.dumps({"num_leaves": "many"})], "runtime_s": [1.0]}
    )
    model = FitCostModel(SPACE, DEFAULT).fit(pd.concat([times, bad], ignore_index=True))
    # Task b's default has no positive time: only task a measures the ratio.
    assert model.relative_cost(slow).value == pytest.approx(4.0)
    empty = FitCostModel(SPACE, DEFAULT).fit(times.iloc[:0])
    assert empty.relative_cost(slow).value is None
