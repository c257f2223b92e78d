"""The records build exactly the pipelines of the if/elif factories they replaced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from metakb.search import DefaultEstimators, SpaceEstimators
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
