from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.model_selection import StratifiedKFold, cross_val_score

from metakb.search import (
    CVObjective,
    DefaultEstimators,
    LookupObjective,
    SpaceEstimators,
    SurrogateObjective,
    categorical_columns,
    cv_scorer,
)
from metakb.search._space import SpaceSampler
from metakb.spaces import SPACES
from tests.search.conftest import toy_value

SMALL = {
    "random_forest": {"n_estimators": 8, "max_depth": 3},
    "adaboost": {"n_estimators": 8, "max_depth": 2, "learning_rate": 0.5},
    "svc": {"C": 1.0},
    "lightgbm": {"n_estimators": 16, "num_leaves": 7, "min_child_samples": 5},
}


@pytest.fixture(scope="module")
def iris_mixed():
    x, y = load_iris(return_X_y=True, as_frame=True)
    x = x.copy()
    # A categorical column with a missing value, as a user's table would have.
    x["size"] = pd.Series(np.where(x.iloc[:, 0] > 5.8, "big", "small"), dtype="category")
    x.loc[3, "size"] = None
    x.iloc[5, 0] = np.nan
    return x, y


# Every record is fitted by tests/spaces/test_algorithms.py; these are native-kwargs cases.
@pytest.mark.parametrize("algorithm", sorted(SMALL))
def test_cv_fits_every_algorithm_on_mixed_columns(algorithm, iris_mixed):
    x, y = iris_mixed
    kind = "rounds" if algorithm == "lightgbm" else "rows"
    objective = CVObjective(
        x,
        y,
        DefaultEstimators(algorithm, "classification"),
        task_type="classification",
        n_splits=3,
        fidelity_kind=kind,
    )
    full = objective(SMALL[algorithm], 1.0)
    low = objective(SMALL[algorithm], 1 / 9)
    assert full.status == "ok" and 0.8 < full.score <= 1.0
    assert low.status == "ok" and 0.0 < low.score <= 1.0
    assert full.seconds > 0


@pytest.mark.parametrize("algorithm", ["svc", "random_forest"])
def test_multiclass_roc_auc_with_and_without_probabilities(algorithm, iris_mixed):
    x, y = iris_mixed
    result = CVObjective(
        x,
        y,
        DefaultEstimators(algorithm, "classification"),
        task_type="classification",
        metric="roc_auc",
        n_splits=3,
    )(SMALL[algorithm], 1.0)
    assert result.status == "ok" and 0.9 < result.score <= 1.0


def test_cv_binary_roc_auc_and_regression_rmse():
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    auc = CVObjective(
        x,
        y,
        DefaultEstimators("random_forest", "classification"),
        task_type="classification",
        metric="roc_auc",
        n_splits=3,
    )({"n_estimators": 8}, 0.5)
    assert auc.status == "ok" and auc.score > 0.9
    xr, yr = load_diabetes(return_X_y=True, as_frame=True)
    rmse = CVObjective(
        xr, yr, DefaultEstimators("lightgbm", "regression"), task_type="regression", n_splits=3
    )({"n_estimators": 10}, 1.0)
    assert rmse.status == "ok" and -100 < rmse.score < 0


def test_regression_r2_is_scikit_learns_and_neg_rmse_stays_the_default():
    from sklearn.model_selection import KFold, cross_val_score

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    y = 2.0 * x["a"] - x["b"] + rng.normal(scale=0.3, size=80)
    make = DefaultEstimators("random_forest", "regression")
    objective = CVObjective(x, y, make, task_type="regression", metric="r2", n_splits=3)
    result = objective({"n_estimators": 8}, 1.0)
    folds = KFold(3, shuffle=True, random_state=0)
    expected = cross_val_score(make({"n_estimators": 8}, x), x, y, scoring="r2", cv=folds)
    assert result.status == "ok" and result.score == pytest.approx(expected.mean())
    assert 0.5 < result.score <= 1.0
    assert CVObjective(x, y, make, task_type="regression").metric == "neg_rmse"


