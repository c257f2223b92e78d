"""Designs: the defaults first, published configurations, a space-filling sample, no repeats."""

from __future__ import annotations

import pytest

from metakb.configs import canonical_json
from metakb.spaces import ALGORITHMS, get_algorithm
from metakb.sweep import DESIGNS, build_design, sobol_configs


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_design_starts_with_the_library_default_and_has_no_repeats(name: str) -> None:
    algorithm = ALGORITHMS[name]
    points = build_design(algorithm, "small")
    assert points[0].label == "library_default"
    assert points[0].config == algorithm.space.validate(algorithm.library_config())
    keys = [canonical_json(p.config) for p in points]
    assert len(keys) == len(set(keys))
    assert all(algorithm.space.contains(p.config) for p in points)
    assert sum(p.label.startswith("sobol:") for p in points) == DESIGNS["small"].n_sobol


def test_lightgbm_design_holds_both_defaults_and_at_most_n_published() -> None:
    algorithm = get_algorithm("lightgbm")
    published = [algorithm.space.sample(1, seed=i)[0] for i in range(10)]
    points = build_design(algorithm, "small", published=published)
    labels = [p.label for p in points]
    assert labels[:2] == ["library_default", "space_default"]
    assert labels.count("published:0") == 1
    assert sum(label.startswith("published:") for label in labels) == DESIGNS["small"].n_published
    assert points[2].config == published[0]


def test_a_published_copy_of_the_default_is_dropped() -> None:
    algorithm = get_algorithm("lightgbm")
    points = build_design(algorithm, "small", published=[algorithm.space.default()])
    assert not any(p.label.startswith("published:") for p in points)


def test_sobol_sample_is_deterministic_and_spread() -> None:
    algorithm = get_algorithm("lightgbm")
    first = sobol_configs(algorithm, 16, seed=3)
    assert first == sobol_configs(algorithm, 16, seed=3)
    assert first != sobol_configs(algorithm, 16, seed=4)
    rates = sorted(c["learning_rate"] for c in first)
    # A space-filling sample covers the log range of the rate, both ends.
    assert rates[0] < 0.01 and rates[-1] > 0.05


def test_unknown_design_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match=r"unknown design .huge.; known: large, small, standard"):
        build_design(get_algorithm("lightgbm"), "huge")
