"""Warm starters: meta-models that recommend configurations for a new task from past tasks.

Every model follows :class:`WarmStarter` (``fit(MetaDataset) -> self``,
``recommend(TaskQuery, k) -> list[Recommendation]``) and is listed in
:data:`WARM_STARTERS`. Optional abilities are declared protocols, checked
with ``isinstance``: :class:`PredictiveWarmStarter` (mean and spread at
configurations, a candidate pool: a prior for Bayesian optimization),
:class:`AdaptiveWarmStarter` (next picks given a search's observations) and
:class:`DefaultAwareWarmStarter` (evidence of a gain over the library default,
which :func:`select_over_default` weighs the same way for every model).
Models never touch the knowledge base: they take a :class:`MetaDataset`
built by :func:`build_meta_dataset` from plain frames.
"""

from collections.abc import Callable

from metakb.models._base import (
    AdaptiveWarmStarter,
    DefaultAwareWarmStarter,
    GainEvidence,
    Observed,
    PredictiveWarmStarter,
    Recommendation,
    TaskQuery,
    WarmStarter,
    greedy_portfolio,
)
from metakb.models._cf import CFWarmStarter
from metakb.models._cost import FitCostModel, RelativeCost
from metakb.models._default import select_over_default
from metakb.models._ensemble import (
    BASE_WARM_STARTERS,
    EnsembleWarmStarter,
    PredictiveEnsembleWarmStarter,
    make_ensemble,
)
from metakb.models._knn import KnnWarmStarter
from metakb.models._metadataset import (
    MetaDataset,
    TaskData,
    build_meta_dataset,
    dataset_groups,
)
from metakb.models._portfolio import PortfolioWarmStarter
from metakb.models._similarity import nearest_datasets
from metakb.models._transfer import TransferWarmStarter

WARM_STARTERS: dict[str, Callable[..., WarmStarter]] = {
    **BASE_WARM_STARTERS,
    "ensemble": make_ensemble,
}
"""Every warm starter by name; instantiate with keyword parameters (all have ``seed``)."""

DEFAULT_WARM_STARTER = "transfer"
"""What warm starts of a search use unless told otherwise: the best method of the
leave-one-task-out benchmark (docs/benchmarks/zeroshot.md), and the BO prior of the tabular one."""

DEFAULT_RECOMMENDER = "cf"
"""What ``recommend`` weighs against the library default unless told otherwise. Chosen on the
sweep's leave-one-dataset-out tables (docs/benchmarks/lodo.md), not on the live benchmark's
held-out ones: of the methods that, weighed against the default at margin 1, lose to it by more
than one standard error on at most 5% of the datasets of every algorithm and task type, the one
that beats it most often where it can be beaten."""

__all__ = [
    "BASE_WARM_STARTERS",
    "DEFAULT_RECOMMENDER",
    "DEFAULT_WARM_STARTER",
    "WARM_STARTERS",
    "AdaptiveWarmStarter",
    "CFWarmStarter",
    "DefaultAwareWarmStarter",
    "EnsembleWarmStarter",
    "FitCostModel",
    "GainEvidence",
    "KnnWarmStarter",
    "MetaDataset",
    "Observed",
    "PortfolioWarmStarter",
    "PredictiveEnsembleWarmStarter",
    "PredictiveWarmStarter",
    "Recommendation",
    "RelativeCost",
    "TaskData",
    "TaskQuery",
    "TransferWarmStarter",
    "WarmStarter",
    "build_meta_dataset",
    "dataset_groups",
    "greedy_portfolio",
    "make_ensemble",
    "nearest_datasets",
    "select_over_default",
]
