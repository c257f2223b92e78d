"""The warm-starter protocols, their query and answer records, and helpers the models share.

Every model is a :class:`WarmStarter`. An optional ability is a protocol of
its own, declared by subclassing it (``class M(PredictiveWarmStarter)``) and
found by callers with ``isinstance``, never by probing for a method: each
ability has a method name only the models having it define, because a
runtime-checkable protocol only checks that names exist.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, runtime_checkable

import numpy as np

from metakb.configs import canonical_json
from metakb.models._metadataset import MetaDataset, TaskData, meta_feature_vector
from metakb.spaces import Params, SearchSpace

SIMPLE_META_FEATURES: tuple[str, ...] = (
    "NumberOfInstances",
    "NumberOfFeatures",
    "NumberOfClasses",
    "Dimensionality",
    "PercentageOfSymbolicFeatures",
    "PercentageOfMissingValues",
    "ClassEntropy",
    "MajorityClassPercentage",
)
"""Cheap, robust meta-features every dataset has (OpenML names); a new table's are exact.

In the leave-one-task-out measurement a distance over these transferred better
than one over all 100+ OpenML qualities, where dozens of correlated
landmarkers swamp the few that describe the data's shape.
"""


SIZE_META_FEATURES: tuple[str, ...] = ("NumberOfInstances", "NumberOfFeatures", "NumberOfClasses")
"""The data's size, whose range over the training tasks a trained model records.

A new task outside it (a 100-row table when every past task had thousands of
rows) gets recommendations that extrapolate, and is told so.
"""


def select_features(wanted: Sequence[str] | None, available: Sequence[str]) -> list[str]:
    """Return the wanted meta-features the data has (all of ``available`` when none match)."""
    if wanted is None:
        return list(available)
    chosen = [name for name in wanted if name in available]
    return chosen or list(available)


@dataclass(frozen=True)
class TaskQuery:
    """What a warm starter knows about the task it recommends for.

    Attributes
    ----------
    meta_features : mapping of str to float
        The task's meta-features (OpenML quality names); missing ones are imputed.
    observations : tuple of (params, value)
        Configurations already evaluated on the task and their metric values,
        in the metric's own direction (as stored).
    candidates : tuple of params, optional
        When given, recommendations are chosen among these configurations only
        (e.g. the task's evaluated configurations in a tabular benchmark).
    task_id : str, optional
        The task's key, for logging only.
    """

    meta_features: Mapping[str, float] = field(default_factory=dict)
    observations: tuple[tuple[Params, float], ...] = ()
    candidates: tuple[Params, ...] | None = None
    task_id: str | None = None


@dataclass(frozen=True)
class Recommendation:
    """One recommended configuration.

    Attributes
    ----------
    config : dict
        The configuration under the flow's parameter names (see
        :meth:`metakb.spaces.SearchSpace.to_estimator_params` for estimator kwargs).
    predicted_score : float or None
        The model's estimate of the configuration's normalized score on the task
        (1 = as good as the best configuration of a typical past task, 0 = the
        worst), when the model makes one.
    source_tasks : tuple of str
        The past tasks the recommendation was drawn from or weighted by.
    predicted_gain : float or None
        The predicted normalized score over the algorithm's library default
        (0 for the default itself), when the recommendation was chosen
        against it (:func:`metakb.models.select_over_default`).
    gain_sd : float or None
        The spread of that gain over the tasks it was predicted from.
    reason : str or None
        One line saying why the configuration holds its rank.
    is_default : bool
        Whether the configuration is the library default.
    """

    config: Params
    predicted_score: float | None = None
    source_tasks: tuple[str, ...] = ()
    predicted_gain: float | None = None
    gain_sd: float | None = None
    reason: str | None = None
    is_default: bool = False

    @property
    def flow_params(self) -> Params:
        """The configuration under the flow's parameter names (:attr:`config` itself).

        What :class:`metakb.kb.RecommendedConfig` calls it too, whose
        ``config`` holds estimator keyword arguments: the integrations read
        this name from either.
        """
        return self.config


Observed = tuple[np.ndarray, np.ndarray]
"""``(x, y)``: a new task's evaluated configurations and their values, higher is better.

