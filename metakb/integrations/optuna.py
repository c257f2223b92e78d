"""Optuna: enqueue metakb's recommendations into a study, or get a warm-started study.

Requires the ``optuna`` extra. The study's objective should draw its
parameters with :func:`suggest_config` (same names and ranges as the space),
so that the enqueued recommendations are the study's first trials. To fit a
model, build it with :meth:`Algorithm.pipeline(config, x, task_type)
<metakb.spaces.Algorithm.pipeline>` (or ``estimator_params(config, task_type, len(x))``):
it caps the leaf sizes a small ``x`` cannot fill, so no trial is a constant model.

Examples
--------
>>> from metakb.integrations.optuna import suggest_config, warm_started_study
>>> study = warm_started_study(meta_features, algorithm="random_forest", k=5)  # doctest: +SKIP
>>> space = get_space("random_forest")  # doctest: +SKIP
>>> study.optimize(lambda t: score(space.to_estimator_params(suggest_config(t, space))), 20)
... # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
from ConfigSpace import CategoricalHyperparameter, Constant
from ConfigSpace.hyperparameters import NumericalHyperparameter

from metakb.models import Recommendation
from metakb.spaces import Params, SearchSpace, get_space

if TYPE_CHECKING:
    from metakb.kb import RecommendedConfig


def enqueue_recommendations(
    study: optuna.Study, recs: Sequence[Recommendation | RecommendedConfig], space: SearchSpace
) -> int:
    """Enqueue each recommendation as a fixed-parameter trial of ``study``, best first.

    Parameters
    ----------
    study : optuna.Study
        The study; its objective should use :func:`suggest_config` with ``space``.
    recs : sequence of RecommendedConfig or Recommendation
        From :func:`metakb.recommend` (or a warm starter); their ``flow_params`` are enqueued.
    space : SearchSpace
        The algorithm's space (recommendations are validated in it).

    Returns
    -------
    int
        How many trials were enqueued (a configuration already in the study is skipped).
    """
    before = len(study.get_trials(deepcopy=False))
    for rec in recs:
        study.enqueue_trial(dict(space.validate(rec.flow_params)), skip_if_exists=True)
    return len(study.get_trials(deepcopy=False)) - before


def suggest_config(trial: optuna.Trial, space: SearchSpace) -> Params:
    """Draw a configuration of ``space`` with Optuna's ``suggest_*`` (conditions respected).

    Returns
    -------
    dict
        The configuration under the flow's parameter names (inactive parameters absent).
    """
    cs = space.configspace
    values: dict[str, Any] = {}
    for hp in cs.values():  # ConfigSpace keeps parents before their children
        if isinstance(hp, Constant) or not _active(space, hp.name, values):
            continue
        if isinstance(hp, CategoricalHyperparameter):
            values[hp.name] = trial.suggest_categorical(hp.name, list(hp.choices))
        elif isinstance(hp, NumericalHyperparameter):
            low, high, log = hp.lower, hp.upper, bool(getattr(hp, "log", False))
            if type(hp).__name__.endswith("IntegerHyperparameter"):
                values[hp.name] = trial.suggest_int(hp.name, int(low), int(high), log=log)
            else:
                values[hp.name] = trial.suggest_float(hp.name, float(low), float(high), log=log)
    return space.validate(values)


def _active(space: SearchSpace, name: str, values: Mapping[str, Any]) -> bool:
    cs = space.configspace
    if any(parent.name not in values for parent in cs.parents_of[name]):
        return False
    return all(c.satisfied_by_value(dict(values)) for c in cs.parent_conditions_of[name])


def warm_started_study(
    meta_features: Mapping[str, float] | None = None,
    *,
    algorithm: str,
    k: int = 10,
    method: str | None = None,
    task_type: str | None = None,
    db: str | Path | None = None,
    recommendations: Sequence[Recommendation | RecommendedConfig] | None = None,
    **create_study: Any,
) -> optuna.Study:
    """Return a new study with metakb's top-``k`` recommendations enqueued.

    Parameters
    ----------
    meta_features : mapping, optional
        The new task's meta-features (see :func:`metakb.recommend`).
    algorithm : str
        The algorithm (space) searched.
    k : int
        Recommendations to enqueue.
    method : str, optional
        Warm starter name (default: metakb's default method).
    task_type : {'classification', 'regression'}, optional
        The new task's task type (default: classification, see :func:`metakb.recommend`).
    db : str or Path, optional
        The knowledge base.
    recommendations : sequence of Recommendation, optional
        Use these instead of asking :func:`metakb.recommend`.
    **create_study
        Passed to ``optuna.create_study`` (default ``direction="maximize"``).
    """
    space = get_space(algorithm)
    if recommendations is None:
        from metakb.kb import KnowledgeBase

        recommendations = KnowledgeBase(db).recommend(
            meta_features, algorithm=algorithm, k=k, method=method, task_type=task_type
        )
    create_study.setdefault("direction", "maximize")
    study = optuna.create_study(**create_study)
    enqueue_recommendations(study, list(recommendations)[:k], space)
    return study
