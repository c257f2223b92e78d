"""Size-dependent hyperparameters are capped for small tables, so every tree can split."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from metakb.search import CVObjective, SpaceEstimators
from metakb.spaces import ALGORITHMS, Algorithm, TreeSize, get_algorithm
from metakb.spaces._algorithm import TREE_LEAVES

WITH_TREES = sorted(name for name, a in ALGORITHMS.items() if a.tree_size is not None)
WITHOUT_TREES = sorted(name for name, a in ALGORITHMS.items() if a.tree_size is None)
# 4 leaves of LightGBM's largest min_data_in_leaf (60); RandomForest's largest leaf
# (20) needs 4 * 20 distinct rows of a bootstrap sample, which 127 rows give.
IDENTITY_FROM = 240


def distinct_rows(n_rows: int, bootstraps: bool) -> float:
    """Return the rows a tree counts: the expected distinct rows of a bootstrap sample."""
    return n_rows * (1 - (1 - 1 / n_rows) ** n_rows) if bootstraps else n_rows


def configs(algorithm: Algorithm) -> st.SearchStrategy[dict]:
    """Draw any configuration of the algorithm's space (through its [0, 1] encoding)."""
    unit = st.floats(0, 1, allow_nan=False)
    vectors = st.lists(unit, min_size=algorithm.space.n_dims, max_size=algorithm.space.n_dims)
    return vectors.map(lambda v: algorithm.space.decode(np.array(v)))


@pytest.mark.parametrize("name", WITH_TREES)
@settings(max_examples=200, deadline=None)
@given(data=st.data(), n_rows=st.integers(10, 100_000))
def test_the_capped_configuration_leaves_room_for_four_leaves(name, data, n_rows):
    algorithm = ALGORITHMS[name]
    size = algorithm.tree_size
    assert size is not None
    config = data.draw(configs(algorithm))
    fitted = algorithm.fit_to_rows(config, n_rows)
    n = distinct_rows(n_rows, size.bootstrap is not None and config[size.bootstrap] is True)

    assert set(fitted) == set(config)
    assert all(fitted[k] == config[k] for k in config if k not in size.names)
    assert all(1 <= fitted[k] <= config[k] for k in size.names)
    # Four leaves of the leaf size fit in the rows: the root and both its children can split.
    assert TREE_LEAVES * fitted[size.min_leaf] <= n
    if size.min_split is not None:
        assert fitted[size.min_split] >= 2 and 2 * fitted[size.min_split] <= n
    if size.max_leaves is not None:
        leaves = fitted[size.max_leaves]
        assert leaves >= min(config[size.max_leaves], TREE_LEAVES)
        assert leaves == config[size.max_leaves] or leaves * fitted[size.min_leaf] <= n


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
@settings(max_examples=100, deadline=None)
@given(data=st.data(), n_rows=st.integers(IDENTITY_FROM, 100_000))
def test_the_rule_is_the_identity_on_large_tables(name, data, n_rows):
    algorithm = ALGORITHMS[name]
    config = data.draw(configs(algorithm))
    assert algorithm.fit_to_rows(config, n_rows) == config
    assert algorithm.adaptations(config, n_rows) == {}
    for task_type in algorithm.task_types:
        assert algorithm.estimator_params(config, task_type, n_rows).keys() == (
            algorithm.estimator_params(config, task_type).keys()
        )


@pytest.mark.parametrize("name", WITHOUT_TREES)
def test_an_algorithm_without_trees_is_never_capped(name):
    algorithm = ALGORITHMS[name]
    for config in algorithm.space.sample(5, seed=0):
        assert algorithm.fit_to_rows(config, 10) == config


def test_the_identity_ends_where_lightgbm_leaves_no_longer_fit():
    lightgbm = get_algorithm("lightgbm")
    config = {**lightgbm.space.default(), "min_data_in_leaf": 60, "num_leaves": 255}
    assert lightgbm.fit_to_rows(config, IDENTITY_FROM) == config
    # Named by LGBMClassifier's arguments, as the configuration is shown.
    assert lightgbm.adaptations(config, IDENTITY_FROM - 1) == {
        "min_child_samples": (60, 59),
        "num_leaves": (255, 4),
    }


def test_a_leaf_count_is_only_capped_with_the_leaf_size():
    lightgbm = get_algorithm("lightgbm")
    # 1,000 rows fill at most 50 leaves of 20, but 255 allowed leaves change no tree.
    config = {**lightgbm.space.default(), "min_data_in_leaf": 20, "num_leaves": 255}
    assert lightgbm.fit_to_rows(config, 1000) == config
    assert lightgbm.fit_to_rows(config, 60)["num_leaves"] == 60 // 15


