"""Optuna integration: recommendations become the study's first trials."""

from __future__ import annotations

import pytest

optuna = pytest.importorskip("optuna")

from metakb.integrations.optuna import (  # noqa: E402
    enqueue_recommendations,
    suggest_config,
    warm_started_study,
)
from metakb.models import Recommendation  # noqa: E402
from metakb.spaces import get_space  # noqa: E402


@pytest.mark.parametrize("algorithm", ["random_forest", "svc", "lightgbm"])
def test_enqueued_recommendations_are_the_first_trials(algorithm: str) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = get_space(algorithm)
    recs = [Recommendation(c) for c in space.sample(3, seed=4)]
    study = warm_started_study(
        algorithm=algorithm, recommendations=recs, sampler=optuna.samplers.RandomSampler(seed=0)
    )
    seen = []

    def objective(trial: optuna.Trial) -> float:
        config = suggest_config(trial, space)
        assert space.contains(config)
        seen.append(config)
        return 0.0

    study.optimize(objective, n_trials=5)
    assert seen[:3] == [space.validate(r.config) for r in recs]
    assert all(space.contains(c) for c in seen[3:])


def test_enqueue_skips_configurations_already_in_the_study() -> None:
    space = get_space("random_forest")
    recs = [Recommendation(c) for c in space.sample(2, seed=0)]
    study = optuna.create_study(direction="maximize")
    assert enqueue_recommendations(study, recs, space) == 2
    assert enqueue_recommendations(study, recs, space) == 0
