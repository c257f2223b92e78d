"""The records build exactly the pipelines of the if/elif factories they replaced."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from metakb.search import DefaultEstimators, SpaceEstimators
from metakb.spaces import ALGORITHMS
from tests.spaces.pipeline_cases import case_key, cases, frames, normalize

SNAPSHOT = json.loads((Path(__file__).parent / "data" / "pipelines.json").read_text())
CASES = list(cases())


def test_the_snapshot_covers_every_case():
    assert sorted(SNAPSHOT) == sorted(case_key(*case) for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case_key(*case))
def test_pipeline_params_match_the_snapshot(case):
    name, task_type, kind, config, frame = case
    factory = SpaceEstimators if kind == "space" else DefaultEstimators
    pipeline = factory(name, task_type, 3)(config, frames()[frame])
    assert normalize(pipeline) == SNAPSHOT[case_key(*case)]


# The rows of the frames the snapshot was taken on: the default space
# configurations of LightGBM (min_data_in_leaf 20) and most samples are capped.
SMALL_ROWS = 12


@pytest.mark.parametrize(
    "case", [c for c in CASES if c[2] == "space"], ids=lambda case: case_key(*case)
)
def test_on_a_small_table_only_the_capped_values_leave_the_snapshot(case):
    name, task_type, _, config, frame = case
    algorithm = ALGORITHMS[name]
    pipeline = SpaceEstimators(name, task_type, 3)(config, frames(SMALL_ROWS)[frame])
    small = normalize(algorithm.estimator_params(config, task_type, SMALL_ROWS))
    full = normalize(algorithm.estimator_params(config, task_type))
    capped = {k: v for k, v in small.items() if v != full[k]}
    assert bool(capped) == bool(algorithm.adaptations(config, SMALL_ROWS))
    assert all(v < full[k] for k, v in capped.items())
    expected = copy.deepcopy(SNAPSHOT[case_key(*case)])
    model = dict(expected["params"]["steps"])["model"]
    model["params"].update(capped)
    assert normalize(pipeline) == expected
