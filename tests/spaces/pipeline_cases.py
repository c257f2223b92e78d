"""The pipelines compared with their pre-record snapshot (``data/pipelines.json``).

The snapshot holds the ``get_params()`` of the pipelines that the if/elif
``DefaultEstimators`` and ``searching.SpaceEstimators`` built before the
algorithms became records (metakb e046525), normalized by :func:`normalize`:
for every case of :func:`cases`, ``SpaceEstimators(name, task_type, 3)(config, x)``
("space") or ``DefaultEstimators(name, task_type, 3)(config, x)`` ("native"),
one case per line under :func:`case_key`. It is a fixed record of the old
behaviour: do not regenerate it from the current code.

The old factories built the same pipeline for any number of rows; the records
cap the size-dependent values for the rows of a small table
(``Algorithm.fit_to_rows``), so the snapshot holds for tables of published
size, :data:`LARGE` rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from metakb.spaces import SPACES

SUPPORTED = {
    "random_forest": ("classification",),
    "adaboost": ("classification",),
    "svc": ("classification", "regression"),
    "lightgbm": ("classification", "regression"),
}
NATIVE = {
    "random_forest": {"n_estimators": 8, "max_depth": 3},
    "adaboost": {"n_estimators": 8, "max_depth": 2, "learning_rate": 0.5},
    "svc": {"C": 2.0},
    "lightgbm": {"n_estimators": 16, "num_leaves": 7, "min_child_samples": 5},
}


LARGE = 1000
"""Rows of a table on which every configuration is used as it is."""


def frames(n_rows: int = LARGE) -> dict[str, pd.DataFrame]:
    """Return a numeric table and one with a categorical column, of ``n_rows`` rows."""
    rng = np.random.default_rng(0)
    numeric = pd.DataFrame(rng.normal(size=(n_rows, 3)), columns=["a", "b", "c"])
    kinds = np.resize(np.array(["x", "y", "z"]), n_rows)
    mixed = numeric.assign(kind=pd.Series(kinds, dtype="category"))
    return {"numeric": numeric, "mixed": mixed}


def cases() -> Iterator[tuple[str, str, str, dict[str, Any], str]]:
    """Yield (algorithm, task type, 'space' or 'native', configuration, frame name)."""
    for name, task_types in SUPPORTED.items():
        space = SPACES[name]
        for task_type in task_types:
            for frame in ("numeric", "mixed"):
                for config in [space.default(), *space.sample(3, seed=1)]:
                    yield name, task_type, "space", config, frame
                for native in ({}, NATIVE[name]):
                    yield name, task_type, "native", native, frame


def case_key(name: str, task_type: str, kind: str, config: dict[str, Any], frame: str) -> str:
    """Return the snapshot key of a case."""
    return f"{name}|{task_type}|{kind}|{json.dumps(config, sort_keys=True)}|{frame}"


def normalize(value: Any) -> Any:
    """Return ``value`` as JSON: estimators as their class and (recursively) their parameters."""
    if isinstance(value, BaseEstimator):
        cls = type(value)
        params = value.get_params(deep=False)
        return {
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "params": {k: normalize(v) for k, v in sorted(params.items())},
        }
    if isinstance(value, list | tuple):
        return [normalize(v) for v in value]
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in value.items()}
    if value is pd.NA:
        return "<NA>"
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and np.isnan(value):
        return "nan"  # NaN != NaN; the imputers' missing_values
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)
