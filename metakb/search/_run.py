"""The search loop: ask, evaluate (in parallel where possible), tell, report; resume."""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from metakb.configs import canonical_json, config_id
from metakb.search._executors import Executor, open_executor
from metakb.search._types import (
    Config,
    EvalResult,
    NoTrialAvailable,
    Objective,
    Optimizer,
    SearchError,
    Trial,
)

logger = logging.getLogger(__name__)

BudgetUnit = Literal["trials", "fidelity"]
TrialStatus = Literal["ok", "failed", "skipped"]
StopReason = Literal["budget", "time_budget", "exhausted"]
CostFunction = Callable[[Config], "float | None"]
"""A configuration's predicted fit time relative to a reference (None: unknown)."""


@dataclass(frozen=True)
class TrialRecord:
    """A finished trial: what was asked and what the objective returned.

    Attributes
    ----------
    trial_id, config, fidelity, bracket, rung
        As in `Trial`.
    score : float or None
        Higher is better; None when the trial failed.
    seconds : float
        Evaluation time.
    status : {'ok', 'failed', 'skipped'}
        ``'skipped'``: a warm-start configuration not evaluated because it was
        predicted to take longer than the time budget had left (``error`` says
        so); kept so that a resume replays the search as it ran.
    error : str or None
    asked_after : int
        How many results had been told when the trial was asked; lets a resume
        replay asks and tells in their original interleaving.
    """

    trial_id: int
    config: Config
    fidelity: float
    score: float | None
    seconds: float
    status: TrialStatus
    error: str | None = None
    bracket: int | None = None
    rung: int | None = None
    asked_after: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (inverse of `from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrialRecord:
        """Build a record from `to_dict` output (e.g. loaded back to resume)."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class SearchStop:
    """Why a search stopped starting trials.

    Attributes
    ----------
    reason : {'budget', 'time_budget', 'exhausted'}
        The trial (or fidelity) budget was spent; the time budget was
        reached, or the next trial was expected to overrun it; the optimizer
        had nothing left to ask.
    n_trials : int
        Trials evaluated by then (replayed ones included, skipped ones not).
    elapsed : float
        Wall-clock seconds of this run (a resume's own, not the earlier runs').
    time_budget : float or None
        The time budget in seconds, if one was given.
    next_seconds : float or None
        With ``reason='time_budget'`` before the budget ran out: the next
        trial's expected duration, which did not fit in what was left.
    """

    reason: StopReason
    n_trials: int
    elapsed: float
    time_budget: float | None = None
    next_seconds: float | None = None

    @property
    def message(self) -> str:
        """Say why, for people: ``"time budget 60 s reached after 7 trials"``."""
        trials = f"{self.n_trials} trial{'' if self.n_trials == 1 else 's'}"
        if self.reason == "exhausted":
            return f"no configuration left to try after {trials}"
        if self.reason == "budget":
            return f"trial budget reached after {trials}"
        text = f"time budget {self.time_budget:g} s reached after {trials}"
        if self.next_seconds is not None:
            text += f" (the next trial was expected to take {self.next_seconds:.1f} s more)"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"reason", "message", "n_trials", "elapsed_s", "time_budget_s", ...}``."""
        return {
            "reason": self.reason,
            "message": self.message,
            "n_trials": self.n_trials,
            "elapsed_s": self.elapsed,
            "time_budget_s": self.time_budget,
            "next_trial_s": self.next_seconds,
        }


@dataclass(frozen=True)
class SearchResult:
    """All finished trials of a search, in the order their results arrived.

    Attributes
    ----------
    trials : list of TrialRecord
        Skipped warm-start configurations included (``status='skipped'``).
    stop : SearchStop or None
        Why `run_search` stopped (None while it runs).
    """

    trials: list[TrialRecord] = field(default_factory=list)
    stop: SearchStop | None = None

    @property
    def evaluated(self) -> list[TrialRecord]:
        """The trials that ran (succeeded or failed): all but the skipped ones."""
        return [t for t in self.trials if t.status != "skipped"]

    @property
    def best(self) -> TrialRecord | None:
        """The best successful trial at the highest fidelity any trial succeeded at."""
        ok = [t for t in self.trials if t.status == "ok" and t.score is not None]
        if not ok:
            return None
        top = max(t.fidelity for t in ok)
        return max((t for t in ok if t.fidelity == top), key=lambda t: float(t.score or 0.0))

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"best": {"config", "score"} or None, "stop", "trials": [...]}`` for JSON."""
        best = self.best
        return {
            "best": None if best is None else {"config": best.config, "score": best.score},
            "stop": None if self.stop is None else self.stop.to_dict(),
            "trials": [
                {
                    "config": t.config,
                    "score": t.score,
                    "fidelity": t.fidelity,
                    "seconds": t.seconds,
                    "status": t.status,
                }
                for t in self.trials
            ],
        }


def _record(trial: Trial, result: EvalResult, asked_after: int) -> TrialRecord:
    failed = result.status != "ok" or result.score is None or not math.isfinite(result.score)
    return TrialRecord(
        trial_id=trial.id,
        config=trial.config,
        fidelity=trial.fidelity,
        score=None if failed else float(result.score),  # type: ignore[arg-type]
        seconds=float(result.seconds),
        status="failed" if failed else "ok",
        error=(result.error or "non-finite score") if failed else None,
        bracket=trial.bracket,
        rung=trial.rung,
        asked_after=asked_after,
    )


def _skipped(trial: Trial, asked_after: int, expected: float, left: float) -> TrialRecord:
    return TrialRecord(
        trial_id=trial.id,
        config=trial.config,
        fidelity=trial.fidelity,
        score=None,
        seconds=0.0,
        status="skipped",
        error=f"predicted to take {expected:.1f} s, more than the {left:.1f} s left of the "
        "time budget",
        bracket=trial.bracket,
        rung=trial.rung,
        asked_after=asked_after,
    )


def expected_seconds(
    config: Config,
    fidelity: float,
    trials: Sequence[TrialRecord],
    cost: CostFunction | None = None,
) -> tuple[float, bool] | None:
    """Return how long a trial is expected to take, from the trials measured so far.

    The measured seconds per unit of fidelity of the trials so far, times
    ``fidelity``. Where ``cost`` knows the relative cost of ``config`` and of
    some measured trials, those trials' seconds per unit of relative cost
    (total seconds over total ``cost * fidelity``) are scaled by the
    candidate's cost instead: a configuration predicted to fit five times
    longer than the trials so far is expected to take five times longer.

    Parameters
    ----------
    config, fidelity
        The candidate trial.
    trials : sequence of TrialRecord
        Finished trials; skipped ones and ones without a measured time are ignored.
    cost : callable, optional
        ``config -> relative cost or None`` (`metakb.models.FitCostModel`'s
        ``relative_cost(config).value``); any common reference will do, only
        ratios matter.

    Returns
    -------
    (float, bool) or None
        The expected seconds and whether the candidate's own predicted cost
        scaled them; None before any trial was measured.
    """
    timed = [t for t in trials if t.status != "skipped" and t.seconds > 0 and t.fidelity > 0]
    if not timed:
        return None
    own = None if cost is None else cost(config)
    if own is not None and math.isfinite(own) and own > 0 and cost is not None:
        known = [(t, cost(t.config)) for t in timed]
        scaled = [(t, c) for t, c in known if c is not None and math.isfinite(c) and c > 0]
        if scaled:
            per_unit = sum(t.seconds for t, _ in scaled) / sum(c * t.fidelity for t, c in scaled)
            return per_unit * own * fidelity, True
    per_unit = sum(t.seconds for t in timed) / sum(t.fidelity for t in timed)
    return per_unit * fidelity, False


def replay(
    optimizer: Optimizer, previous: Sequence[TrialRecord]
) -> tuple[list[TrialRecord], list[tuple[Trial, int]]]:
    """Bring a fresh optimizer to the state it had after ``previous`` trials.

    Asks are repeated in id order and results told in their original order,
    each ask after as many tells as originally (``asked_after``), so a
    seeded optimizer reproduces its trials. A re-asked trial whose
    configuration or fidelity differs from the stored one (a different seed
    or setting), or that was still running at the interruption, is returned
    to be evaluated again.

    Parameters
    ----------
    optimizer : Optimizer
        Freshly built with the same settings and seed (and the same enqueued
        warm-start configurations) as the interrupted search.
    previous : sequence of TrialRecord
        The finished trials, in the order their results arrived.

    Returns
    -------
    (list of TrialRecord, list of (Trial, int))
        The replayed records, and trials asked again that still need an
        evaluation, with their ``asked_after``.
    """
    if not previous:
        return [], []
    by_id = {r.trial_id: r for r in previous}
    matched: dict[int, Trial] = {}
    to_run: list[tuple[Trial, int]] = []
    told = 0  # position in ``previous``
    told_matched = 0  # position in the returned records, which ``asked_after`` refers to
    deferred: set[int] = set()  # results whose trial has not been re-asked yet

    def tell(trial: Trial, record: TrialRecord) -> None:
        nonlocal told_matched
        optimizer.tell(trial, record.score)
        told_matched += 1

    def tell_until(target: int) -> None:
        nonlocal told
        while told < min(target, len(previous)):
            record = previous[told]
            trial = matched.get(record.trial_id)
            if trial is not None:
                tell(trial, record)
            else:
                # Inconsistent ``asked_after`` (e.g. an edited log): tell once re-asked.
                deferred.add(record.trial_id)
            told += 1

    for trial_id in range(max(by_id) + 1):
        stored = by_id.get(trial_id)
        if stored is not None:
            tell_until(stored.asked_after)
        try:
            trial = optimizer.ask()
        except NoTrialAvailable:
            break
        same = (
            stored is not None
            and canonical_json(trial.config) == canonical_json(stored.config)
            and math.isclose(trial.fidelity, stored.fidelity)
        )
        if same and stored is not None:
            matched[trial.id] = trial
            if trial.id in deferred:
                deferred.discard(trial.id)
                tell(trial, stored)
        else:
            if stored is not None:
                logger.warning(
                    "resume: trial %d differs from the stored one; evaluating it again", trial_id
                )
            to_run.append((trial, told_matched))
    tell_until(len(previous))
    records = [r for r in previous if r.trial_id in matched]
    if len(records) < len(previous):
        logger.warning("resume: %d stored trial(s) did not replay", len(previous) - len(records))
    return records, to_run


def run_search(
    optimizer: Optimizer,
    objective: Objective,
    budget: float,
    *,
    executor: str | Executor = "inprocess",
    n_parallel: int | None = None,
    on_trial: Callable[[TrialRecord, SearchResult], None] | None = None,
    previous: Sequence[TrialRecord] = (),
    budget_unit: BudgetUnit = "trials",
    trial_timeout: float | None = None,
    time_budget: float | None = None,
    cost: CostFunction | None = None,
    n_warm: int = 0,
    clock: Callable[[], float] = time.monotonic,
) -> SearchResult:
    """Run an ask/tell search until the budget (or the time budget) is spent.

    With a ``time_budget``, no trial is started once the time elapsed plus
    the trial's expected duration (`expected_seconds`: the mean measured
    time of the trials so far, scaled by the candidate's predicted relative
    cost where ``cost`` knows it and the fidelity) would exceed it; trials
    already running finish (each within ``trial_timeout``, if one is set).
    One of the first ``n_warm`` trials (the warm start's configurations)
    whose ``cost`` is known and that is expected to take longer than the
    whole time left is skipped instead: told as a failure, recorded with
    ``status='skipped'`` and a note in ``error``, and not counted against
    ``budget``; the search goes on with the next. The first trial always
    starts: nothing is measured before it.

    Parameters
    ----------
    optimizer : Optimizer
        Asked for trials and told their scores (failures as None).
    objective : Objective
        ``(config, fidelity) -> EvalResult``; must not raise (an exception
        is still caught and recorded as a failed trial).
    budget : float
        Number of trials, or total fidelity (full-evaluation equivalents) with
        ``budget_unit='fidelity'``; counted over ``previous`` trials too.
    executor : str or Executor
        A spec for `open_executor` (opened and closed here), or an open
        executor for ``objective`` (the caller closes it).
    n_parallel : int, optional
        Trials in flight at once (default: the executor's workers).
    on_trial : callable, optional
        Called as ``on_trial(record, result_so_far)`` after each finished
        trial: the hook for progress display and write-back to the knowledge base.
    previous : sequence of TrialRecord
        Finished trials of an interrupted run of the same (freshly built)
        optimizer, replayed before continuing (see `replay`).
    budget_unit : {'trials', 'fidelity'}
        What ``budget`` counts.
    trial_timeout : float, optional
        Seconds a trial may run, from its start on a worker, before it is
        recorded as failed (see `open_executor`); only used when ``executor``
        is a spec (an open executor carries its own).
    time_budget : float, optional
        Wall-clock seconds for the trials of this call. A resume gets the
        whole time budget again (the earlier runs' time is not counted), while
        its replayed trials' times still inform the expected durations.
    cost : callable, optional
        ``config -> predicted relative fit time or None`` (e.g. a
        `metakb.models.FitCostModel`'s ``relative_cost(config).value``);
        without it every trial is expected to take the mean so far (per
        unit of fidelity).
    n_warm : int
        How many of the first asked trials are warm-start configurations
        (`StartedOptimizer.n_warm_trials`), which may be skipped.
    clock : callable
        Seconds, monotonic (a test's fake clock).

    Returns
    -------
    SearchResult
        Previous and new trials in the order their results arrived, with
        why the search stopped (`SearchStop`).
    """
    if budget < 0:
        raise ValueError("budget must be >= 0")
    if time_budget is not None and not time_budget > 0:
        raise ValueError("time_budget must be > 0")
    if budget_unit not in ("trials", "fidelity"):
        raise ValueError("budget_unit must be 'trials' or 'fidelity'")
    records, to_run = replay(optimizer, list(previous))
    result = SearchResult(records)
    owned = isinstance(executor, str)
    runner = (
        open_executor(executor, objective, trial_timeout) if isinstance(executor, str) else executor
    )
    parallel = n_parallel or runner.n_workers
    if parallel < 1:
        raise ValueError("n_parallel must be >= 1")

    def spend(fidelity: float) -> float:
        return 1.0 if budget_unit == "trials" else fidelity

    costs: dict[str, float | None] = {}

    def cached_cost(config: Config) -> float | None:
        # The cost model is asked about every measured trial at every ask: once each.
        key = canonical_json(config)
        if key not in costs:
            costs[key] = None if cost is None else cost(config)
        return costs[key]

    started = clock()
    spent = sum(spend(r.fidelity) for r in records if r.status != "skipped")
    pending: dict[cf.Future[EvalResult], tuple[Trial, int]] = {}
    # Why no further trial starts (None: not decided yet), and the next trial's guess.
    stop: tuple[StopReason, float | None] | None = None

    def finish(trial: Trial, asked_after: int, outcome: EvalResult) -> None:
        optimizer.tell(trial, outcome.score if outcome.status == "ok" else None)
        record = _record(trial, outcome, asked_after)
        result.trials.append(record)
        if on_trial is not None:
            on_trial(record, result)

    def fits(trial: Trial, asked_after: int) -> bool:
        """Whether ``trial`` may start within the time budget; skip it or stop if not."""
        nonlocal stop
        if time_budget is None:
            return True
        left = time_budget - (clock() - started)
        if left <= 0:
            stop = ("time_budget", None)
            return False
        guess = expected_seconds(trial.config, trial.fidelity, result.trials, cached_cost)
        if guess is None or guess[0] <= left:
            return True
        seconds, predicted = guess
        if predicted and trial.id < n_warm:
            # Told as a failure and logged, so that a resume replays the same asks.
            optimizer.tell(trial, None)
            record = _skipped(trial, asked_after, seconds, left)
            logger.info("trial %d skipped: %s", trial.id, record.error)
            result.trials.append(record)
            if on_trial is not None:
                on_trial(record, result)
            return False
        # The trial was asked but is never told: the optimizer is done with.
        stop = ("time_budget", seconds)
        return False

    try:
        exhausted = False
        while True:
            while len(pending) < parallel and spent < budget and not exhausted and stop is None:
                if to_run:
                    trial, asked_after = to_run.pop(0)
                else:
                    try:
                        trial = optimizer.ask()
                    except NoTrialAvailable:
                        exhausted = not pending
                        break
                    asked_after = len(result.trials)
                if not fits(trial, asked_after):
                    continue
                spent += spend(trial.fidelity)
                pending[runner.submit(trial.config, trial.fidelity)] = (trial, asked_after)
            if not pending:
                break
            exhausted = False
            done, _ = cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)
            for future in done:
                trial, asked_after = pending.pop(future)
                try:
                    outcome = future.result()
                except Exception as error:  # a worker died or the objective raised
                    outcome = EvalResult.failed(f"{type(error).__name__}: {error}")
                finish(trial, asked_after, outcome)
    finally:
        for future in pending:
            future.cancel()
        if owned:
            runner.close()
    reason, next_seconds = stop or ("budget" if spent >= budget else "exhausted", None)
    elapsed = clock() - started
    summary = SearchStop(reason, len(result.evaluated), elapsed, time_budget, next_seconds)
    return replace(result, stop=summary)


def result_rows(
    result: SearchResult,
    *,
    task_id: str,
    metric: str,
    flow_id: str | None = None,
    provenance: str = "search",
    include_failed: bool = False,
) -> pd.DataFrame:
    """Turn a search's trials into ``evaluations`` rows for ``metakb.store.upsert``.

    Parameters
    ----------
    result : SearchResult
        The search.
    task_id : str
        The knowledge-base task the search ran on.
    metric : str
        The knowledge base's metric name for the scores.
    flow_id : str, optional
        When given, a ``config_id`` column is added (``metakb.configs.config_id``).
        Configurations must then be keyed by the flow's own parameter names.
    provenance : str
        Identifies the search run (part of the evaluations key).
    include_failed : bool
        Keep failed trials (with a NULL value); skipped ones are always left out.

    Returns
    -------
    pandas.DataFrame
        Columns task_id, [config_id,] params (canonical JSON), metric, value,
        fidelity, runtime_s, source ('local'), provenance.
    """
    rows = []
    for record in result.trials:
        if record.status == "skipped" or (record.status != "ok" and not include_failed):
            continue  # a skipped trial was never evaluated: there is nothing to store
        row: dict[str, Any] = {"task_id": task_id}
        if flow_id is not None:
            row["config_id"] = config_id(flow_id, record.config)
        row.update(
            params=canonical_json(record.config),
            metric=metric,
            value=record.score,
            fidelity=record.fidelity,
            runtime_s=record.seconds,
            source="local",
            provenance=provenance,
        )
        rows.append(row)
    columns = ["task_id", *(["config_id"] if flow_id is not None else [])]
    columns += ["params", "metric", "value", "fidelity", "runtime_s", "source", "provenance"]
    return pd.DataFrame(rows, columns=columns)


class TrialLog:
    """An ``on_trial`` callback that keeps a search's trials in a JSON file, for ``--resume``.

    The whole list is rewritten atomically (temporary file + rename) after every
    trial, so an interruption never leaves a half-written file and the file's
    order is always the order `replay` expects.

    Parameters
    ----------
    path : str or Path
        The JSON file (created with its folder if missing).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __call__(self, record: TrialRecord, result: SearchResult) -> None:
        """Write ``result``'s trials (``record`` is its last one)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps([t.to_dict() for t in result.trials]), encoding="utf-8")
        os.replace(temporary, self.path)


def load_trials(path: str | Path) -> list[TrialRecord]:
    """Return the trials a `TrialLog` wrote to ``path`` ([] when there is no file yet)."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return [TrialRecord.from_dict(row) for row in rows]
    except (ValueError, TypeError, KeyError) as error:
        raise SearchError(f"cannot read the trial log {path}: {error}") from error
