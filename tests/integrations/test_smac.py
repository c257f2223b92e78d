"""SMAC3 integration: recommendations are the initial design's additional configurations."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("smac")

from smac import Scenario

from metakb.integrations.smac import additional_configs, warm_initial_design
from metakb.models import Recommendation
from metakb.spaces import get_space


@pytest.mark.parametrize("algorithm", ["random_forest", "svc"])
def test_recommendations_lead_the_initial_design(algorithm: str, tmp_path: Path) -> None:
    space = get_space(algorithm)
    configs = space.sample(3, seed=2)
    recs = [Recommendation(c) for c in [*configs, configs[0]]]
    assert len(additional_configs(recs, space)) == 3
    scenario = Scenario(
        space.configspace, n_trials=10, deterministic=True, output_directory=tmp_path, seed=0
    )
    design = warm_initial_design(scenario, recs, space, n_configs=2)
    chosen = design.select_configurations()
    # ConfigSpace compares configurations by their vector form (floats to ~13 digits).
    for config in additional_configs(recs, space):
        assert config in chosen
    assert all(space.contains(space.validate(dict(c))) for c in chosen)
