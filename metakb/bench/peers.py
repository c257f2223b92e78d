"""Peers the benchmarks compare against: Optuna's TPE, SMAC3's BO and FLAML's zero-shot.

Each optimizer adapter searches an objective (``config -> EvaluationResult``) in an
algorithm's space for ``budget`` evaluations with ``seed`` and returns the
values in the order evaluated (NaN for a failure), so every suite scores
them with `metakb.bench.metrics`. `FlamlZeroShot` and `FlamlZeroShotRegressor`
are FLAML's zero-shot LightGBM as scikit-learn estimators (the live benchmark). All are optional:
install ``metakb[optuna,smac]`` and ``flaml[automl]``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from metakb.search import SurrogateObjective
from metakb.spaces import SearchSpace


def optuna_tpe(
    space: SearchSpace, objective: SurrogateObjective, budget: int, seed: int
) -> list[float]:
    """Search ``objective`` with Optuna's default TPE sampler; return the values in order."""
    import optuna

    from metakb.integrations.optuna import suggest_config

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    values: list[float] = []

    def evaluate(trial: Any) -> float:
        result = objective(suggest_config(trial, space))
        values.append(result.score if result.score is not None else float("nan"))
        return values[-1]

    study.optimize(evaluate, n_trials=budget)
    return values


def smac_bo(
    space: SearchSpace, objective: SurrogateObjective, budget: int, seed: int
) -> list[float]:
    """Search ``objective`` with SMAC3's BO facade (defaults); return the values in order."""
    from smac import HyperparameterOptimizationFacade, Scenario

    values: list[float] = []

    def evaluate(config: Any, seed: int = 0) -> float:
        result = objective(dict(config))
        values.append(result.score if result.score is not None else float("nan"))
        # SMAC minimizes; a failure is the worst value.
        return -values[-1] if np.isfinite(values[-1]) else float("inf")

    with tempfile.TemporaryDirectory() as folder:
        scenario = Scenario(
            space.configspace,
            n_trials=budget,
            deterministic=True,
            seed=seed,
            output_directory=Path(folder),
        )
        smac = HyperparameterOptimizationFacade(
            scenario, evaluate, overwrite=True, logging_level=40
        )
        smac.optimize()
    return values


def flaml_missing() -> str | None:
    """Return why FLAML's zero-shot LightGBM cannot run here, or None when it can."""
    try:
        import flaml.default  # noqa: F401
    except ImportError as exc:
        return f"flaml.default is not importable ({exc}); pip install 'flaml[automl]'"
    return None


class _FlamlZeroShot(BaseEstimator):
    """FLAML's zero-shot LightGBM, built afresh at every ``fit``.

    FLAML keeps the hyperparameters given to its constructor and suggests the
    others; scikit-learn's ``clone`` passes every parameter explicitly, which
    would switch the suggestion off, so the FLAML estimator is created inside
    ``fit`` instead.

    Parameters
    ----------
    seed : int
        LightGBM's seed.
    n_estimators : int, optional
        Fixed boosting rounds instead of FLAML's suggestion (smoke tests).
    """

    _flaml_name = ""
    """The estimator's name in ``flaml.default``."""

    def __init__(self, seed: int = 0, n_estimators: int | None = None) -> None:
        self.seed = seed
        self.n_estimators = n_estimators

    def fit(self, x: Any, y: Any) -> Any:
        """Suggest hyperparameters from ``x, y`` and fit LightGBM with them."""
        from flaml import default

        fixed: dict[str, Any] = {}
        if self.n_estimators is not None:
            fixed["n_estimators"] = self.n_estimators
        # flaml types the names as ImportError when lightgbm is missing; they are classes here.
        flaml_lgbm: Any = getattr(default, self._flaml_name)
        model = flaml_lgbm(random_state=self.seed, n_jobs=1, verbose=-1, **fixed)
        self.model_ = model.fit(x, y)
        return self

    def predict(self, x: Any) -> np.ndarray:
        """Return predictions."""
        return np.asarray(self.model_.predict(x))


class FlamlZeroShot(ClassifierMixin, _FlamlZeroShot):
    """FLAML's zero-shot ``LGBMClassifier`` (see `_FlamlZeroShot` for the parameters)."""

    _flaml_name = "LGBMClassifier"

    def fit(self, x: Any, y: Any) -> FlamlZeroShot:
        """Suggest hyperparameters from ``x, y`` and fit LightGBM with them."""
        super().fit(x, y)
        self.classes_ = np.unique(np.asarray(y))
        return self

    def predict_proba(self, x: Any) -> np.ndarray:
        """Return class probabilities (columns in ``classes_`` order)."""
        return np.asarray(self.model_.predict_proba(x))


class FlamlZeroShotRegressor(RegressorMixin, _FlamlZeroShot):
    """FLAML's zero-shot ``LGBMRegressor`` (see `_FlamlZeroShot` for the parameters)."""

    _flaml_name = "LGBMRegressor"


def flaml_zeroshot(
    task_type: str, seed: int = 0, n_estimators: int | None = None
) -> FlamlZeroShot | FlamlZeroShotRegressor:
    """Return FLAML's zero-shot LightGBM for ``task_type`` (``classification``, ``regression``)."""
    if task_type == "classification":
        return FlamlZeroShot(seed, n_estimators)
    if task_type == "regression":
        return FlamlZeroShotRegressor(seed, n_estimators)
    raise ValueError(f"task_type must be 'classification' or 'regression', not {task_type!r}")
