from __future__ import annotations

import numpy as np
import pytest
from ConfigSpace import Categorical, ConfigurationSpace, Float

from metakb.bench.loto import BOSettings
from metakb.bench.tabular import pool_search
from metakb.search import OPTIMIZERS, LookupObjective, config_key, encode, run_search
from metakb.search._space import SpaceSampler


def _space() -> ConfigurationSpace:
    space = ConfigurationSpace()
    space.add([Float("x", (0.0, 1.0)), Categorical("c", ["a", "b"])])
    return space


def _table(n_configs: int = 25) -> tuple[list[dict], np.ndarray]:
    """A grid of configurations and their values (higher is better)."""
    configs = SpaceSampler(_space()).sample(np.random.default_rng(0), n_configs)
    values = np.array([-((c["x"] - 0.6) ** 2) + 0.1 * (c["c"] == "a") for c in configs])
    return configs, values


class _LinearPrior:
    """A prior surrogate preferring large x (any deterministic function of the row)."""

    def predict(self, x):
        return x[:, 0], np.full(len(x), 0.3)


@pytest.mark.parametrize(
    ("name", "queue", "prior"),
    [("random", (), None), ("bo", (), None), ("bo", (3, 7, 3), None), ("bo", (2,), _LinearPrior())],
)
@pytest.mark.parametrize("refit_growth", [0.0, 0.3])
def test_pool_search_makes_the_optimizers_choices(name, queue, prior, refit_growth):
    configs, values = _table(n_configs=40)
    values[5] = np.nan  # a failed run
    rows = encode(_space(), configs)
    options = {"prior": prior, "n_trees": 8, "refit_growth": refit_growth} if name == "bo" else {}
    optimizer = OPTIMIZERS[name](_space(), seed=3, candidates=configs, **options)
    for i in queue:
        if config_key(configs[i]) not in {config_key(c) for c in optimizer._queue}:
            optimizer.enqueue(configs[i])
    result = run_search(optimizer, LookupObjective(configs, list(values)), 30)
    position = {config_key(c): i for i, c in enumerate(configs)}
    expected = [position[config_key(t.config)] for t in result.trials]
    settings = BOSettings(n_trees=8, refit_growth=refit_growth) if name == "bo" else None
    got = pool_search(rows, values, 30, seed=3, bo=settings, queue=queue, prior=prior)
    assert got == expected


def test_pool_search_stops_at_the_best_value():
    configs, values = _table()
    rows = encode(_space(), configs)
    order = pool_search(rows, values, 25, seed=0, stop_value=values.max())
    assert values[order[-1]] == values.max()
    assert len(set(order)) == len(order) <= 25
