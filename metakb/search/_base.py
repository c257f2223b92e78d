"""Shared machinery of the optimizers, and the optional abilities they and their helpers declare.

`BaseOptimizer` holds trial ids, the enqueue queue and finite candidate
lists. The protocols are the abilities an optimizer checks for with
``isinstance`` instead of probing for methods: a prior surrogate
(`PriorSurrogate`) that may adapt to the search's observations
(`ConditionalPrior`) and offer configurations of its own (`PooledPrior`); the
query-conditioned model `metakb.search.QueryPrior` binds (`QuerySurrogate`);
a warm starter picking given observations (`AdaptiveStarter`); an optimizer
guided by a prior (`PriorGuidedOptimizer`). A runtime-checkable protocol
only checks that its names exist, so each ability has a method name of its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from ConfigSpace import ConfigurationSpace

from metakb.configs import canonical_json
from metakb.search._space import SpaceSampler, encode, in_space
from metakb.search._types import (
    Config,
    NoTrialAvailable,
    Optimizer,
    Trial,
    _HasConfig,
    is_failure,
)

Encoder = Callable[[Sequence[Mapping[str, Any]]], np.ndarray]

Observed = tuple[np.ndarray, np.ndarray]
"""``(x, y)``: encoded configurations a search evaluated and their values, higher is better."""


@runtime_checkable
class PriorSurrogate(Protocol):
    """A model of the objective learned elsewhere (e.g. the ``transfer`` meta-model).

    ``predict`` takes encoded configurations (rows of the encoding the
    optimizer was given) and returns the predicted mean and standard deviation
    per row, higher being better. Only the ranking and relative spread matter:
    the optimizer standardizes the prediction before combining it.
    """

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (mean, std) arrays of shape (n,) for ``x`` of shape (n, d)."""
        ...


