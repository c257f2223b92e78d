"""Random search, and Bayesian optimization with a random-forest surrogate and EI."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sklearn
from ConfigSpace import ConfigurationSpace
from scipy.special import ndtr
from sklearn.tree import DecisionTreeRegressor

from metakb.search._base import (
    BaseOptimizer,
    ConditionalPrior,
    Encoder,
    PooledPrior,
    PriorSurrogate,
    QuerySurrogate,
    config_key,
)
from metakb.search._space import in_space
from metakb.search._types import Config, Trial

_MIN_STD = 1e-6


class RandomSearch(BaseOptimizer):
    """Uniform random search over the space (or the candidate list), enqueued configurations first.

    Parameters are those of `BaseOptimizer`.
    """

    def ask(self) -> Trial:
        """Return the next trial at full fidelity."""
        return self._new_trial(self._next_config())


def expected_improvement(
    mean: np.ndarray, std: np.ndarray, best: float, xi: float = 0.0
) -> np.ndarray:
    """Return the expected improvement over ``best`` for maximization.

    Parameters
    ----------
    mean, std : numpy.ndarray
        Predictive mean and standard deviation per candidate.
    best : float
        Incumbent value on the same scale as ``mean``.
    xi : float
        Exploration margin subtracted from the improvement.

    References
    ----------
    Jones, Schonlau and Welch (1998), Efficient global optimization of expensive
    black-box functions. Journal of Global Optimization 13.
    """
    std = np.maximum(std, _MIN_STD)
    improvement = mean - best - xi
    z = improvement / std
    density = np.exp(-0.5 * z**2) / np.sqrt(2.0 * np.pi)
    return np.asarray(improvement * ndtr(z) + std * density, dtype=float)


class ForestSurrogate:
    """A random forest whose spread across trees is the predictive uncertainty (as in SMAC).

    Works on any encoding, including ConfigSpace's vector form with -1 for
    inactive conditional hyperparameters: trees split those off.

    Parameters
    ----------
    n_trees : int
        Number of trees.
    seed : int or None
        Seed of the forest.
    """

    def __init__(self, n_trees: int = 20, seed: int | None = None) -> None:
        self.n_trees = n_trees
        self.seed = seed

    def fit(self, x: np.ndarray, y: np.ndarray) -> ForestSurrogate:
        """Fit on encoded configurations ``x`` and values ``y`` (higher is better)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.float64)
        if x.ndim != 2 or len(x) != len(y) or len(y) == 0:
            raise ValueError("ForestSurrogate.fit needs a 2-d x with one value per row")
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise ValueError("ForestSurrogate.fit needs finite x and y")
        # Trees are fitted one by one on bootstrap rows, sharing one RandomState,
        # with scikit-learn's checks off (validated above): at the few dozen rows
        # a search has, the forest's joblib start-up, per-fit validation, sample
        # weights and a fresh RandomState per tree would cost several times the
        # fitting itself, on every ask.
        rng = np.random.default_rng(self.seed)
        state = np.random.RandomState(int(rng.integers(2**31 - 1)))
        self.trees_ = []
        with sklearn.config_context(skip_parameter_validation=True, assume_finite=True):
            for _ in range(self.n_trees):
                rows = rng.integers(len(y), size=len(y))
                tree = DecisionTreeRegressor(max_features=0.8, random_state=state)
                tree.fit(x[rows], y[rows], check_input=False)
                self.trees_.append(tree)
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the mean and the standard deviation across trees for each row of ``x``."""
        # The low-level tree skips scikit-learn's per-call validation, which
        # dominates at the few hundred rows scored per ask.
        rows = np.ascontiguousarray(x, dtype=np.float32)
        per_tree = np.stack(
            [tree.tree_.predict(rows).reshape(len(rows), -1)[:, 0] for tree in self.trees_]
        )
        return per_tree.mean(axis=0), per_tree.std(axis=0)


class QueryPrior:
    """Bind a query-conditioned model to one query: a `ConditionalPrior` and a `PooledPrior`.

    The ``transfer`` meta-model predicts with ``predict(query, x_encoded,
    observed=None)``; BO needs ``predict(x_encoded)``, ``predict_given(x,
    x_obs, y_obs)`` to let the model adapt to the search's observations, and
    ``pool()``, the model's ``candidate_pool()``. The encoding must be the one
    the optimizer uses (pass the spaces module's encoder as ``encoder=``).

    Parameters
    ----------
    model : QuerySurrogate
        E.g. a fitted ``metakb.models.PredictiveWarmStarter``.
    query : Any
        The new task (``metakb.models.TaskQuery``).
    """

    def __init__(self, model: QuerySurrogate, query: Any) -> None:
        self.model = model
        self.query = query

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the model's (mean, std) for ``x`` on the bound query."""
        mean, std = self.model.predict(self.query, x)
        return np.asarray(mean, dtype=float), np.asarray(std, dtype=float)

    def pool(self) -> list[Config]:
        """Return the model's ``candidate_pool()``."""
        return [dict(c) for c in self.model.candidate_pool()]

    def predict_given(
        self, x: np.ndarray, x_obs: np.ndarray, y_obs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return the model's (mean, std) for ``x`` given the search's observations."""
        mean, std = self.model.predict(self.query, x, observed=(x_obs, y_obs))
        return np.asarray(mean, dtype=float), np.asarray(std, dtype=float)


def _standardize(values: np.ndarray) -> tuple[float, float]:
    scale = float(np.std(values))
    return float(np.mean(values)), scale if scale > 0 else 1.0


class EIProposer:
    """Pick the next configuration by expected improvement of a (prior-based) surrogate.

    Without a prior the surrogate is a random forest on the standardized
    observations. With one, the prior is the surrogate's mean function: its
    predictions, standardized over the candidates, are mapped onto the
    standardized observations by a least-squares line with a non-negative
    slope (from three observations on; before, as they are), and the forest
    models what the line leaves: mean = line + forest, variance = (slope x
    prior spread)^2 + forest variance. A prior that orders the observations
    well keeps its fine-grained ranking, which a forest on a few points
    cannot have; a wrong one gets slope 0 and the forest takes over. The
    line shrinks by ``prior_weight / (prior_weight + n)`` as observations
    accumulate, so the task's own data leads in the end. With
    fewer than two observations there is no forest; with none, the prior's
    best mean is picked. A `ConditionalPrior` (``transfer``) is given the
    observations, so it can reweight its past tasks.

    Parameters
    ----------
    prior : PriorSurrogate, optional
        A model learned on other tasks (e.g. the ``transfer`` meta-model bound to the query).
    prior_weight : float
        Pseudo-count of the prior, in observations (see above).
    n_trees : int
        Trees of the own random-forest surrogate.
    xi : float
        Exploration margin of expected improvement (in standardized units).
    refit_growth : float
        Refit the own surrogate only once the observations have grown by this
        fraction since its last fit (0: on every call). In between, the last
        forest scores the candidates, as in batch BO; for cheap objectives
        (tabular benchmarks) where refitting on every ask dominates the cost.

    References
    ----------
    Perrone et al., "Learning search spaces for Bayesian optimization: another
    view of hyperparameter transfer learning", NeurIPS 2019, and Wistuba,
    Schilling & Schmidt-Thieme, ECML-PKDD 2016 (TST-R), for a past-task model
    as the mean function that the target task's own model corrects.
    """

    def __init__(
        self,
        prior: PriorSurrogate | None = None,
        prior_weight: float = 10.0,
        n_trees: int = 20,
        xi: float = 0.01,
        refit_growth: float = 0.0,
    ) -> None:
        if prior_weight < 0 or refit_growth < 0:
            raise ValueError("prior_weight and refit_growth must be >= 0")
        self.prior = prior
        self.prior_weight = prior_weight
        self.n_trees = n_trees
        self.xi = xi
        self.refit_growth = refit_growth
        self._fitted: tuple[int, ForestSurrogate, float, float] | None = None

    def pick(
        self,
        encode: Callable[[Sequence[Config]], np.ndarray],
        configs: Sequence[Config],
        values: Sequence[float],
        candidates: Sequence[Config],
        rows: np.ndarray,
        rng: np.random.Generator,
    ) -> Config:
        """Return the candidate (encoded as ``rows``) that `choose` picks given the observations."""
        x_obs = encode(configs) if configs else np.empty((0, rows.shape[1]))
        return candidates[self.choose(x_obs, np.asarray(values, dtype=float), rows, rng)]

    def choose(
        self,
        x_obs: np.ndarray,
        y_obs: np.ndarray,
        x_cand: np.ndarray,
        rng: np.random.Generator,
    ) -> int:
        """Return the index of the candidate row with the highest expected improvement."""
        seed = int(rng.integers(2**31 - 1))
        n_obs, n_cand = len(y_obs), len(x_cand)
        if self.prior is None and n_obs < 2:
            return int(rng.integers(n_cand))
        both = np.vstack([x_cand, x_obs]) if n_obs else x_cand
        centre, scale = _standardize(y_obs) if n_obs else (0.0, 1.0)
        target = (y_obs - centre) / scale
        mean, var = np.zeros(len(both)), np.zeros(len(both))
        if self.prior is not None:
            prior_mean, prior_std = _prior_at(self.prior, both, n_cand, x_obs, y_obs)
            if n_obs == 0:
                # Nothing observed: follow the prior's mean (EI has no incumbent yet).
                return int(np.argmax(prior_mean))
            slope, offset = 1.0, 0.0
            if n_obs >= 3:
                shrink = self.prior_weight / (self.prior_weight + n_obs)
                slope, offset = (shrink * v for v in _calibrate(prior_mean[n_cand:], target))
            mean, var = slope * prior_mean + offset, (slope * prior_std) ** 2
            target = target - mean[n_cand:]
        if n_obs >= 2:
            forest_mean, forest_std = self._forest(x_obs, target, both, centre, scale, seed)
            mean, var = mean + forest_mean, var + forest_std**2
        best = float(np.max(mean[n_cand:]))
        ei = expected_improvement(mean[:n_cand], np.sqrt(var[:n_cand]), best, self.xi)
        # Break ties (e.g. all-zero EI far from data) at random rather than by position.
        top = np.flatnonzero(ei >= ei.max() - 1e-12)
        return int(top[rng.integers(len(top))])

    def _forest(
        self,
        x_obs: np.ndarray,
        target: np.ndarray,
        both: np.ndarray,
        centre: float,
        scale: float,
        seed: int,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Fit (or reuse) the own forest on ``target`` and predict it at ``both``.

        ``target`` is the observations standardized by ``centre`` and
        ``scale`` (minus the prior's line, with a prior).
        """
        n_obs = len(target)
        # Keep the last forest only while the observations grew by less than
        # refit_growth (BO's observations only ever grow: it was fitted on a prefix).
        fitted = self._fitted
        if fitted is None or not (
            self.refit_growth > 0 and fitted[0] <= n_obs < fitted[0] * (1.0 + self.refit_growth)
        ):
            model = ForestSurrogate(self.n_trees, seed).fit(x_obs, target)
            fitted = self._fitted = (n_obs, model, centre, scale)
        fitted_n, model, fit_centre, fit_scale = fitted
        mean, std = model.predict(both)
        if fitted_n < n_obs:
            # A kept forest predicts in its own fit's standardization: restate it
            # in the current one (residuals from the prior's line need no shift).
            shift = fit_centre - centre if self.prior is None else 0.0
            mean = (mean * fit_scale + shift) / scale
            std = std * fit_scale / scale
        return mean, std


def _prior_at(
    prior: PriorSurrogate, both: np.ndarray, n_cand: int, x_obs: np.ndarray, y_obs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the prior's mean and spread at ``both``, standardized over the first ``n_cand``."""
    if isinstance(prior, ConditionalPrior) and len(y_obs):
        raw = prior.predict_given(both, x_obs, y_obs)
    else:
        raw = prior.predict(both)
    mean, std = (np.asarray(a, dtype=float) for a in raw)
    centre, scale = _standardize(mean[:n_cand])
    return (mean - centre) / scale, std / scale


def _calibrate(prior: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Return the least-squares line from ``prior`` to ``target``, its slope floored at 0."""
    # The prior is standardized over the candidates: a spread this small at the
    # observations means it cannot tell them apart (and would give a huge slope).
    spread = float(np.var(prior))
    slope = float(np.cov(prior, target, bias=True)[0, 1]) / spread if spread > 1e-12 else 0.0
    slope = max(slope, 0.0)
    return slope, float(np.mean(target) - slope * np.mean(prior))


class BayesianOptimization(BaseOptimizer):
    """Bayesian optimization: random-forest surrogate + expected improvement (SMAC-like).

    The first ``n_initial`` configurations are random (or enqueued) unless a
    prior surrogate is given, in which case the prior guides from the first
    trial. Failed trials count as the worst value observed so far. Pending
    trials are imputed with the mean observed value ("constant liar") so
    parallel asks spread out. Expected improvement is maximised over
    ``n_candidates`` random configurations plus one-exchange neighbours of the
    best configurations found (ConfigSpace neighbourhoods, which respect
    conditions); with a finite candidate list, over all remaining candidates.

    Parameters
    ----------
    space, seed, candidates, encoder
        As in `BaseOptimizer`.
    n_initial : int
        Random configurations before the model is used (without a prior).
    n_candidates : int
        Random configurations scored per ask (continuous spaces).
    n_local : int
        Neighbours scored around each of the 3 best configurations.
    prior : PriorSurrogate, optional
        A surrogate learned on other tasks, the surrogate's mean function; see `EIProposer`.
    prior_weight : float
        Pseudo-count of the prior, in observations; see `EIProposer`.
    n_trees : int
        Trees of the own surrogate.
    random_fraction : float
        Share of proposals drawn at random (as SMAC interleaves random
        configurations), so that a confident but wrong prior or an early
        lucky region cannot stop exploration for good.
    refit_growth : float
        Refit the surrogate only once the observations have grown by this
        fraction since its last fit (0: on every ask); see `EIProposer`.

    References
    ----------
    Hutter, Hoos and Leyton-Brown (2011), Sequential model-based optimization for
    general algorithm configuration. LION 5.
    """

    def __init__(
        self,
        space: ConfigurationSpace,
        *,
        seed: int | None = None,
        candidates: Sequence[Mapping[str, Any]] | None = None,
        encoder: Encoder | None = None,
        n_initial: int = 5,
        n_candidates: int = 256,
        n_local: int = 16,
        prior: PriorSurrogate | None = None,
        prior_weight: float = 10.0,
        n_trees: int = 20,
        random_fraction: float = 0.1,
        refit_growth: float = 0.0,
    ) -> None:
        super().__init__(space, seed=seed, candidates=candidates, encoder=encoder)
        if n_initial < 0 or n_candidates < 1 or n_local < 0:
            raise ValueError("n_initial, n_local must be >= 0 and n_candidates >= 1")
        if not 0.0 <= random_fraction <= 1.0:
            raise ValueError("random_fraction must be in [0, 1]")
        self.random_fraction = random_fraction
        self.n_initial = n_initial
        self.n_candidates = n_candidates
        self.n_local = n_local
        self.prior = prior
        self.n_trees = n_trees
        self.refit_growth = refit_growth
        self.prior_weight = prior_weight
        self._proposer = EIProposer(prior, prior_weight, n_trees, refit_growth=refit_growth)
        # A prior's own good configurations (past tasks' best, for transfer) are
        # scored on every ask: random samples alone rarely hit what it knows.
        self._prior_pool = (
            [c for c in prior.pool() if in_space(space, c)]
            if isinstance(prior, PooledPrior)
            else []
        )
        self._observations: list[tuple[Config, float | None]] = []

    def ask(self) -> Trial:
        """Return the next trial at full fidelity."""
        return self._new_trial(self._next_config())

    def _observe(self, trial: Trial, value: float | None) -> None:
        self._observations.append((trial.config, value))

    def _propose(self) -> Config:
        # One draw from the main RNG per proposal keeps replays aligned whatever branch runs.
        rng = np.random.default_rng(int(self._rng.integers(2**63 - 1)))
        configs, values = training_data(self._observations, list(self._pending.values()))
        n_ok = sum(v is not None for _, v in self._observations)
        # A warm start's first proposals follow the prior; random interleaving starts with data.
        explore = n_ok > 0 and rng.random() < self.random_fraction
        if explore or (self.prior is None and n_ok < max(self.n_initial, 2)):
            return self._random_from(rng)
        candidates, rows = self._scored_candidates(lambda: self._candidates(rng, configs, values))
        if not candidates:
            return self._random_from(rng)
        return self._proposer.pick(self._encode, configs, values, candidates, rows, rng)

    def _random_from(self, rng: np.random.Generator) -> Config:
        if self._pool is not None:
            remaining = self._remaining_candidates()
            return remaining[int(rng.integers(len(remaining)))]
        return self._sampler.sample(rng, 1)[0]

    def _candidates(
        self, rng: np.random.Generator, configs: list[Config], values: list[float]
    ) -> list[Config]:
        sampled = self._sampler.sample(rng, self.n_candidates) + self._prior_pool
        if self.n_local and values:
            for i in np.argsort(values)[::-1][:3]:
                sampled.extend(self._sampler.neighbours(configs[i], rng, self.n_local))
        return sampled


def training_data(
    observations: Sequence[tuple[Config, float | None]], pending: Sequence[Trial] = ()
) -> tuple[list[Config], list[float]]:
    """Return (configs, values) for a surrogate: failures as the worst, pending as the mean.

    Parameters
    ----------
    observations : sequence of (config, value or None)
        Told results; None marks a failed trial.
    pending : sequence of Trial
        Asked but not yet told; imputed with the mean successful value so that
        parallel proposals do not pile onto one point.
    """
    ok = [v for _, v in observations if v is not None]
    if not ok:
        return [], []
    worst, mean = min(ok), float(np.mean(ok))
    configs = [c for c, _ in observations]
    values = [worst if v is None else v for _, v in observations]
    if not pending:
        return configs, values
    seen = {config_key(c) for c in configs}
    for trial in pending:
        if config_key(trial.config) not in seen:
            configs.append(trial.config)
            values.append(mean)
    return configs, values
