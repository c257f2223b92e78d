"""SMAC3: metakb's recommendations as the initial design's additional configurations.

Requires the ``smac`` extra. SMAC must search the space's own ConfigSpace
(``get_space(algorithm).configspace``), whose names are the flow's parameter names.

Examples
--------
>>> from smac import HyperparameterOptimizationFacade, Scenario  # doctest: +SKIP
>>> space = get_space("random_forest")  # doctest: +SKIP
>>> scenario = Scenario(space.configspace, n_trials=30, deterministic=True)  # doctest: +SKIP
>>> design = warm_initial_design(scenario, recs, space)  # doctest: +SKIP
>>> smac = HyperparameterOptimizationFacade(scenario, train, initial_design=design)
... # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ConfigSpace import Configuration
from smac import HyperparameterOptimizationFacade, Scenario

from metakb.models import Recommendation
from metakb.spaces import SearchSpace

if TYPE_CHECKING:
    from typing import TypeAlias

    from metakb.kb import RecommendedConfig

    Recommended: TypeAlias = Recommendation | RecommendedConfig


def additional_configs(recs: Sequence[Recommended], space: SearchSpace) -> list[Configuration]:
    """Return the recommendations as ConfigSpace configurations of ``space.configspace``.

    Their ``flow_params`` are used (from :func:`metakb.recommend` or a warm
    starter); duplicates are dropped; order (best first) is kept.
    """
    configs: list[Configuration] = []
    for rec in recs:
        config = Configuration(space.configspace, values=space.validate(rec.flow_params))
        if config not in configs:
            configs.append(config)
    return configs


def warm_initial_design(
    scenario: Scenario,
    recs: Sequence[Recommended],
    space: SearchSpace,
    **kwargs: Any,
) -> Any:
    """Return the HPO facade's initial design with the recommendations as additional configs.

    ``kwargs`` go to ``HyperparameterOptimizationFacade.get_initial_design``
    (e.g. ``n_configs`` for the random part). The scenario's configuration
    space must be ``space.configspace``.
    """
    if scenario.configspace is not space.configspace and dict(scenario.configspace) != dict(
        space.configspace
    ):
        raise ValueError("the scenario must search the space's own configspace")
    return HyperparameterOptimizationFacade.get_initial_design(
        scenario, additional_configs=additional_configs(recs, space), **kwargs
    )
