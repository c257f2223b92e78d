"""Objectives: real cross-validated fits, tabular lookup and surrogate benchmarks.

Every objective is a picklable callable ``(config, fidelity) -> EvalResult``
(so process pools and Dask can ship it) that never raises for a bad
configuration: exceptions and time-outs become failed results.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from ConfigSpace import ConfigurationSpace
from sklearn.base import BaseEstimator
from sklearn.metrics import get_scorer, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline

from metakb.search._base import config_key
from metakb.search._bo import ForestSurrogate
from metakb.search._space import encode
from metakb.search._types import EvalResult
from metakb.spaces import Algorithm, FidelityKind, TaskType, get_algorithm

# Task metric -> scikit-learn scorer (higher is better; RMSE is negated).
SCORERS: dict[str, str] = {
    "accuracy": "accuracy",
    "roc_auc": "roc_auc",
    "roc_auc_ovr": "roc_auc_ovr",
    "neg_rmse": "neg_root_mean_squared_error",
    "r2": "r2",
}
TASK_METRICS: dict[str, tuple[str, ...]] = {
    "classification": ("accuracy", "roc_auc", "roc_auc_ovr"),
    "regression": ("neg_rmse", "r2"),
}
"""The metrics of `SCORERS` that score each task type's predictions."""
DEFAULT_METRIC: dict[str, str] = {"classification": "accuracy", "regression": "neg_rmse"}


class TrialTimeout(Exception):  # noqa: N818 - a signal inside the objective, never surfaced
    """A fit ran past the per-trial time limit."""


def _multiclass_auc(y_true: Any, y_score: np.ndarray, labels: np.ndarray) -> float:
    """Return one-vs-rest macro ROC AUC over the classes present in ``y_true``.

    ``labels`` name the columns of ``y_score`` (the model's classes). Decision
    scores are turned into probabilities by softmax. A class absent from a test
    fold, or unknown to the model (absent from its training fold), has no AUC
    there and is left out of that fold's mean rather than making it undefined.
    """
    scores = np.asarray(y_score, dtype=float)
    if not np.allclose(scores.sum(axis=1), 1.0) or (scores < 0).any():
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        scores /= scores.sum(axis=1, keepdims=True)
    truth = np.asarray(y_true)
    present = [i for i, label in enumerate(labels) if (truth == label).any()]
    if len(present) == len(labels) and np.isin(truth, labels).all():
        return float(roc_auc_score(truth, scores, multi_class="ovr", labels=labels))
    return float(np.mean([roc_auc_score(truth == labels[i], scores[:, i]) for i in present]))


def _ovr_auc(model: Any, x: pd.DataFrame, y: Any) -> float:
    """Score a fitted multiclass model by one-vs-rest AUC over its own classes."""
    if hasattr(model, "predict_proba"):
        scores = model.predict_proba(x)
    else:  # models without probabilities (SVC) rank by their decision scores
        scores = model.decision_function(x)
    return _multiclass_auc(y, scores, np.asarray(model.classes_))


def _algorithm(algorithm: Algorithm | str) -> Algorithm:
    if isinstance(algorithm, Algorithm):
        return algorithm
    try:
        return get_algorithm(algorithm)
    except KeyError:
        raise ValueError(f"unknown algorithm {algorithm!r}") from None


class _Estimators:
    """A picklable ``(config, x) -> pipeline`` factory of one algorithm and task type."""

    def __init__(self, algorithm: Algorithm | str, task_type: str, seed: int = 0) -> None:
        self.algorithm = _algorithm(algorithm)
        self.task_type = self.algorithm.check_task_type(task_type)
        self.seed = seed


class SpaceEstimators(_Estimators):
    """Build the pipeline for a configuration of an algorithm's space (picklable).

    ``(config, x) -> pipeline``: the configuration is keyed by the space's
    (flow) parameter names; the pipeline is
    :meth:`~metakb.spaces.Algorithm.pipeline`, preprocessing for ``x``'s
    column kinds plus the model, the numeric imputer taking the
    configuration's strategy where the space has one, the size-dependent
    values capped for ``x``'s rows (:meth:`~metakb.spaces.Algorithm.fit_to_rows`:
    `CVObjective` passes each fold's training rows). Pickles by algorithm
    name, so process pools and Dask workers rebuild it cheaply.

    Parameters
    ----------
    algorithm : Algorithm or str
        The record, or a name or flow key for :func:`~metakb.spaces.get_algorithm`.
    task_type : {'classification', 'regression'}
        One of the algorithm's task types.
    seed : int
        Model seed.

    Raises
    ------
    ValueError
        An unknown algorithm, or a task type it does not support.
    """

    def __call__(self, config: Mapping[str, Any], x: pd.DataFrame) -> Pipeline:
        """Return the unfitted pipeline for ``config``, to be fitted on ``x``."""
        return self.algorithm.pipeline(config, x, self.task_type, self.seed)


