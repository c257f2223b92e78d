"""The contract every algorithm record keeps: a new record is checked for free."""

from __future__ import annotations

import importlib
import math
import pickle

import numpy as np
import pandas as pd
import pytest

from metakb.configs import config_id
from metakb.search import CVObjective, DefaultEstimators, SpaceEstimators
from metakb.spaces import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    SPACES,
    Algorithm,
    get_algorithm,
    get_space,
)
from tests.spaces.pipeline_cases import normalize

TASK_TYPES = ("classification", "regression")
RECORDS = sorted(ALGORITHMS)
SUPPORTED = [(name, t) for name in RECORDS for t in ALGORITHMS[name].task_types]


def tiny_table(task_type: str) -> tuple[pd.DataFrame, pd.Series]:
    """Return 30 rows: two numeric columns (one with a gap) and a categorical one."""
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(30, 2)), columns=["a", "b"])
    x["kind"] = pd.Series(rng.choice(["u", "v", "w"], size=30), dtype="category")
    x.loc[4, "a"] = np.nan
    signal = x["b"] + (x["kind"] == "u")
    y = (signal > signal.median()).astype(int) if task_type == "classification" else signal
    return x, pd.Series(y)


def small(algorithm: Algorithm) -> dict:
    """Return the default configuration, with a few rounds when the fidelity is rounds."""
    config = algorithm.space.default()
    rounds = [name for name in algorithm.space.names if name.endswith("n_estimators")]
    return {**config, **{name: 50 for name in rounds}}


@pytest.fixture(params=RECORDS)
def algorithm(request: pytest.FixtureRequest) -> Algorithm:
    return ALGORITHMS[request.param]


def test_the_registry_is_keyed_by_name_and_the_spaces_are_its_views():
    assert all(ALGORITHMS[name].name == name for name in ALGORITHMS)
    assert {name: a.space for name, a in ALGORITHMS.items()} == SPACES
    assert DEFAULT_ALGORITHM in ALGORITHMS


def test_lookup_by_name_flow_key_and_openml_id(algorithm):
    assert get_algorithm(algorithm.name) is algorithm
    assert get_space(algorithm.name) is algorithm.space
    for flow in algorithm.space.flow_ids:
        assert get_algorithm(flow) is algorithm
    for flow_id in algorithm.openml_flow_ids:
        assert get_algorithm(flow_id) is algorithm
        assert get_algorithm(str(flow_id)) is algorithm
    with pytest.raises(KeyError, match="no algorithm"):
        get_algorithm("no_such_algorithm")


def test_the_default_validates_and_round_trips(algorithm):
    space = algorithm.space
    default = space.default()
    assert space.contains(default)
    assert space.decode(space.encode(default)) == pytest.approx(default)
    assert space.from_flow_params(space.to_flow_params(default)) == default


@pytest.mark.parametrize(("name", "task_type"), SUPPORTED)
def test_the_pipeline_fits_and_cross_validates(name, task_type):
    algorithm = ALGORITHMS[name]
    x, y = tiny_table(task_type)
    config = small(algorithm)
    pipeline = algorithm.pipeline(config, x, task_type, seed=0)
    assert len(pipeline.fit(x, y).predict(x)) == len(x)
    assert len(algorithm.default_pipeline(x, task_type, seed=0).fit(x, y).predict(x)) == len(x)
    objective = CVObjective(
        x,
        y,
        SpaceEstimators(algorithm, task_type, seed=0),
        task_type=task_type,
        n_splits=3,
        fidelity_kind=algorithm.fidelity,
    )
    for fidelity in (1.0, 0.5):
        result = objective(config, fidelity)
        assert result.status == "ok", result.error
        assert math.isfinite(result.score)


