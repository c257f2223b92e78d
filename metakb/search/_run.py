"""The search loop: ask, evaluate (in parallel where possible), tell, report; resume."""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
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
    Status,
    Trial,
)

logger = logging.getLogger(__name__)

BudgetUnit = Literal["trials", "fidelity"]


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
    status : {'ok', 'failed'}
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
    status: Status
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
class SearchResult:
    """All finished trials of a search, in the order their results arrived."""

    trials: list[TrialRecord] = field(default_factory=list)

    @property
    def best(self) -> TrialRecord | None:
        """The best successful trial at the highest fidelity any trial succeeded at."""
        ok = [t for t in self.trials if t.status == "ok" and t.score is not None]
        if not ok:
            return None
        top = max(t.fidelity for t in ok)
        return max((t for t in ok if t.fidelity == top), key=lambda t: float(t.score or 0.0))

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"best": {"config", "score"} or None, "trials": [...]}`` for JSON output."""
        best = self.best
        return {
            "best": None if best is None else {"config": best.config, "score": best.score},
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
) -> SearchResult:
    """Run an ask/tell search until the budget is spent.

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

    Returns
    -------
    SearchResult
        Previous and new trials in the order their results arrived.
    """
    if budget < 0:
        raise ValueError("budget must be >= 0")
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

    def cost(fidelity: float) -> float:
        return 1.0 if budget_unit == "trials" else fidelity

    spent = sum(cost(r.fidelity) for r in records)
    pending: dict[cf.Future[EvalResult], tuple[Trial, int]] = {}

    def finish(trial: Trial, asked_after: int, outcome: EvalResult) -> None:
        optimizer.tell(trial, outcome.score if outcome.status == "ok" else None)
        record = _record(trial, outcome, asked_after)
        result.trials.append(record)
        if on_trial is not None:
            on_trial(record, result)

    try:
        exhausted = False
        while True:
            while len(pending) < parallel and spent < budget and not exhausted:
                if to_run:
                    trial, asked_after = to_run.pop(0)
                else:
                    try:
                        trial = optimizer.ask()
                    except NoTrialAvailable:
                        exhausted = not pending
                        break
                    asked_after = len(result.trials)
                spent += cost(trial.fidelity)
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
    return result


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
        Keep failed trials (with a NULL value).

    Returns
    -------
    pandas.DataFrame
        Columns task_id, [config_id,] params (canonical JSON), metric, value,
        fidelity, runtime_s, source ('local'), provenance.
    """
    rows = []
    for record in result.trials:
        if record.status != "ok" and not include_failed:
            continue
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