@runtime_checkable
class ConditionalPrior(PriorSurrogate, Protocol):
    """A prior surrogate that also adapts to what the search has observed.

    The ``transfer`` meta-model reweights its past tasks by how well each
    orders the new task's observations (TST-R), so its prediction depends on
    them.
    """

    def predict_given(
        self, x: np.ndarray, x_obs: np.ndarray, y_obs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (mean, std) at ``x`` given encoded observations ``x_obs`` with values ``y_obs``.

        ``y_obs`` is higher-is-better, like the prediction.
        """
        ...


@runtime_checkable
class PooledPrior(PriorSurrogate, Protocol):
    """A prior surrogate with configurations of its own where it expects good ones.

    Bayesian optimization scores the pool's in-space configurations on every
    ask besides its random samples, which rarely hit what the prior knows
    (for ``transfer``: past tasks' best configurations).
    """

    def pool(self) -> list[Config]:
        """Return the prior's configurations (possibly empty; fixed for the search)."""
        ...


@runtime_checkable
class QuerySurrogate(Protocol):
    """A model predicting for a task query: what `QueryPrior` binds to one query.

    ``metakb.models.PredictiveWarmStarter`` is one (see its contract):
    ``predict(query, x, observed)`` returns finite ``(mean, std)`` of shape
    ``(n,)`` at ``x``, rows of the optimizer's encoding, higher being better,
    given the search's ``observed`` ``(x_obs, y_obs)`` (None: none passed);
    ``candidate_pool()`` returns configurations it expects to be good.
    """

    def predict(
        self, query: Any, x: np.ndarray, observed: Observed | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (mean, std) at encoded ``x`` for ``query``."""
        ...

    def candidate_pool(self) -> Sequence[Mapping[str, Any]]:
        """Return configurations a search guided by the model should also score."""
        ...


@runtime_checkable
class AdaptiveStarter(Protocol):
    """A warm starter picking the next configurations given what a search observed.

    ``metakb.models.AdaptiveWarmStarter`` is one (see its contract):
    ``recommend_given(query, k, observed)`` returns at most ``k`` distinct
    items with a ``config`` mapping, best first, none of them one of the
    observed configurations; the same observations give the same picks.
    """

    def recommend_given(
        self, query: Any, k: int, observed: Observed | None
    ) -> Sequence[_HasConfig]:
        """Return up to ``k`` new recommendations for ``query`` given ``observed``."""
        ...


@runtime_checkable
class PriorGuidedOptimizer(Optimizer, Protocol):
    """An optimizer that takes a prior surrogate (``bo``, ``bohb``); ``prior`` None: none given."""

    prior: PriorSurrogate | None


def config_key(config: Mapping[str, Any]) -> str:
    """Return the canonical text identifying a configuration (for dedupe and lookup)."""
    return canonical_json(config)


class BaseOptimizer:
    """Base of every optimizer: trial ids, enqueued configurations, candidate lists.

    Parameters
    ----------
    space : ConfigurationSpace
        The search space; every asked configuration is valid in it.
    seed : int or None
        Seed of the optimizer's ``np.random.default_rng``; same seed, same trials.
    candidates : sequence of dict, optional
        A finite list to choose from (tabular benchmarks): the optimizer then only
        asks these configurations, each at most once, and raises
        `NoTrialAvailable` when they are used up.
    encoder : callable, optional
        Maps configurations to model input rows; defaults to ConfigSpace's
        vector form (`metakb.search.encode`). A prior surrogate sees the same rows.
    """

    def __init__(
        self,
        space: ConfigurationSpace,
        *,
        seed: int | None = None,
        candidates: Sequence[Mapping[str, Any]] | None = None,
        encoder: Encoder | None = None,
    ) -> None:
        self.space = space
        self.seed = seed
        self.candidates = candidates
        self.encoder = encoder
        self._rng = np.random.default_rng(seed)
        self._sampler = SpaceSampler(space)
        self._queue: deque[Config] = deque()
        self._next_id = 0
        self._pending: dict[int, Trial] = {}
        self._asked_keys: set[str] = set()
        self._pool: dict[str, Config] | None = None
        self._pool_matrix: np.ndarray | None = None
        if candidates is not None:
            self._pool = {}
            for config in candidates:
                if not in_space(space, config):
                    raise ValueError(f"candidate {dict(config)} is not in the space")
                self._pool.setdefault(config_key(config), dict(config))
            self._pool_index = {key: i for i, key in enumerate(self._pool)}
            self._pool_configs = list(self._pool.values())
            self._pool_free = np.ones(len(self._pool), dtype=bool)

    # -- public contract -------------------------------------------------
    def contains(self, config: Mapping[str, Any]) -> bool:
        """Return whether ``config`` may be asked: in the space and among the candidates."""
        if self._pool is not None:
            return config_key(config) in self._pool
        return in_space(self.space, config)

    def enqueue(self, config: Mapping[str, Any]) -> None:
        """Put ``config`` first in line for the next new configuration (FIFO)."""
        if not self.contains(config):
            raise ValueError(f"cannot enqueue {dict(config)}: not in the space or candidates")
        self._queue.append(dict(config))

    def nearest_candidate(self, config: Mapping[str, Any]) -> Config | None:
        """Return the candidate closest to ``config`` in the encoding (None without candidates).

        Lets a warm start use recommendations on a tabular benchmark whose
        tasks were evaluated on different random configurations.
        """
        if self._pool is None or not in_space(self.space, config):
            return None
        distance = np.abs(self._pool_rows() - self._encode_fresh([config])[0]).sum(axis=1)
        return self._pool_configs[int(np.argmin(distance))]

    @property
    def n_pending(self) -> int:
        """Number of asked trials whose value has not been told yet."""
        return len(self._pending)

    def tell(self, trial: Trial, value: float | None) -> None:
        """Report ``value`` for ``trial`` (None or NaN when it failed)."""
        if self._pending.pop(trial.id, None) is None:
            raise ValueError(f"trial {trial.id} was not asked or was already told")
        self._observe(trial, None if is_failure(value) else float(value))  # type: ignore[arg-type]

    # -- for subclasses ----------------------------------------------------
    def _observe(self, trial: Trial, value: float | None) -> None:
        """Record a told value (None = failed); subclasses learn from it."""

    def _pool_rows(self) -> np.ndarray:
        # Candidate lists are scored on every ask: encode each candidate once.
        if self._pool_matrix is None:
            self._pool_matrix = self._encode_fresh(self._pool_configs)
        return self._pool_matrix

    def _remaining_pool(self) -> tuple[list[Config], np.ndarray]:
        """Return the not-yet-asked candidates and their encoded rows."""
        free = np.flatnonzero(self._pool_free)
        return [self._pool_configs[i] for i in free], self._pool_rows()[free]

    def _scored_candidates(
        self, draw: Callable[[], list[Config]]
    ) -> tuple[list[Config], np.ndarray]:
        """Return the configurations a model scores next and their rows.

        The remaining candidates of a finite list, else ``draw()`` minus
        configurations already asked.
        """
        if self._pool is not None:
            return self._remaining_pool()
        candidates = self._unseen(draw())
        return candidates, self._encode(candidates) if candidates else np.empty((0, 0))

    def _encode(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        if self._pool is not None and configs:
            index = [self._pool_index.get(config_key(c)) for c in configs]
            if all(i is not None for i in index):
                return self._pool_rows()[np.asarray(index, dtype=int)]
        return self._encode_fresh(configs)

    def _encode_fresh(self, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
        if self.encoder is not None:
            return np.asarray(self.encoder(configs), dtype=float)
        return encode(self.space, configs)

    def _new_trial(
        self,
        config: Config,
        fidelity: float = 1.0,
        bracket: int | None = None,
        rung: int | None = None,
    ) -> Trial:
        trial = Trial(self._next_id, dict(config), float(fidelity), bracket, rung)
        self._next_id += 1
        self._pending[trial.id] = trial
        key = config_key(config)
        self._asked_keys.add(key)
        if self._pool is not None and key in self._pool_index:
            self._pool_free[self._pool_index[key]] = False
        return trial

    def _unseen(self, configs: Sequence[Config]) -> list[Config]:
        """Drop configurations already asked (and repeats inside ``configs``)."""
        kept: dict[str, Config] = {}
        for config in configs:
            key = config_key(config)
            if key not in self._asked_keys:
                kept.setdefault(key, config)
        return list(kept.values())

    def _remaining_candidates(self) -> list[Config]:
        if self._pool is None:
            return []
        return [self._pool_configs[i] for i in np.flatnonzero(self._pool_free)]

    def _sample(self, n: int) -> list[Config]:
        """Return up to ``n`` random not-yet-asked configurations (space or candidates)."""
        if self._pool is not None:
            remaining = self._remaining_candidates()
            if not remaining:
                return []
            order = self._rng.permutation(len(remaining))[:n]
            return [remaining[i] for i in order]
        return self._sampler.sample(self._rng, n)

    def _next_config(self) -> Config:
        """Return the next new configuration: enqueued ones first, then a proposal."""
        while self._queue:
            config = self._queue.popleft()
            if config_key(config) not in self._asked_keys:
                return config
        if self._pool is not None and not self._pool_free.any():
            raise NoTrialAvailable("every candidate configuration has been asked")
        return self._propose()

    def _propose(self) -> Config:
        """Return a new configuration of the optimizer's own choosing."""
        sampled = self._sample(1)
        if not sampled:
            raise NoTrialAvailable("every candidate configuration has been asked")
        return sampled[0]
