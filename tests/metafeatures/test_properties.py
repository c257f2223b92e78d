"""Invariants on arbitrary and hostile small tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metakb.metafeatures import MetaFeatureResult, extract

CELL = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.integers(-3, 3).map(float),
    st.none(),
)


@st.composite
def tables(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.Series, str]:
    n = draw(st.integers(1, 25))
    n_num = draw(st.integers(0, 3))
    n_cat = draw(st.integers(0, 3))
    columns: dict[str, list[object]] = {}
    for j in range(n_num):
        columns[f"n{j}"] = draw(st.lists(CELL, min_size=n, max_size=n))
    for j in range(n_cat):
        columns[f"c{j}"] = draw(
            st.lists(st.one_of(st.sampled_from("abcd"), st.none()), min_size=n, max_size=n)
        )
    X = pd.DataFrame(columns, index=range(n))
    for j in range(n_num):
        X[f"n{j}"] = X[f"n{j}"].astype(float)
    task = draw(st.sampled_from(["classification", "regression"]))
    if task == "classification":
        y = pd.Series(draw(st.lists(st.sampled_from(["x", "y", "z"]), min_size=n, max_size=n)))
    else:
        y = pd.Series(draw(st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n)))
    return X, y, task


def assert_complete(result: MetaFeatureResult) -> None:
    for name, value in result.values.items():
        assert isinstance(value, float)
        assert math.isfinite(value) or name in result.skipped, name
    assert set(result.skipped) <= set(result.values)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_arbitrary_small_tables_never_crash(table: tuple[pd.DataFrame, pd.Series, str]) -> None:
    X, y, task = table
    result = extract(X, y, task_type=task)
    assert_complete(result)
    # No family may fail with an unexpected exception.
    assert not any("Error:" in reason for reason in result.skipped.values()), result.skipped


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.integers(0, 2**16))
def test_same_seed_same_values(table: tuple[pd.DataFrame, pd.Series, str], seed: int) -> None:
    X, y, task = table
    a = extract(X, y, task_type=task, seed=seed)
    b = extract(X, y, task_type=task, seed=seed)
    assert a.values.keys() == b.values.keys()
    for name in a.values:
        assert a.values[name] == b.values[name] or (
            math.isnan(a.values[name]) and math.isnan(b.values[name])
        )
    assert a.skipped == b.skipped


@pytest.mark.parametrize(
    "case",
    ["one_class", "one_row", "all_missing_column", "constant_columns", "infinities", "no_features"],
)
def test_hostile_tables(case: str) -> None:
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=30), "b": rng.choice(["p", "q"], 30)})
    y = pd.Series(rng.choice([0, 1], 30))
    if case == "one_class":
        y = pd.Series([1] * 30)
    elif case == "one_row":
        X, y = X.iloc[:1], y.iloc[:1]
    elif case == "all_missing_column":
        X["a"] = np.nan
    elif case == "constant_columns":
        X["a"] = 3.25
        X["b"] = "p"
    elif case == "infinities":
        X.loc[[0, 5], "a"] = [np.inf, -np.inf]
    elif case == "no_features":
        X = X[[]]
    result = extract(X, y, task_type="classification")
    assert_complete(result)
    assert not any("Error:" in reason for reason in result.skipped.values()), result.skipped
    if case == "one_class":
        assert result.values["NumberOfClasses"] == 1
        assert result.skipped["kNN1NErrRate"] == "needs at least two classes"
    if case == "infinities":
        assert result.values["metakb.simple.NumberOfInfiniteValues"] == 2


def test_thousands_of_categories_stay_fast() -> None:
    rng = np.random.default_rng(0)
    n = 6000
    X = pd.DataFrame(
        {
            "id": [f"k{i}" for i in range(n)],
            "mid": rng.integers(0, 500, n).astype(str),
            "x": rng.normal(size=n),
        }
    )
    y = pd.Series(rng.integers(0, 3, n))
    result = extract(X, y)
    assert_complete(result)
    assert result.values["MaxNominalAttDistinctValues"] == n
    assert result.rows_used["landmarking"] <= 5000
    assert sum(result.seconds.values()) < 20