class DefaultEstimators(_Estimators):
    """Build a pipeline from the estimator's own keyword arguments (library defaults elsewhere).

    ``(params, x) -> pipeline``: the keys are the scikit-learn / LightGBM
    parameter names (for AdaBoost, ``max_depth`` sets the base tree's depth);
    absent ones keep the library's defaults. ``DefaultEstimators(name,
    task_type)({}, x)`` is the algorithm's default pipeline, see
    :meth:`~metakb.spaces.Algorithm.default_pipeline`. The arguments are used
    as given whatever ``x``'s rows: they are the library's own behaviour (the
    baselines), not a configuration of the space. Parameters and errors as
    for :class:`SpaceEstimators`.
    """

    def model(self, params: Mapping[str, Any]) -> BaseEstimator:
        """Return the bare model for ``params``."""
        return cast(BaseEstimator, self.algorithm.estimator(params, self.task_type, self.seed))

    def __call__(self, config: Mapping[str, Any], x: pd.DataFrame) -> Pipeline:
        """Return preprocessing + model for ``config`` fitted to ``x``'s column kinds."""
        return self.algorithm.default_pipeline(x, self.task_type, self.seed, config)


def cv_scorer(metric: str, y: Any) -> Any:
    """Return the scikit-learn scorer `CVObjective` scores ``metric`` with on target ``y``.

    A plain ``cross_val_score`` loop given this scorer scores exactly as the
    objective does (the sweep-throughput benchmark relies on it).

    Parameters
    ----------
    metric : str
        A key of `SCORERS`.
    y : array-like
        The whole target: ``roc_auc`` on more than two classes is one-vs-rest
        over each fitted model's classes (a class missing from a fold is left
        out there).
    """
    name = SCORERS[metric]
    if name.startswith("roc_auc") and pd.Series(np.asarray(y)).nunique() > 2:
        # One-vs-rest AUC from probabilities, or from decision scores for
        # models without predict_proba (SVC), over the model's classes.
        return _ovr_auc
    return get_scorer(name)


EstimatorFactory = Callable[[Mapping[str, Any], pd.DataFrame], Any]


