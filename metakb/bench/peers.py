"""Peer optimizers run on the benchmarks' objectives: Optuna's TPE and SMAC3's BO.

Each adapter searches an objective (``config -> EvaluationResult``) in an
algorithm's space for ``budget`` evaluations with ``seed`` and returns the
values in the order evaluated (NaN for a failure), so every suite scores
them with `metakb.bench.metrics`. Optuna and SMAC3 are optional: install
``metakb[optuna,smac]``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

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
