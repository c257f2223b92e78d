"""Recommendations weighed against the library default: one selection for every warm starter.

A meta-model's picks are only worth taking over the algorithm's own defaults
when it predicts they do better. :func:`select_over_default` puts the default
among every model's candidates and ranks a configuration above it only when
the predicted gain over the default exceeds the spread of that gain over the
tasks it was read from (:meth:`DefaultAwareWarmStarter.gain_evidence`); each
recommendation carries the gain, its spread and a one-line reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from metakb.configs import canonical_json
from metakb.models._base import (
    DefaultAwareWarmStarter,
    GainEvidence,
    Recommendation,
    TaskQuery,
    check_k,
)
from metakb.spaces import Params, SearchSpace

POOL = 10
"""How many of a model's picks (and, extrapolating, general configurations) compete with the
default; ``select_over_default(..., k)`` is a prefix of the same call with a larger ``k`` up to it.
"""


def select_over_default(
    model: DefaultAwareWarmStarter,
    query: TaskQuery,
    k: int,
    *,
    default: Params,
    space: SearchSpace,
    extrapolation: Sequence[str] = (),
    pool: int = POOL,
    margin: float = 1.0,
) -> list[Recommendation]:
    """Return ``k`` recommendations, the default among them, each with its gain over the default.

    The candidates are the model's first ``max(k, pool)`` picks and
    ``default``. A pick's gain on one row of the model's evidence is its
    normalized score there minus the default's; the predicted gain is the
    weighted mean over the rows, its uncertainty the weighted standard
    deviation (rows and weights per method: see each model's
    ``gain_evidence``). The spread, not the standard error, because the
    question is whether the pick beats the default on *this* task, which is
    like one of the rows, not on their average. A pick *clears the bar*
    when its gain is positive and exceeds ``margin`` times its spread. The
    order is the model's, with the default inserted before its first pick
    that does not clear the bar: the model's best guess leads only when it
    clears it, and a later pick (a greedy list's hedge for other tasks) never
    jumps ahead of it. (Leave-one-task-out on TabRepo and on the live PMLB
    tables, promoting every pick that clears the bar lost to the default
    more often.) Gains read from a single task have no spread to judge them
    by, so then the default leads.

    When ``extrapolation`` is given (the query lies outside what the model
    learned from), similarity means little: the candidates are also the
    model's ``general_configs`` (good on average over every training task),
    the evidence is every training task equally weighted, and candidates are
    ordered by how surely they beat the default (gain minus ``margin``
    times its spread): those that clear the bar, the default, the others.

    The default is left out when the query's candidates exclude it or the
    task already evaluated it (neither may be recommended).

    Parameters
    ----------
    model : DefaultAwareWarmStarter
        A fitted model.
    query : TaskQuery
        The task to recommend for.
    k : int
        How many recommendations.
    default : dict
        The library's default configuration (:meth:`metakb.spaces.Algorithm.library_config`).
    space : SearchSpace
        The model's space (to compare configurations in their validated form).
    extrapolation : sequence of str
        Short phrases saying how the query lies outside the training data
        (e.g. ``"NumberOfInstances below the training range"``); empty: it does not.
    pool : int
        How many of the model's picks compete with the default.
    margin : float
        A pick leads the default when its predicted gain exceeds ``margin``
        times the gain's spread (0: whenever it is predicted to gain at all).

    Returns
    -------
    list of Recommendation
        Best first, every one with ``predicted_gain``, ``gain_sd`` and
        ``reason``. ``predicted_score`` stays the model's own (None for the
        default and for general configurations it did not pick itself).
    """
    check_k(k)
    default = space.validate(default)
    default_key = canonical_json(default)
    general = bool(extrapolation)
    picks = {canonical_json(r.config): r for r in model.recommend(query, max(k, pool))}
    if general:
        extra = (
            [space.validate(c) for c in query.candidates]
            if query.candidates is not None
            else model.general_configs(pool)
        )
        for config in extra:
            picks.setdefault(canonical_json(config), Recommendation(dict(config)))
    picks.pop(default_key, None)
    keys = list(picks)
    configs = [default, *(picks[key].config for key in keys)]
    evidence = model.gain_evidence(query, configs, general=general)
    gain, sd = _gain_moments(evidence)
    n = len(set(evidence.sources))
    cleared = (gain > margin * sd) & (gain > 0) & (n >= 2)
    # The model's order, or (extrapolating) how surely each beats the default; the
    # default goes before the first candidate that does not clear the bar, so that
    # a greedy list's later hedge never jumps ahead of its first pick.
    lower = gain - margin * sd
    order = np.argsort(-lower, kind="stable") if general else np.arange(len(keys))
    lead = next((i for i, j in enumerate(order) if not cleared[j]), len(order))
    ahead = [int(j) for j in order[:lead]]
    behind = [int(j) for j in order[lead:]]
    with_default = _may_recommend(default_key, query, space)
    words = _Words(
        evidence, n, extrapolation, margin, len(ahead), bool(cleared.any()), with_default
    )

    def pick(j: int, ahead: bool) -> Recommendation:
        rec, column = picks[keys[j]], evidence.scores[:, j + 1]
        g, s = float(gain[j]), float(sd[j])
        return replace(
            rec,
            source_tasks=rec.source_tasks or _top_sources(evidence, column),
            predicted_gain=g,
            gain_sd=s,
            reason=words.gain(ahead, bool(cleared[j]), g, s),
        )

    out = [pick(j, True) for j in ahead]
    if with_default:
        out.append(
            Recommendation(
                dict(default),
                None,  # the model's own scores are of its picks; the gains compare
                _top_sources(evidence, evidence.weights),
                predicted_gain=0.0,
                gain_sd=0.0,
                reason=words.default(),
                is_default=True,
            )
        )
    out += [pick(j, False) for j in behind]
    return out[:k]


def _gain_moments(evidence: GainEvidence) -> tuple[np.ndarray, np.ndarray]:
    """Return each candidate's weighted mean gain over the default (column 0) and its spread."""
    w = evidence.weights / evidence.weights.sum()
    gains = evidence.scores[:, 1:] - evidence.scores[:, :1]
    mean = w @ gains
    var = w @ (gains - mean) ** 2
    return mean, np.sqrt(np.maximum(var, 0.0))


