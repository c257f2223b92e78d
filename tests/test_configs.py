import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from metakb.configs import canonical_json, canonical_value, config_id


def test_forms_of_one_setting_share_an_id() -> None:
    from_csv = {"max_depth": "None", "bootstrap": "True", "n_estimators": 100.0, "lr": "0.1"}
    from_optimizer = {
        "lr": np.float64(0.1),
        "n_estimators": np.int64(100),
        "bootstrap": True,
        "max_depth": None,
    }
    assert config_id("f", from_csv) == config_id("f", from_optimizer)


def test_flow_is_part_of_the_id() -> None:
    assert config_id("openml:6969", {"a": 1}) != config_id("openml:6970", {"a": 1})


def test_canonical_values() -> None:
    assert canonical_value(float("nan")) is None
    assert canonical_value("") is None
    assert canonical_value(" gini ") == "gini"
    assert canonical_value("FALSE") is False
    assert canonical_value(2.0) == 2 and isinstance(canonical_value(2.0), int)
    assert canonical_value(np.bool_(True)) is True
    assert canonical_value(float("inf")) == "inf"
    assert canonical_value(b"rbf") == "rbf"


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
)


@given(st.dictionaries(st.text(min_size=1, max_size=6), scalars, max_size=6))
def test_canonicalization_is_idempotent_and_order_free(params: dict) -> None:
    text = canonical_json(params)
    # The canonical form of the canonical form is itself, whatever the key order.
    import json

    reparsed = json.loads(text)
    assert canonical_json(reparsed) == text
    assert canonical_json(dict(reversed(list(params.items())))) == text
    assert config_id("f", params) == config_id("f", reparsed)
