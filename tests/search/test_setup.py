"""How a search is set up (metakb.search._setup): optimizer, warm start, fidelity, executor."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from metakb.errors import MetakbError
from metakb.models import PredictiveWarmStarter, TaskQuery
from metakb.search import (
    PRIOR_WARM,
    build_optimizer,
    default_n_warm,
    executor_spec,
    fidelity_kind,
    min_fidelity,
)
from metakb.spaces import ALGORITHMS, get_space


def test_executor_spec() -> None:
    assert executor_spec(None) == "inprocess"
    assert executor_spec("local:2") == "dask:local:2"
    assert executor_spec("tcp://10.0.0.1:8786") == "dask:tcp://10.0.0.1:8786"
    for bad in ("local", "local:0", "udp://x:1", "tcp://host"):
        with pytest.raises(MetakbError):
            executor_spec(bad)


@pytest.mark.parametrize(
    ("budget", "expected"), [(1, 1 / 3), (10, 1 / 3), (26, 1 / 9), (80, 1 / 27)]
)
def test_min_fidelity_lets_the_first_bracket_finish(budget: int, expected: float) -> None:
    assert min_fidelity(budget) == pytest.approx(expected)


class _PredictingStarter(PredictiveWarmStarter):
    """Stands in for the transfer meta-model: recommends nothing, predicts a constant."""

    seed = 0

    def fit(self, data: Any) -> _PredictingStarter:
        return self

    def recommend(self, query: Any, k: int) -> list[Any]:
        return []

    def predict(
        self, query: Any, x: np.ndarray, observed: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(len(x)), np.ones(len(x))

    def candidate_pool(self) -> list[Any]:
        return []


def test_a_predicting_starter_is_the_prior_of_bo_only() -> None:
    space = get_space("svc")
    starter: Any = _PredictingStarter()
    query = TaskQuery({})
    bo = build_optimizer(space, "bo", 10, starter=starter, query=query)
    assert bo.prior is not None
    mean, std = bo.prior.predict(space.encode_many(space.sample(3, seed=0)))
    assert mean.shape == std.shape == (3,)
    assert space.contains(bo.ask().config)
    assert not hasattr(build_optimizer(space, "random", 10, starter=starter), "prior")
    assert build_optimizer(space, "hyperband", 10).min_fidelity == pytest.approx(1 / 3)


def test_a_prior_search_enqueues_fewer_recommendations() -> None:
    """The prior leads after PRIOR_WARM picks; a plain warm start enqueues up to 10."""
    assert default_n_warm(100, prior=True) == PRIOR_WARM < default_n_warm(100, prior=False) == 10
    assert default_n_warm(4, prior=False) == 2 and default_n_warm(1, prior=True) == 1


def test_fidelity_kind_is_the_records_for_multi_fidelity_methods_only() -> None:
    assert fidelity_kind(ALGORITHMS["lightgbm"], "hyperband") == "rounds"
    assert fidelity_kind(ALGORITHMS["svc"], "bohb") == "rows"
    assert fidelity_kind(ALGORITHMS["lightgbm"], "bo") == "rows"