def test_bootstrap_samples_count_their_distinct_rows():
    forest = get_algorithm("random_forest")
    leaf, split = (
        "randomforestclassifier__min_samples_leaf",
        "randomforestclassifier__min_samples_split",
    )
    config = {**forest.space.default(), leaf: 20, split: 20}
    bootstrapped = forest.fit_to_rows({**config, "randomforestclassifier__bootstrap": True}, 48)
    whole = forest.fit_to_rows({**config, "randomforestclassifier__bootstrap": False}, 48)
    # A bootstrap sample of 48 rows holds about 30 distinct ones.
    assert (bootstrapped[leaf], bootstrapped[split]) == (30 // 4, 30 // 2)
    assert (whole[leaf], whole[split]) == (48 // 4, 20)


def test_capped_values_may_leave_the_space_for_the_estimator():
    lightgbm = get_algorithm("lightgbm")
    config = {**lightgbm.space.default(), "min_data_in_leaf": 60, "num_leaves": 255}
    params = lightgbm.estimator_params(config, "classification", 48)
    assert (params["min_child_samples"], params["num_leaves"]) == (12, 4)
    assert not lightgbm.space.contains(lightgbm.fit_to_rows(config, 48))  # 4 < 16 leaves
    model = lightgbm.model(config, "classification", n_rows=48)
    assert model.get_params()["num_leaves"] == 4
    assert lightgbm.model(config, "classification").get_params()["num_leaves"] == 255


def test_a_pipeline_is_fitted_to_its_tables_rows_and_an_empty_frame_only_names_columns():
    lightgbm = get_algorithm("lightgbm")
    config = {**lightgbm.space.default(), "min_data_in_leaf": 60}
    x = pd.DataFrame({"a": np.arange(40.0)})
    assert lightgbm.pipeline(config, x, "classification")["model"].min_child_samples == 10
    assert lightgbm.pipeline(config, x.iloc[:0], "classification")["model"].min_child_samples == 60


def test_bad_rows_and_configurations_are_value_errors():
    lightgbm = get_algorithm("lightgbm")
    with pytest.raises(ValueError, match="at least 1 row"):
        lightgbm.fit_to_rows(lightgbm.space.default(), 0)
    with pytest.raises(ValueError):
        lightgbm.fit_to_rows({**lightgbm.space.default(), "min_data_in_leaf": 61}, 100)


def test_a_tree_size_must_name_hyperparameters():
    lightgbm = get_algorithm("lightgbm")
    with pytest.raises(ValueError, match="not hyperparameters"):
        dataclasses.replace(lightgbm, tree_size=TreeSize("min_data_in_leaf", bootstrap="bagging"))
    assert lightgbm.size_dependent == ("min_data_in_leaf", "num_leaves")


# --- a real small table -----------------------------------------------------------------

ROWS = 60
# The published runs' extremes: large leaves and many of them, for tables of thousands of rows.
EXTREMES = [
    ("lightgbm", {"min_data_in_leaf": 60, "num_leaves": 255, "learning_rate": 0.1}),
    ("lightgbm", {"min_data_in_leaf": 60, "num_leaves": 255, "extra_trees": True}),
    ("lightgbm", {"min_data_in_leaf": 45, "num_leaves": 16, "feature_fraction": 0.4}),
    (
        "random_forest",
        {
            "randomforestclassifier__min_samples_leaf": 20,
            "randomforestclassifier__min_samples_split": 20,
            "randomforestclassifier__bootstrap": True,
            "randomforestclassifier__max_features": 0.1,
        },
    ),
    (
        "random_forest",
        {
            "randomforestclassifier__min_samples_leaf": 20,
            "randomforestclassifier__bootstrap": False,
            "randomforestclassifier__criterion": "entropy",
        },
    ),
]


@pytest.fixture(scope="module")
def small_table() -> tuple[pd.DataFrame, pd.Series]:
    """Return 60 rows: two informative columns, two of noise, a balanced binary target."""
    rng = np.random.default_rng(7)
    x = pd.DataFrame(rng.normal(size=(ROWS, 4)), columns=["a", "b", "noise1", "noise2"])
    signal = x["a"] + 0.7 * x["b"] + 0.3 * rng.normal(size=ROWS)
    return x, (signal > signal.median()).astype(int)


def extreme(name: str, values: dict) -> dict:
    return {**ALGORITHMS[name].space.default(), **values}


@pytest.mark.parametrize(
    ("name", "values"), EXTREMES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(EXTREMES)]
)
def test_extreme_configurations_cross_validate_to_a_real_model(name, values, small_table):
    x, y = small_table
    algorithm = ALGORITHMS[name]
    config = extreme(name, values)
    objective = CVObjective(
        x,
        y,
        SpaceEstimators(name, "classification"),
        task_type="classification",
        metric="roc_auc",
        n_splits=5,
    )
    result = objective(config)
    assert result.status == "ok", result.error
    assert result.score is not None and result.score > 0.75
    assert all(score > 0.5 for score in result.folds)

    # The predictions of every fold vary; without the caps, leaves that two of
    # cannot fit in a fold's (distinct) rows make a constant model.
    size = algorithm.tree_size
    assert size is not None
    bootstraps = size.bootstrap is not None and config[size.bootstrap] is True
    folds = StratifiedKFold(5, shuffle=True, random_state=0).split(x, y)
    for train, test in folds:
        fitted = SpaceEstimators(name, "classification")(config, x.iloc[train])
        fitted.fit(x.iloc[train], y.iloc[train])
        assert np.unique(fitted.predict_proba(x.iloc[test])[:, 1]).size > 1
        if 2 * config[size.min_leaf] > distinct_rows(len(train), bootstraps):
            raw = Pipeline(
                [
                    ("prep", algorithm.preprocessor(x)),
                    ("model", algorithm.model(config, "classification")),
                ]
            ).fit(x.iloc[train], y.iloc[train])
            constant = raw.predict_proba(x.iloc[test])[:, 1]
            assert math.isclose(roc_auc_score(y.iloc[test], constant), 0.5)


def test_a_huge_table_keeps_its_configuration():
    forest = get_algorithm("random_forest")
    config = {**forest.space.default(), "randomforestclassifier__min_samples_leaf": 20}
    # 1 - 1/n is 1 in floats here, and the row count is no float at all.
    assert forest.fit_to_rows(config, 10**17) == config
    assert forest.fit_to_rows(config, 10**400) == config