``x`` holds rows of the fitted space's encoding
(:meth:`~metakb.spaces.SearchSpace.encode_many`); ``y`` the values in the
maximizing direction (errors negated), as a search sees them.
"""


@runtime_checkable
class WarmStarter(Protocol):
    """A meta-model recommending configurations for a new task.

    ``fit`` learns from a :class:`MetaDataset` without modifying it and returns
    the model; ``recommend`` returns at most ``k`` distinct configurations of
    the space, best first; the same ``seed`` gives the same recommendations.
    """

    seed: int

    def fit(self, data: MetaDataset) -> Self:
        """Learn from past tasks."""
        ...

    def recommend(self, query: TaskQuery, k: int) -> list[Recommendation]:
        """Return at most ``k`` configurations for the queried task, best first."""
        ...


@runtime_checkable
class PredictiveWarmStarter(WarmStarter, Protocol):
    """A warm starter that also predicts how configurations score on the queried task.

    A search makes such a model Bayesian optimization's prior surrogate
    (through :class:`metakb.search.QueryPrior`), and scores its candidate pool
    on every ask besides random samples.

    Contract, once fitted:

    - ``predict(query, x, observed)`` takes ``x`` of shape ``(n, d)``, rows of
      the fitted space's encoding, and returns finite ``mean`` and ``std`` of
      shape ``(n,)``, ``std >= 0``, on the normalized-score scale (higher is
      better). ``observed`` (see :data:`Observed`) are the search's
      evaluations of the task, which the model may use to adapt; None: the
      query's own observations. The same inputs give the same prediction.
    - ``candidate_pool()`` returns configurations of the space where the
      model expects good ones (fixed at fit; possibly empty).
    """

    def predict(
        self, query: TaskQuery, x: np.ndarray, observed: Observed | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the predicted mean and spread of normalized scores at encoded configs ``x``."""
        ...

    def candidate_pool(self) -> list[Params]:
        """Return configurations a search guided by this model should also score."""
        ...


@runtime_checkable
class AdaptiveWarmStarter(WarmStarter, Protocol):
    """A warm starter that picks the next configurations given what a search observed.

    :class:`metakb.search.AdaptiveWarmStart` asks it before each of a
    search's first asks, with the trials told so far.

    Contract, once fitted: ``recommend_given(query, k, observed)`` returns at
    most ``k`` distinct configurations of the space, best first, none of them
    one of the ``observed`` configurations (compared in the encoding; see
    :data:`Observed`; None: the query's own observations). The same
    observations give the same picks, so a resumed search replays them.
    """

    def recommend_given(
        self, query: TaskQuery, k: int, observed: Observed | None
    ) -> list[Recommendation]:
        """Return at most ``k`` new configurations, given the task's observations."""
        ...


@dataclass(frozen=True)
class GainEvidence:
    """Normalized scores of configurations on the past tasks a model reads a gain from.

    A configuration's gain over the default on one row is its score there
    minus the default's; the weighted mean over rows is the predicted gain and
    the weighted standard deviation its uncertainty.

    Attributes
    ----------
    weights : numpy.ndarray
        ``(rows,)`` non-negative, summing to 1.
    scores : numpy.ndarray
        ``(rows, configs)`` normalized scores (higher is better), columns in
        the order the configurations were asked for.
    sources : tuple of str
        The task each row stands for (a task may hold several rows, e.g. one
        per meta-model of an ensemble).
    basis : str
        What the rows are, for a reason's "from 7 similar tasks".
    """

    weights: np.ndarray
    scores: np.ndarray
    sources: tuple[str, ...]
    basis: str


@runtime_checkable
class DefaultAwareWarmStarter(WarmStarter, Protocol):
    """A warm starter whose recommendations can be weighed against the library default.

    :func:`metakb.models.select_over_default` ranks a configuration above the
    default only when the evidence predicts a gain over it larger than the
    gain's spread.

    Contract, once fitted:

    - ``gain_evidence(query, configs, general=False)`` returns a
      :class:`GainEvidence` with one column per configuration, in order.
      The rows are the tasks the model's recommendation for ``query`` rests
      on (its neighbours, its weighted members); ``general=True``: every
      training task, equally weighted (for a query the model cannot place).
    - ``general_configs(n)`` returns at most ``n`` configurations of the
      model's pool, best on average over every training task first.
    """

    def gain_evidence(
        self, query: TaskQuery, configs: Sequence[Params], *, general: bool = False
    ) -> GainEvidence:
        """Return the scores of ``configs`` on the rows the query's gain is read from."""
        ...

    def general_configs(self, n: int) -> list[Params]:
        """Return the pool's ``n`` configurations best on average over the training tasks."""
        ...