class CVObjective:
    """Score a configuration by K-fold cross-validation on the user's table.

    Stratified K-fold for classification, K-fold for regression. The
    fidelity is the fraction of each fold's training rows used for fitting
    (``fidelity_kind='rows'``, a stratified subsample) or the fraction of
    boosting rounds (``'rounds'``: ``n_estimators`` of the final model is
    scaled); the test part is always the full fold. A trial fails, without
    raising, when the estimator raises, a score is not finite, or the time
    limit is exceeded (checked after every fold and fit, so one overlong fit
    is only detected when it returns; the search loop's executor timeout is
    the hard stop).

    Parameters
    ----------
    x : pandas.DataFrame
        Features; non-numeric columns are treated as categorical.
    y : array-like
        Target.
    make_estimator : callable
        ``(config, x) -> estimator`` to be fitted on ``x`` (e.g.
        `SpaceEstimators` for configurations of a space, `DefaultEstimators`
        for estimator keyword arguments). It is called per fold with the
        fold's training rows (subsampled at a rows fidelity), so a factory can
        fit its model to their number. Must be picklable for process and Dask
        executors.
    task_type : {'classification', 'regression'}
    metric : str, optional
        A key of `SCORERS` for the task type (`TASK_METRICS`; default accuracy /
        neg_rmse); ``roc_auc`` on more
        than two classes is one-vs-rest, from probabilities or (SVC without
        ``probability=True``) softmax-normalized decision scores.
    n_splits : int
        Number of folds.
    fidelity_kind : {'rows', 'rounds'}
        What a fidelity below 1 shrinks.
    time_limit : float, optional
        Seconds per trial.
    seed : int
        Seed of the folds and subsamples.
    """

    def __init__(
        self,
        x: pd.DataFrame,
        y: Any,
        make_estimator: EstimatorFactory,
        *,
        task_type: TaskType,
        metric: str | None = None,
        n_splits: int = 5,
        fidelity_kind: FidelityKind = "rows",
        time_limit: float | None = None,
        seed: int = 0,
    ) -> None:
        metric = metric or DEFAULT_METRIC[task_type]
        if metric not in SCORERS:
            raise ValueError(f"unknown metric {metric!r}; choose from {sorted(SCORERS)}")
        if metric not in TASK_METRICS[task_type]:
            known = ", ".join(TASK_METRICS[task_type])
            raise ValueError(f"{metric} does not score {task_type}; choose from {known}")
        if len(x) != len(y):
            raise ValueError("x and y have different numbers of rows")
        if n_splits < 2:
            raise ValueError("n_splits must be >= 2")
        if fidelity_kind not in ("rows", "rounds"):
            raise ValueError("fidelity_kind must be 'rows' or 'rounds'")
        self.x = x.reset_index(drop=True)
        self.y = pd.Series(np.asarray(y)).reset_index(drop=True)
        self.make_estimator = make_estimator
        self.task_type = task_type
        self.metric = metric
        self.n_splits = n_splits
        self.fidelity_kind = fidelity_kind
        self.time_limit = time_limit
        self.seed = seed

    def _scorer(self) -> Any:
        return cv_scorer(self.metric, self.y)

    def _folds(self) -> list[tuple[np.ndarray, np.ndarray]]:
        splitter: Any
        if self.task_type == "classification":
            splitter = StratifiedKFold(self.n_splits, shuffle=True, random_state=self.seed)
        else:
            splitter = KFold(self.n_splits, shuffle=True, random_state=self.seed)
        return list(splitter.split(self.x, self.y))

    def _subsample(
        self, train: np.ndarray, fidelity: float, rng: np.random.Generator
    ) -> np.ndarray:
        n = max(2, math.ceil(fidelity * len(train)))
        if n >= len(train):
            return train
        if self.task_type != "classification":
            return np.sort(rng.choice(train, size=n, replace=False))
        # Stratified: each class keeps its share, and at least one row, so every fit sees it.
        labels = self.y.to_numpy()[train]
        picked = []
        for label in pd.unique(labels):
            rows = train[labels == label]
            share = max(1, round(n * len(rows) / len(train)))
            picked.append(rng.choice(rows, size=min(share, len(rows)), replace=False))
        return np.sort(np.concatenate(picked))

    def _estimator(self, config: Mapping[str, Any], fidelity: float, x: pd.DataFrame) -> Any:
        estimator = self.make_estimator(config, x)
        if self.fidelity_kind == "rounds" and fidelity < 1.0:
            key = next(
                (k for k in estimator.get_params() if k.split("__")[-1] == "n_estimators"), None
            )
            if key is None:
                raise ValueError("fidelity_kind='rounds' needs a model with n_estimators")
            full = int(estimator.get_params()[key])
            estimator.set_params(**{key: max(1, round(fidelity * full))})
        return estimator

    def __call__(self, config: Mapping[str, Any], fidelity: float = 1.0) -> EvalResult:
        """Return the mean cross-validated score of ``config`` at ``fidelity``."""
        start = time.perf_counter()
        try:
            if not 0.0 < fidelity <= 1.0:
                raise ValueError(f"fidelity {fidelity} is not in (0, 1]")
            scorer = self._scorer()
            rng = np.random.default_rng(self.seed)
            scores = []
            for train, test in self._folds():
                if self.fidelity_kind == "rows":
                    train = self._subsample(train, fidelity, rng)
                # Built per fold, so the factory sees the rows the model learns from.
                x_train = self.x.iloc[train]
                model = self._estimator(config, fidelity, x_train)
                model.fit(x_train, self.y.iloc[train])
                self._check_time(start)
                scores.append(float(scorer(model, self.x.iloc[test], self.y.iloc[test])))
                self._check_time(start)
            score = float(np.mean(scores))
            if not math.isfinite(score):
                raise ValueError("the score is not finite")
        except TrialTimeout:
            return EvalResult.failed(
                f"time limit of {self.time_limit:g} s exceeded", time.perf_counter() - start
            )
        except Exception as error:  # any failing configuration is a failed trial
            message = f"{type(error).__name__}: {error}".splitlines()[0][:500]
            return EvalResult.failed(message, time.perf_counter() - start)
        return EvalResult(score, time.perf_counter() - start, folds=tuple(scores))

    def _check_time(self, start: float) -> None:
        if self.time_limit is not None and time.perf_counter() - start > self.time_limit:
            raise TrialTimeout


