"""Run a sweep: every configuration of a design, cross-validated on every dataset, written back.

For each dataset the sweep loads the table (cut to ``max_rows`` rows, stratified),
registers it as a ``local`` dataset and task with its meta-features, and
evaluates the design's configurations not yet stored by the same sweep
(resuming is reading what is there). Results are written in small batches as
they finish, so an interrupted sweep (Ctrl-C, SIGKILL, the end of a session)
loses at most one batch, and the writes are upserts on natural keys, so a
resumed sweep never duplicates anything.

A dataset the algorithm cannot be fit on is recorded, not fatal: when its first
evaluation (the library's defaults) fails, that failed evaluation is stored
with its reason and the sweep moves on. A file that cannot be read, or a task
type the algorithm does not support, is reported as skipped.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from metakb.configs import config_id
from metakb.datasets import Table, kb_dataset_id, load_table, subsample_table
from metakb.errors import DatasetError
from metakb.metafeatures import extract_table
from metakb.metafeatures import result_rows as meta_feature_rows
from metakb.search import CVObjective, EvalResult, SpaceEstimators, TrialRecord, open_executor
from metakb.sources.local import KB_METRICS, local_task_id, register_table, write_trials
from metakb.spaces import Algorithm, get_algorithm
from metakb.store import Store, evaluated_configs
from metakb.sweep._design import DEFAULT_DESIGN, DesignPoint

log = logging.getLogger(__name__)

METRICS: dict[str, str] = {"classification": "roc_auc", "regression": "neg_rmse"}
"""The CV objective's metric per task type: ROC AUC (one-vs-rest for more than two
classes) and RMSE, the metrics OpenML and TabRepo report."""

DEFAULT_MAX_ROWS = 500
BATCH = 8
"""Evaluations written per transaction: at most this many are redone after a kill."""

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DatasetRef:
    """A table file to sweep.

    Attributes
    ----------
    name : str
        Shown in reports (the file's name by default).
    path : Path
        The table file.
    target : str or None
        The target column (``target`` or ``class`` when None).
    task_type : str or None
        Overrides the inferred task type (a manifest's, for ordinal targets).
    openml_dataset_id : int or None
        The OpenML dataset the table is a copy of, when known.
    """

    name: str
    path: Path
    target: str | None = None
    task_type: str | None = None
    openml_dataset_id: int | None = None


@dataclass(frozen=True)
class SweepSettings:
    """How a sweep evaluates.

    Attributes
    ----------
    algorithm : str
        The algorithm swept (a key of :data:`~metakb.spaces.ALGORITHMS`).
    design : str
        A key of :data:`~metakb.sweep.DESIGNS`.
    n_splits : int
        Cross-validation folds (stratified for classification).
    max_rows : int or None
        Tables with more rows are cut to this many (stratified, seeded); the cut
        table is its own knowledge-base dataset and task.
    executor : str
        Where evaluations run (:func:`~metakb.search.open_executor` spec).
    trial_timeout : float or None
        Seconds one configuration's cross-validation may take.
    seed : int
        Seed of the folds, the cut, the models and the design's Sobol sample.
    """

    algorithm: str
    design: str = DEFAULT_DESIGN
    n_splits: int = 5
    max_rows: int | None = DEFAULT_MAX_ROWS
    executor: str = "inprocess"
    trial_timeout: float | None = 600.0
    seed: int = 0

    @property
    def provenance(self) -> str:
        """The evaluations' provenance (``sweep:lightgbm:standard:cv5:seed0``)."""
        return f"sweep:{self.algorithm}:{self.design}:cv{self.n_splits}:seed{self.seed}"


@dataclass
class SweepReport:
    """What a sweep did.

    Attributes
    ----------
    design : list of str
        The design's labels.
    datasets : int
        Datasets swept (evaluated now or already complete).
    evaluations : int
        Evaluations added now (failed ones included).
    already : int
        Evaluations found stored by an earlier run of the same sweep.
    failed : dict
        Dataset -> why its first evaluation failed (recorded in the knowledge base).
    skipped : dict
        Dataset -> why it was not swept (unreadable, unsupported task type, excluded).
    notes : dict
        Dataset -> what was done to its columns before it was swept
        (:attr:`metakb.datasets.Table.notes`: dates encoded, ids and free text dropped).
    cpu_seconds : float
        Seconds spent in the evaluations added now (single-threaded fits).
    wall_seconds : float
        Wall time of the sweep.
    """

    design: list[str]
    datasets: int = 0
    evaluations: int = 0
    already: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return dict(self.__dict__)


def folder_refs(folder: str | Path) -> list[DatasetRef]:
    """Return the tables of a folder: its ``manifest.csv`` rows, else every table file in it.

    A manifest (PMLB's layout) has ``name`` and ``file`` columns and optionally
    ``target_column``, ``task_type`` and ``openml_dataset_id``.

    Raises
    ------
    DatasetError
        The folder does not exist or holds no table.
    """
    from metakb.datasets import file_format, table_name

    root = Path(folder)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder of tables")
    manifest = root / "manifest.csv"
    if manifest.exists():
        frame = pd.read_csv(manifest)
        refs = [
            DatasetRef(
                str(row["name"]),
                root / str(row["file"]),
                _text(row.get("target_column")),
                _text(row.get("task_type")),
                None if pd.isna(row.get("openml_dataset_id")) else int(row["openml_dataset_id"]),
            )
            for _, row in frame.iterrows()
        ]
    else:
        refs = []
        for path in sorted(p for p in root.iterdir() if p.is_file()):
            try:
                file_format(path)
            except DatasetError:
                continue
            refs.append(DatasetRef(table_name(path), path))
    if not refs:
        raise DatasetError(f"{root}: no table files (csv, tsv, parquet, arff)")
    return refs


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


def _load(ref: DatasetRef, algorithm: Algorithm, settings: SweepSettings) -> Table:
    table = load_table(ref.path, ref.target, task_type=ref.task_type, duplicate_columns="rename")
    algorithm.check_task_type(table.task_type)
    if settings.max_rows is not None:
        table = subsample_table(table, settings.max_rows, seed=settings.seed)
    return table


def run_sweep(
    store: Store,
    refs: Sequence[DatasetRef],
    points: Sequence[DesignPoint],
    settings: SweepSettings,
    *,
    exclude: Sequence[str] = (),
    task_type: str | None = None,
    progress: Progress | None = None,
) -> SweepReport:
    """Evaluate every design point on every dataset and write the results.

    Parameters
    ----------
    store : Store
        The knowledge base (it must exist).
    refs : sequence of DatasetRef
        The datasets.
    points : sequence of DesignPoint
        The design (:func:`~metakb.sweep.build_design`).
    settings : SweepSettings
        How to evaluate.
    exclude : sequence of str
        Dataset names not to sweep (a benchmark's held-out tables).
    task_type : str, optional
        Sweep only tables of this task type.
    progress : callable, optional
        ``progress(description, done, total)`` over (dataset, configuration) pairs.

    Returns
    -------
    SweepReport
    """
    algorithm = get_algorithm(settings.algorithm)
    flow_id = algorithm.space.flow_ids[0]
    ids = [config_id(flow_id, algorithm.space.to_flow_params(p.config)) for p in points]
    report = SweepReport(design=[p.label for p in points])
    description = f"sweep {algorithm.name}"
    total, done = len(refs) * len(points), 0
    tick = progress or (lambda description, done, total: None)
    tick(description, 0, total)
    excluded = set(exclude)
    start = time.perf_counter()
    for ref in refs:
        if ref.name in excluded:
            report.skipped[ref.name] = "excluded"
        else:
            _sweep_one(store, ref, algorithm, points, ids, settings, report, task_type)
        done += len(points)
        tick(description, done, total)
    report.wall_seconds = time.perf_counter() - start
    return report


def _sweep_one(
    store: Store,
    ref: DatasetRef,
    algorithm: Algorithm,
    points: Sequence[DesignPoint],
    ids: Sequence[str],
    settings: SweepSettings,
    report: SweepReport,
    task_type: str | None,
) -> None:
    if task_type is not None and ref.task_type not in (None, task_type):
        report.skipped[ref.name] = f"a {ref.task_type} table"
        return
    try:
        table = _load(ref, algorithm, settings)
    except (DatasetError, ValueError) as error:
        report.skipped[ref.name] = str(error).splitlines()[0]
        log.info("sweep: skipped %s: %s", ref.name, report.skipped[ref.name])
        return
    if task_type is not None and table.task_type != task_type:
        report.skipped[ref.name] = f"a {table.task_type} table"
        return
    if table.notes:
        report.notes[ref.name] = list(table.notes)
    metric = METRICS[table.task_type]
    task_id = local_task_id(table)
    with store.read() as con:
        stored = evaluated_configs(
            con, task_id, metric=KB_METRICS[metric][0], provenance=settings.provenance
        )
    todo = [p for p, i in zip(points, ids, strict=True) if i not in stored]
    report.datasets += 1
    report.already += len(points) - len(todo)
    if points[0].label == "library_default" and stored.get(ids[0]) is False:
        # The defaults failed in an earlier run: the data is at fault.
        report.failed[ref.name] = "the library defaults failed (stored)"
        return
    if not todo:
        return
    log.info("sweep: %s, %d rows, %d configurations", ref.name, len(table.X), len(todo))
    features = meta_feature_rows(kb_dataset_id(table), extract_table(table, seed=settings.seed))
    register_table(store, table, features, algorithm.space, metric, ref.openml_dataset_id)
    objective = CVObjective(
        table.X,
        table.y,
        SpaceEstimators(algorithm, table.task_type, settings.seed),
        task_type=algorithm.check_task_type(table.task_type),
        metric=metric,
        n_splits=settings.n_splits,
        fidelity_kind=algorithm.fidelity,
        time_limit=settings.trial_timeout,
        seed=settings.seed,
    )

    def write(batch: list[tuple[int, DesignPoint, EvalResult]]) -> None:
        records = [
            TrialRecord(i, p.config, 1.0, r.score, r.seconds, r.status, r.error)
            for i, p, r in batch
        ]
        report.evaluations += write_trials(
            store,
            records,
            space=algorithm.space,
            task_id=task_id,
            metric=metric,
            provenance=settings.provenance,
            folds=[r.folds for _, _, r in batch],
        )
        report.cpu_seconds += sum(r.seconds for _, _, r in batch)

    # The defaults go first and alone: when they fail, the data is at fault.
    first = todo[0]
    if first.label == "library_default":
        problem = data_problem(table, settings.n_splits)
        result = objective(first.config) if problem is None else EvalResult.failed(problem)
        write([(0, first, result)])
        if result.score is None:
            report.failed[ref.name] = result.error or "failed"
            log.warning("sweep: %s failed: %s", ref.name, report.failed[ref.name])
            return
        todo = todo[1:]
    batch: list[tuple[int, DesignPoint, EvalResult]] = []
    try:
        for i, point, result in _evaluate(objective, todo, settings):
            batch.append((i, point, result))
            if len(batch) >= BATCH:
                write(batch)
                batch = []
    finally:  # an interrupt keeps what already finished
        if batch:
            write(batch)


def data_problem(table: Table, n_splits: int) -> str | None:
    """Return why no configuration can be cross-validated on ``table``, or None."""
    if len(table.X) < 2 * n_splits:
        return f"{len(table.X)} rows: too few for {n_splits}-fold cross-validation"
    if table.y.nunique() < 2:
        kind = "one class" if table.task_type == "classification" else "a constant target"
        return f"the target has {kind}"
    if table.task_type == "classification" and table.y.value_counts().max() > len(table.y) - 2:
        return "every class but one has fewer than two rows"
    return None


def _evaluate(
    objective: CVObjective, points: Sequence[DesignPoint], settings: SweepSettings
) -> Iterator[tuple[int, DesignPoint, EvalResult]]:
    """Yield ``(index, point, result)`` as evaluations finish, a few in flight at a time."""
    executor = open_executor(settings.executor, objective, settings.trial_timeout)
    try:
        queue = iter(enumerate(points, start=1))
        pending: dict[cf.Future[EvalResult], tuple[int, DesignPoint]] = {}

        def fill() -> None:
            # A bounded window: the in-process executor evaluates on submit, and a
            # pool should not hold finished results that are not yet written.
            while len(pending) < 2 * executor.n_workers:
                item = next(queue, None)
                if item is None:
                    return
                pending[executor.submit(item[1].config, 1.0)] = item

        fill()
        while pending:
            finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                i, point = pending.pop(future)
                yield i, point, future.result()
            fill()
    finally:
        executor.close()


def fold_values(text: str | None) -> list[float]:
    """Return the per-fold values stored in an evaluation's ``fold_values`` (empty if none)."""
    return [] if not text else [float(v) for v in json.loads(text)]
