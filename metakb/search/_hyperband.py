"""Successive halving, Hyperband and BOHB as ask/tell optimizers.

A bracket is a schedule of rungs ``(n_i, r_i)``: ``n_i`` configurations at
fidelity ``r_i``; after every trial of rung ``i`` is told, the best
``n_{i+1} = floor(n_i / eta)`` of them are promoted to fidelity ``r_i * eta``.
Trials of a bracket are handed out as soon as they are known; when the
running brackets only wait for pending results, ``ask`` opens the next
bracket, so parallel workers never idle (results stay those of synchronous
successive halving inside each bracket).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from ConfigSpace import ConfigurationSpace

from metakb.search._base import BaseOptimizer, Encoder, PriorSurrogate
from metakb.search._bo import EIProposer, training_data
from metakb.search._types import Config, NoTrialAvailable, Trial


@dataclass(frozen=True)
class Rung:
    """One rung of a bracket: how many configurations run at which fidelity."""

    n_configs: int
    fidelity: float


def _s_max(min_fidelity: float, eta: int) -> int:
    if not 0.0 < min_fidelity <= 1.0:
        raise ValueError("min_fidelity must be in (0, 1]")
    if eta < 2:
        raise ValueError("eta must be >= 2")
    # The epsilon keeps 1/27 with eta=3 at s_max=3 despite float rounding.
    return math.floor(math.log(1.0 / min_fidelity) / math.log(eta) + 1e-9)


def successive_halving_rungs(n_configs: int, s: int, eta: int = 3) -> tuple[Rung, ...]:
    """Return the rungs of one bracket: ``n_configs`` at fidelity ``eta**-s`` up to fidelity 1.

    Rung ``i`` holds ``floor(n_configs / eta**i)`` configurations at fidelity ``eta**(i - s)``.
    """
    if s < 0 or n_configs < eta**s:
        raise ValueError(f"a bracket with s={s} needs at least eta**s={eta**s} configurations")
    return tuple(Rung(n_configs // eta**i, float(eta ** (i - s))) for i in range(s + 1))


def hyperband_brackets(min_fidelity: float, eta: int = 3) -> tuple[tuple[Rung, ...], ...]:
    """Return Hyperband's brackets, most exploratory first (Li et al. 2018, Algorithm 1).

    With ``s_max = floor(log_eta(1 / min_fidelity))``, bracket ``s`` starts
    ``n = ceil((s_max + 1) / (s + 1) * eta**s)`` configurations at fidelity ``eta**-s``.

    References
    ----------
    Li, Jamieson, DeSalvo, Rostamizadeh and Talwalkar (2018), Hyperband: a novel
    bandit-based approach to hyperparameter optimization. JMLR 18(185).
    """
    s_max = _s_max(min_fidelity, eta)
    return tuple(
        successive_halving_rungs(math.ceil((s_max + 1) / (s + 1) * eta**s), s, eta)
        for s in range(s_max, -1, -1)
    )


class _BracketRun:
    """The state of one running bracket."""

    def __init__(self, number: int, rungs: tuple[Rung, ...], eta: int) -> None:
        self.number = number
        self.rungs = list(rungs)
        self.eta = eta
        self.asked: list[list[Trial]] = [[] for _ in rungs]
        self.told: list[dict[int, float]] = [{} for _ in rungs]

    def rung_complete(self, i: int) -> bool:
        return len(self.told[i]) == self.rungs[i].n_configs

    @property
    def finished(self) -> bool:
        return all(self.rung_complete(i) for i in range(len(self.rungs)))

    def next_promotion(self) -> tuple[int, Config] | None:
        """Return (rung, config) of the next trial to run by promotion, if one is ready."""
        for i in range(1, len(self.rungs)):
            if len(self.asked[i]) < self.rungs[i].n_configs and self.rung_complete(i - 1):
                below = self.asked[i - 1]
                # Failed trials hold -inf so they are promoted last; ties keep ask order.
                order = sorted(range(len(below)), key=lambda j: -self.told[i - 1][below[j].id])
                return i, below[order[len(self.asked[i])]].config
        return None

    def wants_new(self) -> bool:
        return len(self.asked[0]) < self.rungs[0].n_configs

    def shrink_to_asked(self) -> None:
        """Cut the bracket to the configurations already started (the candidates ran out)."""
        n = len(self.asked[0])
        self.rungs = [
            Rung(max(1, n // self.eta**i) if n else 0, r.fidelity) for i, r in enumerate(self.rungs)
        ]

    def record(self, trial: Trial, value: float | None) -> None:
        self.told[trial.rung or 0][trial.id] = -math.inf if value is None else value


class _MultiFidelity(BaseOptimizer):
    """Runs brackets from a schedule, cycling through it; new configs come from ``_propose``."""

    def __init__(
        self,
        space: ConfigurationSpace,
        schedule: Sequence[tuple[Rung, ...]],
        *,
        eta: int,
        seed: int | None,
        candidates: Sequence[Mapping[str, Any]] | None,
        encoder: Encoder | None,
    ) -> None:
        super().__init__(space, seed=seed, candidates=candidates, encoder=encoder)
        self.eta = eta
        self.schedule_ = tuple(schedule)
        self._runs: list[_BracketRun] = []
        self._by_trial: dict[int, _BracketRun] = {}
        self._n_runs = 0
        self._exhausted = False

    def ask(self) -> Trial:
        """Return the next trial: a promotion, else a new configuration, else a new bracket."""
        for run in list(self._runs):
            trial = self._from_run(run)
            if trial is not None:
                return trial
        if self._exhausted:
            raise NoTrialAvailable("no candidates left and every open bracket waits for results")
        run = _BracketRun(
            self._n_runs, self.schedule_[self._n_runs % len(self.schedule_)], self.eta
        )
        self._n_runs += 1
        self._runs.append(run)
        trial = self._from_run(run)
        if trial is None:
            raise NoTrialAvailable("no candidates left and every open bracket waits for results")
        return trial

    def _from_run(self, run: _BracketRun) -> Trial | None:
        if run.wants_new() and not self._exhausted:
            try:
                return self._register(run, self._next_config(), 0)
            except NoTrialAvailable:
                self._exhausted = True
        if run.wants_new():
            run.shrink_to_asked()
            if run.finished:
                self._runs.remove(run)
                return None
        promotion = run.next_promotion()
        if promotion is None:
            return None
        rung, config = promotion
        return self._register(run, config, rung)

    def _register(self, run: _BracketRun, config: Config, rung: int) -> Trial:
        trial = self._new_trial(config, run.rungs[rung].fidelity, run.number, rung)
        run.asked[rung].append(trial)
        self._by_trial[trial.id] = run
        return trial

    def _observe(self, trial: Trial, value: float | None) -> None:
        run = self._by_trial.pop(trial.id)
        run.record(trial, value)
        if run.finished:
            self._runs.remove(run)


class SuccessiveHalving(_MultiFidelity):
    """Successive halving, repeated: one bracket after another with the same schedule.

    Parameters
    ----------
    space, seed, candidates, encoder
        As in `BaseOptimizer`.
    min_fidelity : float
        Lowest fidelity: rungs run at ``eta**-s, ..., 1``,
        ``s = floor(log_eta(1 / min_fidelity))``.
    eta : int
        Halving rate: the best ``1/eta`` of a rung is promoted.
    n_configs : int, optional
        Configurations in the first rung (default and minimum ``eta**s``).

    References
    ----------
    Jamieson and Talwalkar (2016), Non-stochastic best arm identification and
    hyperparameter optimization. AISTATS.
    """

    def __init__(
        self,
        space: ConfigurationSpace,
        *,
        seed: int | None = None,
        candidates: Sequence[Mapping[str, Any]] | None = None,
        encoder: Encoder | None = None,
        min_fidelity: float = 1.0 / 27.0,
        eta: int = 3,
        n_configs: int | None = None,
    ) -> None:
        s = _s_max(min_fidelity, eta)
        rungs = successive_halving_rungs(eta**s if n_configs is None else n_configs, s, eta)
        super().__init__(space, [rungs], eta=eta, seed=seed, candidates=candidates, encoder=encoder)
        self.min_fidelity = min_fidelity
        self.n_configs = n_configs


class Hyperband(_MultiFidelity):
    """Hyperband: successive-halving brackets from exploratory to full fidelity, cycled.

    Parameters
    ----------
    space, seed, candidates, encoder
        As in `BaseOptimizer`.
    min_fidelity : float
        Lowest fidelity of the most exploratory bracket.
    eta : int
        Halving rate (3 as in Li et al.).

    References
    ----------
    Li, Jamieson, DeSalvo, Rostamizadeh and Talwalkar (2018), Hyperband: a novel
    bandit-based approach to hyperparameter optimization. JMLR 18(185).
    """

    def __init__(
        self,
        space: ConfigurationSpace,
        *,
        seed: int | None = None,
        candidates: Sequence[Mapping[str, Any]] | None = None,
        encoder: Encoder | None = None,
        min_fidelity: float = 1.0 / 27.0,
        eta: int = 3,
    ) -> None:
        super().__init__(
            space,
            hyperband_brackets(min_fidelity, eta),
            eta=eta,
            seed=seed,
            candidates=candidates,
            encoder=encoder,
        )
        self.min_fidelity = min_fidelity


class BOHB(Hyperband):
    """Hyperband whose new configurations come from a surrogate instead of uniform sampling.

    As in BOHB, the model is fitted on the highest fidelity that has at least
    ``n_min`` results (failures as the worst value), and a fraction
    ``random_fraction`` of new configurations stays random to keep exploring.
    Where BOHB uses a TPE-style kernel density estimator, this uses the random
    forest + expected improvement of `BayesianOptimization`, which handles
    conditional spaces and a prior surrogate the same way.

    Parameters
    ----------
    space, seed, candidates, encoder, min_fidelity, eta
        As in `Hyperband`.
    n_min : int, optional
        Results needed at a fidelity before its model is used (default: dimensions + 2).
    random_fraction : float
        Share of new configurations drawn at random.
    n_candidates : int
        Random configurations scored per proposal.
    prior : PriorSurrogate, optional
        The per-fidelity model's mean function, as in `EIProposer`.

    References
    ----------
    Falkner, Klein and Hutter (2018), BOHB: robust and efficient hyperparameter
    optimization at scale. ICML.
    """

    def __init__(
        self,
        space: ConfigurationSpace,
        *,
        seed: int | None = None,
        candidates: Sequence[Mapping[str, Any]] | None = None,
        encoder: Encoder | None = None,
        min_fidelity: float = 1.0 / 27.0,
        eta: int = 3,
        n_min: int | None = None,
        random_fraction: float = 1.0 / 3.0,
        n_candidates: int = 256,
        prior: PriorSurrogate | None = None,
    ) -> None:
        super().__init__(
            space,
            seed=seed,
            candidates=candidates,
            encoder=encoder,
            min_fidelity=min_fidelity,
            eta=eta,
        )
        if not 0.0 <= random_fraction <= 1.0:
            raise ValueError("random_fraction must be in [0, 1]")
        self.n_min = n_min
        self.random_fraction = random_fraction
        self.n_candidates = n_candidates
        self.prior = prior
        self._proposer = EIProposer(prior)
        self._by_fidelity: dict[float, list[tuple[Config, float | None]]] = {}

    def _observe(self, trial: Trial, value: float | None) -> None:
        super()._observe(trial, value)
        self._by_fidelity.setdefault(trial.fidelity, []).append((trial.config, value))

    def _propose(self) -> Config:
        rng = np.random.default_rng(int(self._rng.integers(2**63 - 1)))
        explore = rng.random() < self.random_fraction
        n_min = self.n_min if self.n_min is not None else len(self.space) + 2
        usable = [
            f
            for f, obs in self._by_fidelity.items()
            if sum(v is not None for _, v in obs) >= max(n_min, 2)
        ]
        candidates, rows = self._scored_candidates(
            lambda: self._sampler.sample(rng, self.n_candidates)
        )
        if not candidates:
            raise NoTrialAvailable("every candidate configuration has been asked")
        if explore or (not usable and self.prior is None):
            return candidates[int(rng.integers(len(candidates)))]
        configs: list[Config] = []
        values: list[float] = []
        if usable:
            configs, values = training_data(self._by_fidelity[max(usable)])
        return self._proposer.pick(self._encode, configs, values, candidates, rows, rng)
