"""The search spaces of the algorithms in the knowledge base.

Ranges follow the published runs the knowledge base is built from:

* RandomForest, AdaBoost, SVC: the OpenML100 random-search runs of flows 6969,
  6970 and 8784 (van Rijn & Hutter, KDD 2018; openml/sklearn-bot), see
  ``openml100_sklearn_hpo_runs/README.md`` in the shared data;
* LightGBM: the 104 TabRepo 2022 configurations (AutoGluon parameter names;
  absent parameters mean AutoGluon's defaults).

Defaults are the library defaults where those lie in the space, else the
nearest in-space value (noted per parameter).
"""

from __future__ import annotations

import math
from typing import Any

from ConfigSpace import (
    Categorical,
    ConfigurationSpace,
    EqualsCondition,
    Float,
    InCondition,
    Integer,
)

from metakb.spaces._space import Params, SearchSpace

_IMPUTER = "columntransformer__numeric__imputer__strategy"
_IMPUTER_CHOICES = ["mean", "median", "most_frequent"]

_RF = "randomforestclassifier__"
_ADA = "adaboostclassifier__"
_SVC = "svc__"


def _strip(params: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {k.removeprefix(prefix): v for k, v in params.items() if k.startswith(prefix)}


def _random_forest() -> SearchSpace:
    cs = ConfigurationSpace(
        name="random_forest",
        space=[
            Categorical(f"{_RF}bootstrap", [True, False], default=True),
            Categorical(f"{_RF}criterion", ["gini", "entropy"], default="gini"),
            # scikit-learn's default is "sqrt"; the runs sampled a fraction of features.
            Float(f"{_RF}max_features", (0.1, 0.9), default=0.5),
            Integer(f"{_RF}min_samples_leaf", (1, 20), default=1),
            Integer(f"{_RF}min_samples_split", (2, 20), default=2),
            Categorical(_IMPUTER, _IMPUTER_CHOICES, default="mean"),
        ],
    )
    constants: Params = {
        f"{_RF}max_depth": None,
        f"{_RF}max_leaf_nodes": None,
        f"{_RF}min_weight_fraction_leaf": 0,
        f"{_RF}n_estimators": 100,
    }

    def to_estimator(params: dict[str, Any]) -> dict[str, Any]:
        return {**_strip(constants, _RF), **_strip(params, _RF)}

    return SearchSpace(
        "random_forest",
        ["openml:6969"],
        cs,
        constants=constants,
        to_estimator=to_estimator,
        estimator="sklearn.ensemble.RandomForestClassifier",
    )


def _adaboost() -> SearchSpace:
    cs = ConfigurationSpace(
        name="adaboost",
        space=[
            # SAMME.R was removed from scikit-learn 1.6; it is kept in the space
            # because half of the published runs used it (see to_estimator).
            Categorical(f"{_ADA}algorithm", ["SAMME", "SAMME.R"], default="SAMME"),
            Float(f"{_ADA}learning_rate", (0.01, 2.0), log=True, default=1.0),
            Integer(f"{_ADA}base_estimator__max_depth", (1, 10), default=1),
            Integer(f"{_ADA}n_estimators", (50, 500), default=50),
            Categorical(_IMPUTER, _IMPUTER_CHOICES, default="mean"),
        ],
    )

    def to_estimator(params: dict[str, Any]) -> dict[str, Any]:
        from sklearn.tree import DecisionTreeClassifier

        # Current scikit-learn only has SAMME; SAMME.R configurations map to it.
        return {
            "estimator": DecisionTreeClassifier(
                max_depth=params[f"{_ADA}base_estimator__max_depth"]
            ),
            "learning_rate": params[f"{_ADA}learning_rate"],
            "n_estimators": params[f"{_ADA}n_estimators"],
        }

    return SearchSpace(
        "adaboost",
        ["openml:6970"],
        cs,
        to_estimator=to_estimator,
        estimator="sklearn.ensemble.AdaBoostClassifier",
    )


def _svc() -> SearchSpace:
    kernel = Categorical(f"{_SVC}kernel", ["rbf", "poly", "sigmoid"], default="rbf")
    coef0 = Float(f"{_SVC}coef0", (-1.0, 1.0), default=0.0)
    degree = Integer(f"{_SVC}degree", (1, 5), default=3)
    cs = ConfigurationSpace(
        name="svc",
        space=[
            Float(f"{_SVC}C", (2.0**-5, 2.0**15), log=True, default=1.0),
            # scikit-learn's default is "scale" (1 / (n_features * var)); 0.01 is
            # that value for 100 standardized features.
            Float(f"{_SVC}gamma", (2.0**-15, 8.0), log=True, default=0.01),
            kernel,
            coef0,
            degree,
            Categorical(f"{_SVC}shrinking", [True, False], default=True),
            Float(f"{_SVC}tol", (1e-5, 1e-1), log=True, default=1e-3),
            Categorical(_IMPUTER, _IMPUTER_CHOICES, default="mean"),
        ],
    )
    cs.add(
        [
            InCondition(coef0, kernel, ["poly", "sigmoid"]),
            EqualsCondition(degree, kernel, "poly"),
        ]
    )
    constants: Params = {f"{_SVC}max_iter": -1}

    def to_estimator(params: dict[str, Any]) -> dict[str, Any]:
        return {**_strip(constants, _SVC), **_strip(params, _SVC)}

    return SearchSpace(
        "svc",
        ["openml:8784"],
        cs,
        constants=constants,
        to_estimator=to_estimator,
        estimator="sklearn.svm.SVC",
    )


# AutoGluon trains LightGBM with up to 10,000 rounds and early stopping on a
# validation split; without one, a budget of about 10 / learning_rate rounds
# reaches a comparable fit (50 rounds at 0.2, 2,000 at the smallest rate).
_LGBM_ROUNDS_TIMES_RATE = 10.0
_LGBM_MAX_ROUNDS = 10_000


def _lightgbm() -> SearchSpace:
    cs = ConfigurationSpace(
        name="lightgbm",
        space=[
            Float("learning_rate", (0.005, 0.1), log=True, default=0.05),
            Integer("num_leaves", (16, 255), log=True, default=31),
            Float("feature_fraction", (0.4, 1.0), default=1.0),
            Integer("min_data_in_leaf", (2, 60), default=20),
            Categorical("extra_trees", [False, True], default=False),
        ],
    )

    def to_estimator(params: dict[str, Any]) -> dict[str, Any]:
        rate = float(params["learning_rate"])
        return {
            "learning_rate": rate,
            "num_leaves": params["num_leaves"],
            "colsample_bytree": params["feature_fraction"],
            "min_child_samples": params["min_data_in_leaf"],
            "extra_trees": params["extra_trees"],
            "n_estimators": min(_LGBM_MAX_ROUNDS, math.ceil(_LGBM_ROUNDS_TIMES_RATE / rate)),
            "verbose": -1,
        }

    return SearchSpace(
        "lightgbm",
        ["tabrepo:lightgbm"],
        cs,
        to_estimator=to_estimator,
        estimator="lightgbm.LGBMClassifier",
        absent_means_default=True,
    )


SPACES: dict[str, SearchSpace] = {
    "random_forest": _random_forest(),
    "adaboost": _adaboost(),
    "svc": _svc(),
    "lightgbm": _lightgbm(),
}
"""Every search space metakb knows, by algorithm name."""


def get_space(ref: str | int) -> SearchSpace:
    """Return the space for an algorithm name, a flow key or an OpenML flow id.

    Parameters
    ----------
    ref : str or int
        ``"random_forest"``, ``"openml:6969"``, ``6969`` or ``"6969"``.

    Raises
    ------
    KeyError
        No space matches ``ref``.
    """
    text = str(ref).strip().lower()
    if text in SPACES:
        return SPACES[text]
    for space in SPACES.values():
        if text in space.flow_ids or f"openml:{text}" in space.flow_ids:
            return space
    raise KeyError(f"no search space for {ref!r}; known: {sorted(SPACES)}")
