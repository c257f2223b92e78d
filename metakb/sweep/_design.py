"""Configuration designs: which configurations of an algorithm a sweep evaluates on every dataset.

A design is the same list of configurations for every dataset, so the grown
meta-dataset is a dense (dataset x configuration) matrix, which portfolios and
collaborative filtering need. It holds, in this order:

1. the library's own defaults (:meth:`~metakb.spaces.Algorithm.library_config`),
   so every recommendation can be compared with what a user gets for free;
2. the space's default, when it differs (AutoGluon's for LightGBM);
3. published configurations: the first ``n_published`` of the algorithm's
   flows in the knowledge base by config id (ids are hashes, so this is a
   deterministic, unbiased subset: the TabRepo configurations for LightGBM, the
   OpenML runs' for the others), when the knowledge base holds any;
4. a scrambled Sobol sample of ``n_sobol`` points of the space (space-filling).

Duplicates are dropped, keeping the first label.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from metakb.configs import canonical_json
from metakb.spaces import Algorithm, Params


@dataclass(frozen=True)
class DesignSpec:
    """How many published and space-filling configurations a named design holds."""

    n_published: int
    n_sobol: int


# "standard" is sized for the 2-core budget: 26 configurations (with both defaults)
# x 134 PMLB tables x 5 folds is about 1.5 CPU hours for LightGBM at 500 rows.
DESIGNS: dict[str, DesignSpec] = {
    "standard": DesignSpec(n_published=16, n_sobol=8),
    "small": DesignSpec(n_published=4, n_sobol=4),
    "large": DesignSpec(n_published=64, n_sobol=32),
}
"""The named designs (``metakb sweep --design``)."""

DEFAULT_DESIGN = "standard"


@dataclass(frozen=True)
class DesignPoint:
    """One configuration of a design and where it came from.

    Attributes
    ----------
    label : str
        ``library_default``, ``space_default``, ``published:<i>`` or ``sobol:<i>``.
    config : dict
        The configuration (the space's parameter names).
    """

    label: str
    config: Params


def sobol_configs(algorithm: Algorithm, n: int, *, seed: int = 0) -> list[Params]:
    """Return ``n`` configurations of a scrambled Sobol sequence over the algorithm's space."""
    if n <= 0:
        return []
    from scipy.stats import qmc

    space = algorithm.space
    sampler = qmc.Sobol(d=space.n_dims, scramble=True, seed=seed)
    with warnings.catch_warnings():  # balance needs a power of two; the prefix is still spread
        warnings.simplefilter("ignore", UserWarning)
        points = sampler.random_base2(max(0, math.ceil(math.log2(n))))[:n]
    return [space.decode(point) for point in points]


def build_design(
    algorithm: Algorithm,
    name: str = DEFAULT_DESIGN,
    *,
    published: Sequence[Params] = (),
    seed: int = 0,
) -> list[DesignPoint]:
    """Return the configurations of a named design for one algorithm.

    Parameters
    ----------
    algorithm : Algorithm
        The algorithm swept.
    name : str
        A key of :data:`DESIGNS`.
    published : sequence of dict
        Published configurations to take the first ``n_published`` from
        (already in the space's parameter names).
    seed : int
        Seed of the Sobol scramble.

    Raises
    ------
    ValueError
        An unknown design name.
    """
    if name not in DESIGNS:
        raise ValueError(f"unknown design {name!r}; known: {', '.join(sorted(DESIGNS))}")
    spec = DESIGNS[name]
    space = algorithm.space
    candidates = [
        DesignPoint("library_default", space.validate(algorithm.library_config())),
        DesignPoint("space_default", space.default()),
        *(DesignPoint(f"published:{i}", p) for i, p in enumerate(published[: spec.n_published])),
        *(
            DesignPoint(f"sobol:{i}", p)
            for i, p in enumerate(sobol_configs(algorithm, spec.n_sobol, seed=seed))
        ),
    ]
    seen: set[str] = set()
    points = []
    for point in candidates:
        key = canonical_json(point.config)
        if key not in seen:
            seen.add(key)
            points.append(point)
    return points