@pytest.mark.parametrize(
    ("task_type", "metric"),
    [("regression", "accuracy"), ("regression", "roc_auc"), ("classification", "r2")],
)
def test_a_metric_of_the_other_task_type_is_refused(iris_mixed, task_type, metric):
    x, y = iris_mixed
    make = DefaultEstimators("svc", task_type)
    with pytest.raises(ValueError, match=f"{metric} does not score {task_type}"):
        CVObjective(x, y, make, task_type=task_type, metric=metric)


def test_cross_val_score_with_cv_scorer_scores_as_the_objective(iris_mixed):
    # The sweep-throughput benchmark's plain loop relies on this being the same fold scores.
    x, y = iris_mixed
    make = DefaultEstimators("random_forest", "classification")
    folds = CVObjective(x, y, make, task_type="classification", metric="roc_auc", n_splits=3)(
        SMALL["random_forest"]
    ).folds
    plain = cross_val_score(
        make(SMALL["random_forest"], x),
        x,
        y,
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        scoring=cv_scorer("roc_auc", y),
    )
    assert plain.tolist() == pytest.approx(list(folds), abs=1e-12)


def test_rows_fidelity_keeps_every_class_in_the_subsample(iris_mixed):
    x, y = iris_mixed
    objective = CVObjective(
        x, y, DefaultEstimators("svc", "classification"), task_type="classification"
    )
    train = np.arange(len(y))
    picked = objective._subsample(train, 0.02, np.random.default_rng(0))
    assert set(y.iloc[picked]) == set(y)


class RecordingEstimators:
    """LightGBM's space pipelines, remembered with the rows of the table each is built for."""

    def __init__(self) -> None:
        self.make = SpaceEstimators("lightgbm", "classification")
        self.built: list[tuple[int, Any]] = []

    def __call__(self, config: Mapping[str, Any], x: pd.DataFrame) -> Any:
        pipeline = self.make(config, x)
        self.built.append((len(x), pipeline))
        return pipeline


