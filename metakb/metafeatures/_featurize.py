"""Featurizing files: one user table, or every dataset of the knowledge base with a local file.

Values are stored in ``meta_features`` with ``computed_by = "metakb"``, the
family, :data:`METAFEATURES_VERSION`, the family's seconds and, for a missing
value, the reason. Stored values are never overwritten (the table's key is
``(dataset_id, name, computed_by)``): a rerun skips every (dataset, family)
already featurized at the current version, and a run at a new version only
adds names that were not stored before.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metakb._workers import exit_with_parent
from metakb.datasets import Table, load_table
from metakb.errors import DatasetError, MetakbError
from metakb.metafeatures._extract import (
    DEFAULT_BUDGET_S,
    FAMILIES,
    METAFEATURES_VERSION,
    MetaFeatureResult,
    extract,
)
from metakb.store import (
    MetaFeatures,
    Store,
    delete_outdated_meta_features,
    list_dataset_files,
    list_featurized,
    put_meta_features,
    transaction,
)

log = logging.getLogger(__name__)

COMPUTED_BY = "metakb"
# Results are written in batches of this many datasets, or after this many seconds.
FLUSH_DATASETS = 32
FLUSH_SECONDS = 10.0
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class FeaturizeSummary:
    """What :func:`featurize_all` did.

    Attributes
    ----------
    datasets : int
        Datasets in the knowledge base with a local file.
    already_done : int
        Of those, how many were already featurized at this version (skipped).
    featurized : int
        Datasets featurized in this run.
    values_added : int
        New ``meta_features`` rows.
    values_missing : int
        Of the values computed in this run, how many are missing (NaN, with a reason).
    failed : dict
        dataset_id -> why it could not be featurized (nothing stored for it).
    seconds : float
        Wall-clock time of the run.
    """

    datasets: int
    already_done: int
    featurized: int
    values_added: int
    values_missing: int
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def featurize_file(
    path: str | Path,
    target: str | None = None,
    *,
    task_type: str | None = None,
    families: Sequence[str] | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    seed: int = 0,
    duplicate_columns: str = "error",
) -> tuple[Table, MetaFeatureResult]:
    """Load one table file and compute its meta-features.

    Parameters are those of :func:`metakb.datasets.load_table` and
    :func:`metakb.metafeatures.extract`.
    """
    table = load_table(path, target, task_type=task_type, duplicate_columns=duplicate_columns)
    return table, extract_table(table, families=families, budget_s=budget_s, seed=seed)


def extract_table(
    table: Table,
    *,
    families: Sequence[str] | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    seed: int = 0,
) -> MetaFeatureResult:
    """Run :func:`metakb.metafeatures.extract` on a loaded table with its kinds and task type."""
    return extract(
        table.X,
        table.y,
        kinds=table.kinds,
        task_type=table.task_type,
        families=families,
        budget_s=budget_s,
        seed=seed,
    )


def result_rows(dataset_id: str, result: MetaFeatureResult) -> MetaFeatures:
    """Return the ``meta_features`` rows of one dataset's result (a missing value is null)."""
    names = sorted(result.values)
    families = [result.family[name] for name in names]
    return MetaFeatures(
        dataset_id=[dataset_id] * len(names),
        name=names,
        value=[None if math.isnan(result.values[name]) else result.values[name] for name in names],
        family=families,
        computed_by=COMPUTED_BY,
        version=METAFEATURES_VERSION,
        seconds=[result.seconds.get(family) for family in families],
        reason=[result.skipped.get(name) for name in names],
    )


def _text(value: Any) -> str | None:
    # DuckDB hands NULL strings to pandas as None or NaN; both mean "not given".
    return value if isinstance(value, str) and value else None


def _load_kb_table(job: dict[str, Any]) -> Table:
    target, task_type = _text(job.get("target")), _text(job.get("task_type"))
    try:
        return load_table(job["file_path"], target, task_type=task_type, duplicate_columns="rename")
    except DatasetError as exc:
        if target is None or "no target column" not in str(exc):
            raise
    # The stored target is OpenML's name for it; a PMLB file calls it ``target``.
    return load_table(job["file_path"], None, task_type=task_type, duplicate_columns="rename")


