"""Every configuration metakb shows builds and fits its estimator as shown.

What the CLI's tables, the search output, the app's "Use it" snippet and the
Python records show is one conversion (:func:`metakb.kb._recommend.shown_recommendation`,
:meth:`~metakb.spaces.Algorithm.estimator_code`): this runs its output, the
keyword arguments, their Python source and their JSON, through the
estimator's constructor and ``fit``, for every algorithm and task type.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from metakb.kb import RecommendedConfig, recommendations_json
from metakb.kb._recommend import shown_recommendation
from metakb.models import Recommendation
from metakb.spaces import ALGORITHMS, Algorithm, python_value

N_ROWS = 40

CASES = [(name, task_type) for name, a in ALGORITHMS.items() for task_type in a.task_types]


def _configs(algorithm: Algorithm) -> list[dict[str, Any]]:
    """The library default, a sampled configuration, and leaves too large for the table."""
    space = algorithm.space
    configs = [algorithm.library_config(), *space.sample(1, seed=7)]
    if algorithm.tree_size is not None:  # a leaf size the 40 rows cannot fill: capped
        hp = space.configspace[algorithm.tree_size.min_leaf]
        configs.append({**space.default(), hp.name: hp.upper})
    return configs


def _table(task_type: str) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(N_ROWS, 3)), columns=["a", "b", "c"])
    signal = x["a"] + 0.5 * x["b"]
    y = (signal > 0).astype(int) if task_type == "classification" else signal
    return x, y


def _load(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _fit(model: Any, x: pd.DataFrame, y: pd.Series) -> None:
    # One thread: on a shared machine LightGBM's default of every core is what takes time.
    final = model.steps[-1][1] if hasattr(model, "steps") else model
    if "n_jobs" in final.get_params():
        final.set_params(n_jobs=1)
    model.fit(x, y)


def _from_json(estimator: str, config: dict[str, Any]) -> Any:
    # The JSON form: an estimator argument as its class path, its parameters nested.
    top = {k: v for k, v in config.items() if "__" not in k}
    for key, value in top.items():
        if isinstance(value, str) and value.startswith("sklearn."):
            nested = {k.split("__", 1)[1]: v for k, v in config.items() if k.startswith(f"{key}__")}
            top[key] = _load(value)(**nested)
    return _load(estimator)(**top)


@pytest.mark.parametrize(("name", "task_type"), CASES)
def test_every_shown_configuration_builds_and_fits(name: str, task_type: str) -> None:
    algorithm = ALGORITHMS[name]
    x, y = _table(task_type)
    missing = x.copy()
    missing.iloc[::7, 1] = np.nan  # the snippet's pipeline imputes as the search did
    shown = [
        shown_recommendation(algorithm, Recommendation(c), task_type, n_rows=N_ROWS)
        for c in _configs(algorithm)
    ]
    assert any(s.adapted for s in shown) == (algorithm.tree_size is not None)
    entries = recommendations_json(algorithm, shown, task_type, N_ROWS)["recommendations"]
    for rec, entry in zip(shown, entries, strict=True):
        # The Python record: the estimator's own keyword arguments.
        _fit(_load(rec.estimator)(**rec.config), x, y)
        # The text of the tables and the "Use it" snippet runs as it is.
        namespace: dict[str, Any] = {}
        exec(rec.code(), namespace)  # the code under test is our own output
        _fit(namespace["model"], missing if algorithm.imputer_param else x, y)
        assert rec.kwargs_text() in rec.code()
        # --json's form, which passes through JSON unchanged.
        assert json.loads(json.dumps(entry["config"])) == entry["config"]
        # A capped value is named as shown: an argument of the config, at its capped value.
        for key, change in entry["adapted"].items():
            assert entry["config"][key] == change["to"] != change["from"], key
        _fit(_from_json(rec.estimator, entry["config"]), x, y)
        assert algorithm.space.validate(rec.flow_params) == algorithm.space.validate(
            entry["flow_params"]
        )


@pytest.mark.parametrize("value", [None, True, False, 3, -1, 0.1, 1 / 3, 2.0**-15, "gini"])
def test_python_values_read_back(value: Any) -> None:
    text = python_value(value)
    assert eval(text) == value and type(eval(text)) is type(value)
    assert "null" not in text and "true" not in text


def test_numpy_scalars_are_written_as_python_numbers() -> None:
    assert python_value(np.float64(0.25)) == "0.25"
    assert python_value(np.int64(7)) == "7"
    with pytest.raises(TypeError, match="cannot write"):
        python_value(object())


def test_the_base_tree_is_a_constructor_call() -> None:
    adaboost = ALGORITHMS["adaboost"]
    config = {**adaboost.space.default(), "adaboostclassifier__base_estimator__max_depth": 3}
    rec = shown_recommendation(adaboost, Recommendation(config), "classification")
    assert isinstance(rec, RecommendedConfig)
    assert "estimator=DecisionTreeClassifier(max_depth=3)" in rec.kwargs_text()
    assert "from sklearn.tree import DecisionTreeClassifier" in rec.code()