def estimator_class(path: str) -> type:
    """Return the class at an import path (``"sklearn.svm.SVR"``)."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize(("name", "task_type"), SUPPORTED)
def test_estimator_params_construct_the_task_types_estimator(name, task_type):
    algorithm = ALGORITHMS[name]
    x, y = tiny_table(task_type)
    x = x[["a", "b"]].fillna(0.0)
    cls = estimator_class(algorithm.estimators[task_type])
    for config in [small(algorithm), *algorithm.space.sample(2, seed=1)]:
        # The shown keyword arguments are usable as shown, with the task type's estimator.
        params = algorithm.estimator_params(config, task_type)
        assert len(cls(**params).fit(x, y).predict(x)) == len(x)
        # The model of the configuration is built from the same arguments.
        model = algorithm.model(config, task_type, seed=0)
        assert isinstance(model, cls)
        built = model.get_params(deep=False)
        assert {k: normalize(built[k]) for k in params} == normalize(params)


def test_a_regression_forest_splits_on_squared_error_whatever_the_criterion():
    forest = get_algorithm("random_forest")
    space = forest.space
    gini = space.default()
    entropy = {**gini, "randomforestclassifier__criterion": "entropy"}
    for config in (gini, entropy):
        model = forest.model(config, "regression")
        assert type(model).__name__ == "RandomForestRegressor"
        assert model.criterion == "squared_error"
        assert forest.estimator_params(config, "regression")["criterion"] == "squared_error"
        # The configuration, and so its id, stays the OpenML flow's.
        assert space.validate(config) == config
    assert config_id("openml:6969", gini) != config_id("openml:6969", entropy)
    assert forest.model(entropy, "classification").criterion == "entropy"


def test_adaboost_regression_boosts_regression_trees_of_the_configured_depth():
    ada = get_algorithm("adaboost")
    config = {**ada.space.default(), "adaboostclassifier__base_estimator__max_depth": 4}
    config["adaboostclassifier__algorithm"] = "SAMME.R"  # no such thing for regression
    model = ada.model(config, "regression", seed=1)
    assert type(model).__name__ == "AdaBoostRegressor"
    assert type(model.estimator).__name__ == "DecisionTreeRegressor"
    assert model.estimator.max_depth == 4 and model.random_state == 1
    assert "algorithm" not in ada.estimator_params(config, "regression")
    assert type(ada.model(config, "classification").estimator).__name__ == (
        "DecisionTreeClassifier"
    )
    # Estimator-native arguments: stumps unless a depth is given, as for classification.
    assert ada.estimator({}, "regression").estimator.max_depth == 1


def test_an_unsupported_task_type_names_the_supported_ones(algorithm):
    for task_type in algorithm.task_types:
        assert algorithm.check_task_type(task_type) == task_type
    for task_type in [*(t for t in TASK_TYPES if t not in algorithm.task_types), "ranking"]:
        with pytest.raises(ValueError) as error:
            algorithm.check_task_type(task_type)
        message = str(error.value)
        assert "\n" not in message
        assert all(t in message for t in algorithm.task_types)
        with pytest.raises(ValueError):
            SpaceEstimators(algorithm, task_type)
        with pytest.raises(ValueError):
            DefaultEstimators(algorithm, task_type)


def test_the_openml_map_names_flow_parameters(algorithm):
    flow_params = {*algorithm.space.names, *algorithm.space.constants}
    assert set(algorithm.openml_params) <= flow_params
    if algorithm.openml_flow_ids:
        # A published flow maps every parameter configurations are stored under.
        assert set(algorithm.openml_params) == flow_params
        assert algorithm.openml_classes
    assert all(cls == cls.lower() for cls in algorithm.openml_classes)
    for fragment, name in algorithm.openml_params.values():
        assert fragment == fragment.lower() and name


def test_the_space_names_one_of_the_estimators(algorithm):
    assert algorithm.space.estimator in algorithm.estimators.values()
    assert algorithm.space.name == algorithm.name


def test_size_dependent_parameters_are_hyperparameters(algorithm):
    assert set(algorithm.size_dependent) <= set(algorithm.space.names)


def test_the_rounds_fidelity_has_rounds_to_shrink(algorithm):
    x, _ = tiny_table("classification")
    params = algorithm.pipeline(algorithm.space.default(), x, "classification").get_params()
    has_rounds = any(key.split("__")[-1] == "n_estimators" for key in params)
    assert has_rounds or algorithm.fidelity == "rows"


def test_records_and_factories_pickle(algorithm):
    assert pickle.loads(pickle.dumps(algorithm)) is algorithm
    task_type = algorithm.task_types[0]
    factory = pickle.loads(pickle.dumps(SpaceEstimators(algorithm.name, task_type, seed=2)))
    assert factory.algorithm is algorithm and factory.seed == 2
    x, _ = tiny_table(task_type)
    config = algorithm.space.default()
    assert normalize(factory(config, x)) == normalize(algorithm.pipeline(config, x, task_type, 2))


def test_an_unknown_algorithm_is_a_value_error_of_the_factories():
    with pytest.raises(ValueError, match="unknown algorithm"):
        SpaceEstimators("xgboost", "classification")


def test_lightgbm_library_config_is_lightgbms_own_default() -> None:
    import lightgbm

    algorithm = get_algorithm("lightgbm")
    model = algorithm.model(algorithm.library_config(), "classification").get_params()
    library = lightgbm.LGBMClassifier().get_params()
    for name in ("learning_rate", "n_estimators", "num_leaves", "min_child_samples"):
        assert model[name] == library[name], name
    assert model["colsample_bytree"] == library["colsample_bytree"]


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_library_config_is_a_valid_configuration(name: str) -> None:
    algorithm = ALGORITHMS[name]
    config = algorithm.library_config()
    assert algorithm.space.validate(config) == config