def _may_recommend(key: str, query: TaskQuery, space: SearchSpace) -> bool:
    if query.candidates is not None and key not in {
        canonical_json(space.validate(c)) for c in query.candidates
    }:
        return False
    return key not in {canonical_json(space.validate(p)) for p, _ in query.observations}


def _top_sources(evidence: GainEvidence, by: np.ndarray, n: int = 3) -> tuple[str, ...]:
    order = np.argsort(-np.asarray(by, dtype=float), kind="stable")
    return tuple(dict.fromkeys(evidence.sources[int(i)] for i in order))[:n]


class _Words:
    """The reasons of one selection (what the rows are, whether it extrapolates)."""

    def __init__(
        self,
        evidence: GainEvidence,
        n: int,
        extrapolation: Sequence[str],
        margin: float,
        n_ahead: int,
        any_cleared: bool,
        with_default: bool,
    ) -> None:
        basis = evidence.basis.replace("tasks", "task", 1) if n == 1 else evidence.basis
        self.rows = f"{n} {basis}"
        self.n = n
        self.n_ahead = n_ahead
        self.any_cleared = any_cleared
        self.with_default = with_default
        self.its = "its uncertainty" if margin == 1 else f"{margin:g} times its uncertainty"
        self.prefix = (
            f"extrapolating ({'; '.join(extrapolation)}), judged across all {self.rows}: "
            if extrapolation
            else ""
        )

    def gain(self, ahead: bool, cleared: bool, gain: float, sd: float) -> str:
        where = "" if self.prefix else f" from {self.rows}"
        text = f"{self.prefix}predicted {gain:+.3f} ± {sd:.3f} over the default{where}"
        if ahead:
            return text
        if cleared:
            why = "the model ranks it below a pick that is not clearly better"
        elif self.n < 2:
            why = "one task gives no spread to judge it by"
        elif gain <= 0:
            why = "not predicted to beat it"
        else:
            why = f"within {self.its}"
        after = ", ranked after the default" if self.with_default else ""
        return f"{text}: {why}{after}"

    def default(self) -> str:
        if self.n_ahead:
            them = "configuration" if self.n_ahead == 1 else f"{self.n_ahead} configurations"
            return (
                f"{self.prefix}default: ranked after the {them} predicted to beat it "
                f"by more than {self.its}"
            )
        if self.n < 2:
            return (
                f"{self.prefix}default: {self.rows} is too few to tell a predicted gain from noise"
            )
        where = "" if self.prefix else f" ({self.rows})"
        if self.any_cleared:  # only a later hedge clears the bar
            return (
                f"{self.prefix}default: the model's first pick is not predicted to beat it "
                f"by more than {self.its}{where}"
            )
        return (
            f"{self.prefix}default: no configuration predicted to beat it "
            f"by more than {self.its}{where}"
        )