def _featurize_job(
    job: dict[str, Any], families: list[str], budget_s: float, seed: int
) -> tuple[str, MetaFeatures | None, str | None]:
    """Featurize one knowledge-base dataset (runs in a worker process)."""
    try:
        from threadpoolctl import threadpool_limits

        # Parallelism is over datasets; nested BLAS threads would only contend.
        with threadpool_limits(1):
            result = extract_table(
                _load_kb_table(job), families=families, budget_s=budget_s, seed=seed
            )
    except (MetakbError, ValueError, OSError) as exc:
        return job["dataset_id"], None, str(exc).splitlines()[0] if str(exc) else repr(exc)
    return job["dataset_id"], result_rows(job["dataset_id"], result), None


def featurize_all(
    store: Store,
    *,
    families: Sequence[str] | None = None,
    n_jobs: int = 2,
    progress: Progress | None = None,
    budget_s: float = DEFAULT_BUDGET_S,
    seed: int = 0,
) -> FeaturizeSummary:
    """Compute and store meta-features of every knowledge-base dataset with a local file.

    Parameters
    ----------
    store : Store
        The knowledge base; datasets come from ``datasets.file_path``.
    families : sequence of str, optional
        Families to compute (all by default).
    n_jobs : int
        Worker processes (parallel over datasets); 1 runs in this process.
    progress : callable, optional
        ``progress(description, done, total)`` after each dataset.
    budget_s, seed
        As for :func:`metakb.metafeatures.extract`.

    Returns
    -------
    FeaturizeSummary
    """
    chosen = list(FAMILIES) if families is None else list(families)
    unknown = [f for f in chosen if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown families {unknown}; known: {sorted(FAMILIES)}")
    if n_jobs < 1:
        raise ValueError("n_jobs must be at least 1")
    started = time.perf_counter()
    with store.read() as con:
        files = list_dataset_files(con)
        done = list_featurized(con, computed_by=COMPUTED_BY, version=METAFEATURES_VERSION)
    have: dict[str, set[str]] = {}
    for dataset_id, family in done.itertuples(index=False):
        have.setdefault(str(dataset_id), set()).add(str(family))
    jobs: list[tuple[dict[str, Any], list[str]]] = []
    for record in files.to_dict("records"):
        row = {str(k): v for k, v in record.items()}
        todo = [f for f in chosen if f not in have.get(row["dataset_id"], set())]
        if todo:
            jobs.append((row, todo))
    total = len(jobs)
    added = missing = 0
    failed: dict[str, str] = {}
    report = progress or (lambda description, done, total: None)
    report("featurizing", 0, total)

    pending: list[MetaFeatures] = []
    last_flush = time.perf_counter()

    def flush() -> None:
        nonlocal added, last_flush
        if pending:
            # One short write transaction per batch: opening the file costs ~0.1 s.
            batch = MetaFeatures.concat(pending)
            with store.write() as con, transaction(con):
                # Rows of an older version share the new rows' keys, and upsert keeps
                # what is stored: drop them first.
                delete_outdated_meta_features(con, batch)
                added += put_meta_features(con, batch)
            pending.clear()
        last_flush = time.perf_counter()

    def store_one(dataset_id: str, rows: MetaFeatures | None, error: str | None) -> None:
        nonlocal missing
        if rows is None:
            failed[dataset_id] = error or "failed"
            log.warning("%s: %s", dataset_id, error)
            return
        missing += rows.n_missing()
        pending.append(rows)
        if len(pending) >= FLUSH_DATASETS or time.perf_counter() - last_flush > FLUSH_SECONDS:
            flush()

    if n_jobs == 1 or total <= 1:
        for count, (job, todo) in enumerate(jobs, start=1):
            store_one(*_featurize_job(job, todo, budget_s, seed))
            report("featurizing", count, total)
    else:
        with ProcessPoolExecutor(
            max_workers=n_jobs, initializer=exit_with_parent, initargs=(os.getpid(),)
        ) as pool:
            futures = [pool.submit(_featurize_job, job, todo, budget_s, seed) for job, todo in jobs]
            for count, future in enumerate(as_completed(futures), start=1):
                store_one(*future.result())
                report("featurizing", count, total)
    flush()
    return FeaturizeSummary(
        datasets=len(files),
        already_done=len(files) - total,
        featurized=total - len(failed),
        values_added=added,
        values_missing=missing,
        failed=failed,
        seconds=time.perf_counter() - started,
    )