class LookupObjective:
    """A tabular benchmark: the recorded value of each configuration of a fixed list.

    Give the optimizer ``candidates=objective.candidates`` so it only asks
    recorded configurations (BO then scores exactly those with EI). The
    fidelity is ignored (the table holds full evaluations); an unknown
    configuration is a failed trial.

    Parameters
    ----------
    configs : sequence of dict
        The evaluated configurations.
    values : sequence of float
        Their values, higher is better (negate errors first); NaN = failed run.
    seconds : sequence of float, optional
        Recorded runtimes, reported as the trial's seconds.
    """

    def __init__(
        self,
        configs: Sequence[Mapping[str, Any]],
        values: Sequence[float],
        seconds: Sequence[float] | None = None,
    ) -> None:
        if len(configs) != len(values) or (seconds is not None and len(seconds) != len(values)):
            raise ValueError("configs, values (and seconds) must have the same length")
        if not configs:
            raise ValueError("a lookup objective needs at least one configuration")
        self._table: dict[str, tuple[float, float]] = {}
        self.candidates: list[dict[str, Any]] = []
        for i, config in enumerate(configs):
            key = config_key(config)
            if key not in self._table:
                self.candidates.append(dict(config))
                runtime = 0.0 if seconds is None else float(seconds[i])
                self._table[key] = (float(values[i]), runtime)
        finite = [v for v, _ in self._table.values() if math.isfinite(v)]
        if not finite:
            raise ValueError("a lookup objective needs at least one finite value")
        self.best_value = max(finite)
        self.worst_value = min(finite)

    def __call__(self, config: Mapping[str, Any], fidelity: float = 1.0) -> EvalResult:
        """Return the recorded value of ``config``."""
        found = self._table.get(config_key(config))
        if found is None:
            return EvalResult.failed("configuration not in the lookup table")
        value, seconds = found
        if not math.isfinite(value):
            return EvalResult.failed("the recorded run failed", seconds)
        return EvalResult(value, seconds)


class SurrogateObjective:
    """A continuous benchmark: a random forest fitted on a task's (configuration, value) pairs.

    Any configuration of the space gets a deterministic predicted value, so
    optimizers can propose freely (unlike `LookupObjective`). The fidelity is
    ignored.

    Parameters
    ----------
    space : ConfigurationSpace
        The space configurations are encoded in (ConfigSpace vector form).
    n_trees : int
        Trees of the forest.
    seed : int
        Seed of the forest.
    """

    def __init__(self, space: ConfigurationSpace, n_trees: int = 100, seed: int = 0) -> None:
        self.space = space
        self.n_trees = n_trees
        self.seed = seed

    def fit(
        self, configs: Sequence[Mapping[str, Any]], values: Sequence[float]
    ) -> SurrogateObjective:
        """Fit the forest on ``configs`` and their ``values`` (NaN rows are dropped)."""
        y = np.asarray(values, dtype=float)
        if len(configs) != len(y):
            raise ValueError("configs and values must have the same length")
        keep = np.isfinite(y)
        if keep.sum() < 2:
            raise ValueError("a surrogate objective needs at least two finite values")
        x = encode(self.space, [c for c, k in zip(configs, keep, strict=True) if k])
        self.model_ = ForestSurrogate(self.n_trees, self.seed).fit(x, y[keep])
        return self

    def __call__(self, config: Mapping[str, Any], fidelity: float = 1.0) -> EvalResult:
        """Return the surrogate's prediction for ``config``."""
        start = time.perf_counter()
        try:
            mean, _ = self.model_.predict(encode(self.space, [config]))
        except Exception as error:  # an unencodable config is a failed trial
            return EvalResult.failed(f"{type(error).__name__}: {error}".splitlines()[0])
        return EvalResult(float(mean[0]), time.perf_counter() - start)