@pytest.mark.parametrize("fidelity", [1.0, 0.25])
def test_each_fold_fits_its_model_to_its_training_rows(fidelity, iris_mixed):
    x, y = iris_mixed
    make = RecordingEstimators()
    objective = CVObjective(x, y, make, task_type="classification", n_splits=5)
    config = {**SPACES["lightgbm"].default(), "min_data_in_leaf": 60, "learning_rate": 0.1}
    result = objective(config, fidelity)
    assert result.status == "ok", result.error
    # 120 training rows a fold, 30 at a quarter of them: 60-row leaves would allow no
    # split in either, and the table's 150 rows would still allow none in 30.
    assert [rows for rows, _ in make.built] == [round(fidelity * 120)] * 5
    assert all(p["model"].min_child_samples == rows // 4 for rows, p in make.built)
    assert result.score is not None and result.score > 0.6


def test_bad_config_and_timeout_become_failed_trials(iris_mixed):
    x, y = iris_mixed
    make = DefaultEstimators("svc", "classification")
    objective = CVObjective(x, y, make, task_type="classification", n_splits=3)
    bad = objective({"C": -1.0}, 1.0)
    assert bad.status == "failed" and bad.score is None and "C" in bad.error
    unknown = objective({"no_such_parameter": 1}, 1.0)
    assert unknown.status == "failed"
    assert objective({"C": 1.0}, 0.0).status == "failed"  # fidelity out of range
    slow = CVObjective(x, y, make, task_type="classification", time_limit=0.0)({"C": 1.0}, 1.0)
    assert slow.status == "failed" and "time limit" in slow.error


def test_rounds_fidelity_needs_n_estimators(iris_mixed):
    x, y = iris_mixed
    objective = CVObjective(
        x,
        y,
        DefaultEstimators("svc", "classification"),
        task_type="classification",
        fidelity_kind="rounds",
    )
    result = objective({"C": 1.0}, 0.5)
    assert result.status == "failed" and "n_estimators" in result.error


def test_cv_objective_validates_inputs(iris_mixed):
    x, y = iris_mixed
    make = DefaultEstimators("svc", "classification")
    with pytest.raises(ValueError, match="unknown metric"):
        CVObjective(x, y, make, task_type="classification", metric="f1")
    with pytest.raises(ValueError, match="rows"):
        CVObjective(x, y[:10], make, task_type="classification")
    with pytest.raises(ValueError, match="unknown algorithm"):
        DefaultEstimators("xgboost", "classification")
    assert categorical_columns(x) == ["size"]


def test_lookup_objective_returns_recorded_values(space):
    configs = SpaceSampler(space).sample(np.random.default_rng(0), 5)
    values = [0.1, 0.5, float("nan"), 0.3, 0.2]
    objective = LookupObjective([*configs, configs[0]], [*values, 0.9], seconds=[1.0] * 6)
    assert len(objective.candidates) == 5  # the duplicate keeps its first value
    assert objective(configs[1], 0.3).score == 0.5
    assert objective(configs[1]).seconds == 1.0
    assert objective(configs[2]).status == "failed"
    assert objective({"lr": 0.5, "n": 1, "kernel": "rbf"}).status == "failed"
    assert (objective.best_value, objective.worst_value) == (0.5, 0.1)
    with pytest.raises(ValueError, match="same length"):
        LookupObjective(configs, values[:2])


def test_surrogate_objective_interpolates_a_task(space):
    configs = SpaceSampler(space).sample(np.random.default_rng(0), 200)
    values = [toy_value(c) for c in configs]
    objective = SurrogateObjective(space, n_trees=30, seed=0).fit(configs, values)
    fresh = SpaceSampler(space).sample(np.random.default_rng(1), 50)
    predicted = [objective(c).score for c in fresh]
    truth = [toy_value(c) for c in fresh]
    assert np.corrcoef(predicted, truth)[0, 1] > 0.7
    assert objective(fresh[0]).score == objective(fresh[0]).score  # deterministic
    assert objective({"lr": 0.1}).status == "failed"
    assert math.isfinite(predicted[0])


def test_multiclass_auc_leaves_out_a_class_absent_from_the_fold() -> None:
    from sklearn.metrics import roc_auc_score

    from metakb.search._objectives import _multiclass_auc

    rng = np.random.default_rng(0)
    labels = np.array([0, 1, 2])
    scores = rng.dirichlet([1, 1, 1], 60)
    y = rng.integers(0, 3, 60)
    assert _multiclass_auc(y, scores, labels) == pytest.approx(
        roc_auc_score(y, scores, multi_class="ovr")
    )
    y_two = np.where(y == 2, 0, y)  # class 2 never appears in this fold
    expected = np.mean([roc_auc_score(y_two == c, scores[:, c]) for c in (0, 1)])
    assert _multiclass_auc(y_two, scores, labels) == pytest.approx(expected)


def test_cv_auc_survives_a_class_missing_from_a_training_fold() -> None:
    from metakb.search import SpaceEstimators
    from metakb.spaces import get_space

    rng = np.random.default_rng(0)
    x = pd.DataFrame({"a": rng.normal(size=118), "b": rng.normal(size=118)})
    # Class 3 has one row: four test folds lack it and the fifth's training fold
    # does, so that model knows three classes; the score stays defined.
    y = np.r_[np.repeat([0, 1, 2], 39), [3, 3, 3]][:118]  # class 3: one row
    x.loc[y == 1, "a"] += 2
    objective = CVObjective(
        x,
        y,
        SpaceEstimators("lightgbm", "classification"),
        task_type="classification",
        metric="roc_auc",
        n_splits=5,
    )
    result = objective(get_space("lightgbm").default())
    assert result.status == "ok" and result.score is not None and 0.5 < result.score <= 1.0
