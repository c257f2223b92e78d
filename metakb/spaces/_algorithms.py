"""The algorithms metakb knows: one :class:`~metakb.spaces.Algorithm` record each.

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

from metakb.spaces._algorithm import Algorithm, BaseModel, TreeSize
from metakb.spaces._space import Params, SearchSpace

_IMPUTER = "columntransformer__numeric__imputer__strategy"
_IMPUTER_CHOICES = ["mean", "median", "most_frequent"]

_RF = "randomforestclassifier__"
_ADA = "adaboostclassifier__"
_SVC = "svc__"


def _strip(params: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {k.removeprefix(prefix): v for k, v in params.items() if k.startswith(prefix)}


def _component_params(component: str, prefix: str, names: list[str]) -> dict[str, tuple[str, str]]:
    """Map ``prefix + name`` to ``(component, name)`` for parameters of one OpenML component."""
    return {f"{prefix}{name}": (component, name) for name in names}


# Every OpenML100 flow's pipeline starts with a column transformer whose numeric imputer is tuned.
_OPENML_IMPUTER = {_IMPUTER: ("imputer", "strategy")}


def _flow_names(space: SearchSpace, prefix: str) -> list[str]:
    """Return the space's hyperparameters and constants of one component, without its prefix."""
    names = [*space.names, *space.constants]
    return sorted(name.removeprefix(prefix) for name in names if name.startswith(prefix))


def _random_forest() -> Algorithm:
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

    space = SearchSpace(
        "random_forest",
        ["openml:6969"],
        cs,
        constants=constants,
        to_estimator=to_estimator,
        estimator="sklearn.ensemble.RandomForestClassifier",
    )
    return Algorithm(
        "random_forest",
        space,
        estimators={
            "classification": "sklearn.ensemble.RandomForestClassifier",
            "regression": "sklearn.ensemble.RandomForestRegressor",
        },
        fidelity="rounds",
        fixed_params={"n_jobs": 1},
        # The space is OpenML's classification flow: its criteria (gini, entropy) only
        # exist for classifiers, so a regression forest splits on squared error whatever
        # the configuration says (the space, and so the runs' config ids, stay the flow's).
        task_params={"regression": {"criterion": "squared_error"}},
        imputer_param=_IMPUTER,
        openml_flow_ids=(6969,),
        openml_params={
            **_component_params("randomforestclassifier", _RF, _flow_names(space, _RF)),
            **_OPENML_IMPUTER,
        },
        openml_classes=("randomforestclassifier", "randomforestregressor"),
        tree_size=TreeSize(
            min_leaf=f"{_RF}min_samples_leaf",
            min_split=f"{_RF}min_samples_split",
            bootstrap=f"{_RF}bootstrap",
        ),
    )


# AdaBoost's base model per task type, built from its max_depth (see `Algorithm.estimator`).
_TREES = {
    "classification": "sklearn.tree.DecisionTreeClassifier",
    "regression": "sklearn.tree.DecisionTreeRegressor",
}


def _adaboost() -> Algorithm:
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
        # Current scikit-learn only has SAMME, so SAMME.R configurations map to it,
        # and AdaBoostRegressor has no `algorithm` at all. The base tree is given by
        # its depth: the record builds the task type's tree.
        return {
            "max_depth": params[f"{_ADA}base_estimator__max_depth"],
            "learning_rate": params[f"{_ADA}learning_rate"],
            "n_estimators": params[f"{_ADA}n_estimators"],
        }

    space = SearchSpace(
        "adaboost",
        ["openml:6970"],
        cs,
        to_estimator=to_estimator,
        estimator="sklearn.ensemble.AdaBoostClassifier",
    )
    return Algorithm(
        "adaboost",
        space,
        estimators={
            "classification": "sklearn.ensemble.AdaBoostClassifier",
            "regression": "sklearn.ensemble.AdaBoostRegressor",
        },
        fidelity="rounds",
        # Boosted stumps unless a depth is given (the OpenML flow's default; for
        # regression too, where scikit-learn's own base tree has depth 3).
        base=BaseModel("estimator", _TREES, {"max_depth": 1}),
        imputer_param=_IMPUTER,
        openml_flow_ids=(6970,),
        openml_params={
            **_component_params(
                "adaboostclassifier", _ADA, ["algorithm", "learning_rate", "n_estimators"]
            ),
            f"{_ADA}base_estimator__max_depth": ("decisiontreeclassifier", "max_depth"),
            **_OPENML_IMPUTER,
        },
        openml_classes=("adaboostclassifier",),
    )


