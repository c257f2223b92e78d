import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metakb.configs import canonicalize
from metakb.spaces import INACTIVE_VALUE, SPACES, get_space


def assert_same_config(a, b):
    assert a.keys() == b.keys()
    for key, value in b.items():
        if isinstance(value, float):
            assert a[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        else:
            assert a[key] == value, key


@pytest.mark.parametrize("name", sorted(SPACES))
@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_encode_decode_round_trip(name, seed):
    space = SPACES[name]
    for config in space.sample(3, seed=seed):
        x = space.encode(config)
        assert x.shape == (space.n_dims,)
        assert np.all((x >= 0) & (x <= 1))
        assert_same_config(space.decode(x), config)
        assert space.contains(config)


@pytest.mark.parametrize("name", sorted(SPACES))
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_decode_any_point_gives_a_config_in_space(name, data):
    space = SPACES[name]
    x = np.array(data.draw(st.lists(st.floats(0, 1), min_size=space.n_dims, max_size=space.n_dims)))
    assert space.contains(space.decode(x))


def test_same_seed_same_sample():
    space = SPACES["svc"]
    assert space.sample(5, seed=3) == space.sample(5, seed=3)
    assert space.sample(5, seed=3) != space.sample(5, seed=4)


def test_flow_params_round_trip_and_constants():
    space = SPACES["random_forest"]
    config = space.sample(1, seed=0)[0]
    flow = space.to_flow_params(config)
    assert flow["randomforestclassifier__n_estimators"] == 100
    assert flow["randomforestclassifier__max_depth"] is None
    assert space.from_flow_params(flow) == config


def test_svc_conditionals():
    space = SPACES["svc"]
    rbf = {
        "svc__kernel": "rbf",
        "svc__C": 1.0,
        "svc__gamma": 0.1,
        "svc__coef0": "",  # empty cell in the published CSV
        "svc__degree": None,
        "svc__shrinking": "True",
        "svc__tol": 0.01,
        "svc__max_iter": -1,
        "columntransformer__numeric__imputer__strategy": "mean",
    }
    config = space.validate(rbf)
    assert "svc__coef0" not in config and "svc__degree" not in config
    x = space.encode(config)
    assert x[space.feature_names.index("svc__degree")] == INACTIVE_VALUE
    poly = {**rbf, "svc__kernel": "poly", "svc__coef0": 0.5, "svc__degree": 2.0}
    config = space.validate(poly)
    assert config["svc__degree"] == 2 and config["svc__coef0"] == 0.5
    assert space.to_estimator_params(config)["degree"] == 2
    sigmoid = space.validate({**poly, "svc__kernel": "sigmoid"})
    assert "svc__degree" not in sigmoid and "svc__coef0" in sigmoid


def test_invalid_configs_raise_value_error():
    space = SPACES["adaboost"]
    config = space.default()
    with pytest.raises(ValueError):
        space.validate({**config, "adaboostclassifier__learning_rate": 50.0})
    with pytest.raises(ValueError):
        space.validate({**config, "adaboostclassifier__algorithm": "XYZ"})
    with pytest.raises(ValueError):
        space.validate({k: v for k, v in config.items() if k != "adaboostclassifier__n_estimators"})
    assert not space.contains({"foo": 1})


def test_lightgbm_absent_means_autogluon_default_and_rounds():
    space = SPACES["lightgbm"]
    config = space.validate({"extra_trees": True})
    assert config == {**space.default(), "extra_trees": True}
    kwargs = space.to_estimator_params({**config, "learning_rate": 0.01})
    assert kwargs["n_estimators"] == 1000
    assert kwargs["colsample_bytree"] == 1.0 and isinstance(kwargs["colsample_bytree"], float)


def test_random_forest_fraction_stays_float():
    space = SPACES["random_forest"]
    kwargs = space.to_estimator_params(space.default())
    assert isinstance(kwargs["max_features"], float)


@pytest.mark.parametrize(
    ("ref", "name"),
    [
        ("openml:6969", "random_forest"),
        (6970, "adaboost"),
        ("8784", "svc"),
        ("tabrepo:lightgbm", "lightgbm"),
        ("SVC", "svc"),
    ],
)
def test_get_space(ref, name):
    assert get_space(ref).name == name


def test_get_space_unknown():
    with pytest.raises(KeyError):
        get_space("xgboost")


def test_flow_params_reproduce_a_published_row_exactly() -> None:
    # An OpenML100 SVC run as stored: full float precision, the inactive degree as None.
    stored = {
        "columntransformer__numeric__imputer__strategy": "most_frequent",
        "svc__C": 2942.2228066150483,
        "svc__coef0": 0.48264137476030844,
        "svc__degree": None,
        "svc__gamma": 4.276330668150345e-05,
        "svc__kernel": "sigmoid",
        "svc__max_iter": -1,
        "svc__shrinking": True,
        "svc__tol": 0.02734761511127594,
    }
    space = get_space("svc")
    assert space.to_flow_params(space.validate(stored)) == canonicalize(stored)
