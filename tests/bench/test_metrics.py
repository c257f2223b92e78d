from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from metakb.bench.metrics import (
    curves_frame,
    evals_to_regret,
    mean_rank,
    normalized_regret,
    normalized_score,
    regret_curve,
    regret_of_picks,
    regret_table,
    task_scores,
)


def test_score_and_regret_are_hpo_b_normalization():
    assert normalized_score(3.0, 1.0, 5.0) == pytest.approx(0.5)
    assert normalized_regret(3.0, 1.0, 5.0) == pytest.approx(0.5)
    assert normalized_regret(5.0, 1.0, 5.0) == 0.0
    # Nothing found yet is regret 1; a flat task is regret 0 (every value is its best).
    assert normalized_regret(-np.inf, 1.0, 5.0) == 1.0
    assert normalized_regret(2.0, 2.0, 2.0) == 0.0
    # A surrogate may predict past the evaluated range: clipped.
    assert normalized_regret(7.0, 1.0, 5.0) == 0.0
    rows = np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]])
    scores = normalized_score(
        rows, rows.min(axis=1, keepdims=True), rows.max(axis=1, keepdims=True)
    )
    assert scores.tolist() == [[0.0, 0.5, 1.0], [1.0, 1.0, 1.0]]


def test_task_scores_and_regret_of_picks():
    y = np.array([0.2, 0.8, 0.5])
    assert task_scores(y).tolist() == pytest.approx([0.0, 1.0, 0.5])
    assert regret_of_picks(y, [0, 2]) == pytest.approx(0.5)
    assert regret_of_picks(y, []) == 1.0


def test_regret_curve_carries_the_best_forward():
    curve = regret_curve([np.nan, 0.0, 1.0, 0.5], 0.0, 1.0, 6)
    assert curve.tolist() == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]


def _frame() -> pd.DataFrame:
    # Two tasks, two seeds, budget 4: "good" reaches regret 0 at 2 evaluations, "slow" at 4.
    good = np.array([[0.5, 0.0, 0.0, 0.0]] * 2)
    slow = np.array([[1.0, 0.5, 0.2, 0.0]] * 2)
    return curves_frame(
        {(m, t): c for t in ("a", "b") for m, c in (("good", good), ("slow", slow))}
    )


def test_curve_statistics():
    frame = _frame()
    table = regret_table(frame, budgets=(1, 4))
    assert table.loc["good", 1] == 0.5 and table.loc["slow", 1] == 1.0
    assert table.loc["slow", 4] == 0.0
    ranks = mean_rank(frame)
    assert ranks.loc["good", 2] == 1.0 and ranks.loc["slow", 2] == 2.0
    assert ranks.loc["good", 4] == ranks.loc["slow", 4] == 1.5  # ties share the average rank
    reach = evals_to_regret(frame, 0.05)
    assert (reach["reached"] == 1.0).all()
    assert reach.loc["good", "median_evals"] == 2.0 and reach.loc["slow", "median_evals"] == 4.0