def _svc() -> Algorithm:
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

    space = SearchSpace(
        "svc",
        ["openml:8784"],
        cs,
        constants=constants,
        to_estimator=to_estimator,
        estimator="sklearn.svm.SVC",
    )
    return Algorithm(
        "svc",
        space,
        estimators={"classification": "sklearn.svm.SVC", "regression": "sklearn.svm.SVR"},
        # No ensemble to shrink: a multi-fidelity search subsamples the rows.
        fidelity="rows",
        scale=True,
        seed_param=None,
        imputer_param=_IMPUTER,
        openml_flow_ids=(8784,),
        openml_params={
            **_component_params("svc", _SVC, _flow_names(space, _SVC)),
            **_OPENML_IMPUTER,
        },
        openml_classes=("svc",),
    )


# AutoGluon trains LightGBM with up to 10,000 rounds and early stopping on a
# validation split; without one, a budget of about 10 / learning_rate rounds
# reaches a comparable fit (50 rounds at 0.2, 2,000 at the smallest rate).
_LGBM_ROUNDS_TIMES_RATE = 10.0
_LGBM_MAX_ROUNDS = 10_000


def _lightgbm() -> Algorithm:
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

    space = SearchSpace(
        "lightgbm",
        ["tabrepo:lightgbm"],
        cs,
        to_estimator=to_estimator,
        estimator="lightgbm.LGBMClassifier",
        absent_means_default=True,
    )
    return Algorithm(
        "lightgbm",
        space,
        estimators={
            "classification": "lightgbm.LGBMClassifier",
            "regression": "lightgbm.LGBMRegressor",
        },
        fidelity="rounds",
        categoricals="ordinal",
        fixed_params={"n_jobs": 1, "verbose": -1},
        openml_classes=("lgbmclassifier", "lgbmregressor"),
        tree_size=TreeSize(min_leaf="min_data_in_leaf", max_leaves="num_leaves"),
        # The space's default is AutoGluon's (rate 0.05, 200 rounds); LightGBM's own
        # is rate 0.1 and 100 rounds, which the rounds rule gives for 0.1.
        library_default={"learning_rate": 0.1},
    )


ALGORITHMS: dict[str, Algorithm] = {
    algorithm.name: algorithm for algorithm in (_random_forest(), _adaboost(), _svc(), _lightgbm())
}
"""Every algorithm metakb knows, by name."""

DEFAULT_ALGORITHM = "lightgbm"
"""The algorithm used when none is named."""

SPACES: dict[str, SearchSpace] = {name: algorithm.space for name, algorithm in ALGORITHMS.items()}
"""Every search space metakb knows, by algorithm name (the records' spaces)."""


def get_algorithm(ref: str | int) -> Algorithm:
    """Return the algorithm for a name, a flow key or an OpenML flow id.

    Parameters
    ----------
    ref : str or int
        ``"random_forest"``, ``"openml:6969"``, ``6969`` or ``"6969"``.

    Raises
    ------
    KeyError
        No algorithm matches ``ref``.
    """
    text = str(ref).strip().lower()
    if text in ALGORITHMS:
        return ALGORITHMS[text]
    for algorithm in ALGORITHMS.values():
        flows = algorithm.space.flow_ids
        if text in flows or f"openml:{text}" in flows:
            return algorithm
    raise KeyError(f"no algorithm for {ref!r}; known: {sorted(ALGORITHMS)}")


def get_space(ref: str | int) -> SearchSpace:
    """Return the search space of :func:`get_algorithm`'s algorithm for ``ref``.

    Raises
    ------
    KeyError
        No algorithm matches ``ref``.
    """
    return get_algorithm(ref).space