def surrogate_evidence(
    tasks: Sequence[TaskData],
    space: SearchSpace,
    configs: Sequence[Params],
    seed: int,
    *,
    weights: np.ndarray | None = None,
    basis: str,
) -> GainEvidence:
    """Return every task's surrogate scores of ``configs`` as evidence (equal weights by default).

    Surrogate predictions for every configuration, evaluated or not, so that
    like is compared with like: the library default is rarely evaluated
    (never in TabRepo), and a task's best configuration observed against
    the default's smoothed prediction reads the luck that made it the best
    as a gain. (Leave-one-task-out on TabRepo LightGBM, with its evaluated
    default: lower regret than observed values where known.)
    """
    x = space.encode_many([space.validate(c) for c in configs], validated=True)
    scores = np.vstack([task.predict(x, seed) for task in tasks])
    w = np.full(len(tasks), 1.0 / len(tasks)) if weights is None else np.asarray(weights)
    return GainEvidence(w, scores, tuple(t.task_id for t in tasks), basis)


def best_on_average(configs: Sequence[Params], scores: np.ndarray, n: int) -> list[Params]:
    """Return the ``n`` distinct configurations of highest mean score over ``scores``' rows."""
    order = np.argsort(-np.asarray(scores, dtype=float).mean(axis=0), kind="stable")
    # A pool may repeat a configuration (a random one that is also a task's best).
    out: dict[str, Params] = {}
    for j in order:
        out.setdefault(canonical_json(configs[int(j)]), dict(configs[int(j)]))
        if len(out) >= n:
            break
    return list(out.values())


class MetaFeatureScaler:
    """Signed log, median imputation and standardization of meta-features.

    Counts such as NumberOfInstances span orders of magnitude; the signed
    ``log1p`` keeps one large dataset from dominating every distance.
    """

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)

    def fit(self, matrix: np.ndarray) -> MetaFeatureScaler:
        """Learn medians, means and scales from a ``(tasks, features)`` matrix."""
        logged = _signed_log(matrix)
        with warnings.catch_warnings():
            # A meta-feature unknown for every training task has no median: it becomes 0.
            warnings.simplefilter("ignore", RuntimeWarning)
            median = np.nanmedian(logged, axis=0) if logged.size else np.zeros(logged.shape[1])
        self.median_ = np.where(np.isfinite(median), median, 0.0)
        filled = np.where(np.isfinite(logged), logged, self.median_)
        self.mean_ = filled.mean(axis=0) if len(filled) else np.zeros(filled.shape[1])
        std = filled.std(axis=0) if len(filled) else np.ones(filled.shape[1])
        self.scale_ = np.where(std > 1e-12, std, 1.0)
        return self

    def transform(self, matrix: np.ndarray) -> np.ndarray:
        """Return the standardized matrix (NaN replaced by the training median)."""
        logged = _signed_log(np.atleast_2d(matrix))
        filled = np.where(np.isfinite(logged), logged, self.median_)
        return (filled - self.mean_) / self.scale_

    def query(self, values: Mapping[str, float]) -> np.ndarray:
        """Return one task's standardized meta-feature vector."""
        return self.transform(meta_feature_vector(self.names, values))[0]


def _signed_log(matrix: np.ndarray) -> np.ndarray:
    x = np.asarray(matrix, dtype=float)
    return np.sign(x) * np.log1p(np.abs(x))


@dataclass(frozen=True)
class Pool:
    """Candidate configurations gathered from the training tasks."""

    configs: tuple[Params, ...]
    X: np.ndarray
    sources: tuple[str, ...]


def best_config_pool(data: MetaDataset, per_task: int) -> Pool:
    """Return the union of every training task's ``per_task`` best configurations."""
    configs: list[Params] = []
    rows: list[np.ndarray] = []
    sources: list[str] = []
    seen: set[str] = set()
    for task in data.tasks:
        for i in task.best(per_task):
            key = canonical_json(task.configs[i])
            if key not in seen:
                seen.add(key)
                configs.append(task.configs[i])
                rows.append(task.X[i])
                sources.append(task.task_id)
    return Pool(tuple(configs), np.vstack(rows), tuple(sources))


def score_matrix(
    tasks: Sequence[TaskData], configs: Sequence[Params], x: np.ndarray, seed: int
) -> np.ndarray:
    """Return ``(tasks, configs)`` normalized scores: observed where evaluated, else predicted."""
    if len(x) == 0:
        return np.empty((len(tasks), 0))
    keys = tuple(canonical_json(c) for c in configs)
    return np.vstack([task.scores(configs, x, seed, keys) for task in tasks])


def greedy_portfolio(
    scores: np.ndarray,
    k: int,
    weights: np.ndarray | None = None,
    *,
    start: np.ndarray | None = None,
    exclude: Sequence[int] = (),
) -> list[int]:
    """Pick ``k`` columns maximizing the (weighted) mean over rows of the best picked column.

    Equivalent to minimizing the mean normalized regret of the portfolio's best
    member over the tasks (rows); the regret therefore never rises as ``k``
    grows. With ``weights`` (one per task, e.g. task similarities) the mean is
    weighted: the expected best-of-k when the new task resembles task ``t``
    with probability ``weights[t]``. ``start`` continues a portfolio: each
    row's best score among configurations already picked (elsewhere), which
    the new picks only improve on; ``exclude`` columns are never picked.

    References
    ----------
    Feurer et al., "Auto-Sklearn 2.0: Hands-free AutoML via Meta-Learning", JMLR 2022.
    """
    n_tasks, n = scores.shape
    w = np.full(n_tasks, 1.0 / n_tasks) if weights is None else np.asarray(weights, dtype=float)
    chosen: list[int] = []
    best = np.full(n_tasks, -np.inf) if start is None else np.asarray(start, dtype=float)
    blocked = np.zeros(n, dtype=bool)
    blocked[list(exclude)] = True
    for _ in range(min(k, n - int(blocked.sum()))):
        gain = w @ np.maximum(best[:, None], scores)
        gain[blocked] = -np.inf
        j = int(np.argmax(gain))
        chosen.append(j)
        blocked[j] = True
        best = np.maximum(best, scores[:, j])
    return chosen


def kernel_weights(d: np.ndarray, scale: float, n_tasks: int) -> np.ndarray:
    """Return Gaussian-kernel weights of distances ``d``, kept for the ``n_tasks`` nearest.

    ``scale`` is the kernel width; weights sum to 1 and are positive exactly
    for the ``n_tasks`` nearest tasks (ties broken by order).
    """
    w = np.exp(-0.5 * (np.asarray(d, dtype=float) / max(scale, 1e-12)) ** 2)
    return keep_top(w, n_tasks)


def keep_top(w: np.ndarray, n_tasks: int) -> np.ndarray:
    """Keep the ``n_tasks`` largest weights (floored at a tiny positive value), normalized."""
    keep = np.argsort(-w, kind="stable")[:n_tasks]
    out = np.zeros(len(w))
    out[keep] = np.maximum(np.nan_to_num(w[keep]), 1e-12)
    return out / out.sum()


def candidates_of(space: SearchSpace, query: TaskQuery) -> tuple[list[Params], np.ndarray] | None:
    """Return the query's candidates, validated and encoded, or None when it has none."""
    if query.candidates is None:
        return None
    configs = [space.validate(c) for c in query.candidates]
    return configs, space.encode_many(configs, validated=True)


def top_distinct(
    configs: Sequence[Params],
    order: Sequence[int] | np.ndarray,
    k: int,
    make: Any,
) -> list[Recommendation]:
    """Walk ``order`` and keep the first ``k`` distinct configurations as recommendations.

    ``make(i)`` returns the ``(predicted_score, source_tasks)`` of position ``i``.
    """
    out: list[Recommendation] = []
    seen: set[str] = set()
    for i in order:
        key = canonical_json(configs[int(i)])
        if key in seen:
            continue
        seen.add(key)
        score, sources = make(int(i))
        out.append(Recommendation(dict(configs[int(i)]), score, tuple(sources)))
        if len(out) >= k:
            break
    return out


def check_k(k: int) -> None:
    """Raise ValueError unless ``k`` is a positive integer."""
    if not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, not {k!r}")
