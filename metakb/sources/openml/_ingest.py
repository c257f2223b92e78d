"""The OpenML ingest loop: flows, then tasks, then pages of evaluations, each with its checkpoint.

Every page is written in one transaction together with its checkpoint in
``ingest_runs``: an interrupted run keeps what it committed, and a rerun with
the same selection continues after the last committed page.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openml
import pandas as pd
from openml.tasks import TaskType

from metakb.configs import canonical_json, config_id
from metakb.errors import OpenMLResponseError, OpenMLUnavailableError
from metakb.sources.openml._client import (
    _NOT_FOUND_CODES,
    HttpPolicy,
    _Client,
    _openml_configured,
    resolve_server,
)
from metakb.sources.openml._flows import _flow_mapper, _FlowMapper, _MisfitError
from metakb.sources.published import Progress, quality_family
from metakb.store import (
    Configs,
    Datasets,
    Evaluations,
    Flows,
    MetaFeatures,
    Rows,
    Store,
    Tasks,
    get_ingest_run,
    put_rows,
    record_ingest_run,
    transaction,
)

log = logging.getLogger(__name__)

SOURCE = "openml"

# The quickstart slice: five small OpenML100 classification tasks (kr-vs-kp,
# balance-scale, breast-w, credit-g, diabetes) with the RandomForest flow.
QUICKSTART_TASKS = (3, 11, 15, 31, 37)
QUICKSTART_FLOW = 6969
QUICKSTART_MAX_RUNS = 100


@dataclass
class OpenMLIngestSummary:
    """What one OpenML ingest did.

    Attributes
    ----------
    run_id : str
        The checkpoint key in ``ingest_runs`` (the same selection gives the same key).
    server : str
        The OpenML API URL used.
    resumed : bool
        Whether a checkpoint of an earlier run with this selection was found.
    tasks : int
        Tasks selected (suite and explicit ids).
    pages : int
        Evaluation pages committed by this run.
    evaluations_seen : int
        Evaluations read from OpenML by this run, including skipped ones.
    added_rows : dict
        Rows added per table.
    skipped : dict
        Records not stored, counted by reason.
    """

    run_id: str
    server: str
    resumed: bool = False
    tasks: int = 0
    pages: int = 0
    evaluations_seen: int = 0
    added_rows: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def added(self) -> dict[str, int]:
        """Return the rows added per table."""
        return dict(self.added_rows)

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as plain JSON-able values."""
        return {
            "source": SOURCE,
            "run_id": self.run_id,
            "server": self.server,
            "resumed": self.resumed,
            "tasks": self.tasks,
            "pages": self.pages,
            "evaluations_seen": self.evaluations_seen,
            "added": self.added(),
            "skipped": dict(self.skipped),
        }

    def _skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + n


def ingest_openml(
    store: Store,
    *,
    cache_dir: Path,
    suite: int | str | None = None,
    tasks: Iterable[int] = (),
    flows: Iterable[int] = (),
    metric: str = "predictive_accuracy",
    max_runs: int | None = None,
    server: str | None = None,
    with_data: bool = False,
    progress: Progress | None = None,
    page_size: int = 1000,
    http: HttpPolicy | None = None,
) -> OpenMLIngestSummary:
    """Pull tasks, datasets, qualities, flows and evaluated setups from OpenML into ``store``.

    Parameters
    ----------
    store : Store
        The knowledge base (created if missing).
    cache_dir : Path
        openml-python's download cache (the knowledge base's
        :attr:`~metakb.kb.Layout.openml_cache`).
    suite : int or str, optional
        A benchmark suite id or alias (OpenML100 = 14, OpenML-CC18 = 99).
    tasks : iterable of int
        OpenML task ids, in addition to the suite's.
    flows : iterable of int
        OpenML flow ids; without any, evaluations of every flow are taken.
    metric : str
        OpenML evaluation measure to ingest.
    max_runs : int, optional
        At most this many evaluations per task (or in all, when no task is selected).
    server : str, optional
        The API URL; defaults to ``$METAKB_OPENML_SERVER`` or openml.org.
    with_data : bool
        Also download each dataset's file into the cache and record its path.
    progress : callable, optional
        Called as ``progress(description, done, total)`` during each phase.
    page_size : int
        Evaluations per request and per committed page.
    http : HttpPolicy, optional
        Deadlines and retries.

    Returns
    -------
    OpenMLIngestSummary
        What was added and skipped.

    Raises
    ------
    ValueError
        When the selection is empty or a number is out of range.
    OpenMLUnavailableError
        When the server cannot be reached, does not answer in time or fails.
    OpenMLResponseError
        When OpenML refuses the request (e.g. an unknown flow) or its answer is malformed.
    """
    task_ids = _ids(tasks, "task")
    flow_ids = _ids(flows, "flow")
    if suite is None and not task_ids and not flow_ids:
        raise ValueError("select at least a suite, a task or a flow")
    if not metric:
        raise ValueError("metric must not be empty")
    if max_runs is not None and max_runs < 1:
        raise ValueError("max_runs must be at least 1")
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    url = resolve_server(server)
    policy = http or HttpPolicy()
    # "14" from the command line and 14 from Python are the same selection.
    suite_ref = int(suite) if suite is not None and str(suite).isdigit() else suite
    selection: dict[str, Any] = {
        "server": url,
        "suite": suite_ref,
        "tasks": sorted(task_ids),
        "flows": sorted(flow_ids),
        "metric": metric,
        "max_runs": max_runs,
    }
    run_id = (
        "openml:" + hashlib.sha256(json.dumps(selection, sort_keys=True).encode()).hexdigest()[:16]
    )
    with store.write() as con:
        checkpoint = get_ingest_run(con, run_id)
    summary = OpenMLIngestSummary(run_id=run_id, server=url, resumed=checkpoint is not None)
    cursor = _Cursor.from_json(checkpoint.get("cursor") if checkpoint else None)
    client = _Client(url, policy)
    job = _Ingest(
        store=store,
        client=client,
        selection=selection,
        cursor=cursor,
        summary=summary,
        with_data=with_data,
        page_size=page_size,
        progress=progress or (lambda description, done, total: None),
    )
    with _openml_configured(url, cache_dir, policy):
        client.ensure_reachable()
        try:
            job.run(suite_ref, task_ids, flow_ids)
        except (OpenMLUnavailableError, OpenMLResponseError) as exc:
            job.record_failure(str(exc))
            if summary.pages:
                exc.args = (
                    f"{exc}; {summary.pages} page(s) committed, rerun the same command to resume",
                )
            raise
        except BaseException as exc:
            job.record_failure(f"interrupted: {type(exc).__name__}")
            raise
    return summary


def ingest_openml_quickstart(
    store: Store,
    *,
    cache_dir: Path,
    server: str | None = None,
    progress: Progress | None = None,
    http: HttpPolicy | None = None,
) -> OpenMLIngestSummary:
    """Ingest the quickstart slice: a few small OpenML100 tasks with the RandomForest flow.

    See :func:`ingest_openml` for the parameters and errors; the slice is
    ``QUICKSTART_TASKS`` x flow ``QUICKSTART_FLOW``, ``QUICKSTART_MAX_RUNS`` runs per task.
    """
    return ingest_openml(
        store,
        cache_dir=cache_dir,
        tasks=QUICKSTART_TASKS,
        flows=(QUICKSTART_FLOW,),
        max_runs=QUICKSTART_MAX_RUNS,
        server=server,
        progress=progress,
        http=http,
    )


def _procedure(estimation: Mapping[str, Any] | None) -> str | None:
    """Name an estimation procedure as OpenML does (e.g. ``'10-fold Crossvalidation'``)."""
    if not estimation:
        return None
    kind = str(estimation.get("type") or "")
    params = estimation.get("parameters") or {}
    folds, repeats = params.get("number_folds"), params.get("number_repeats")
    if kind == "crossvalidation" and folds:
        name = f"{folds}-fold Crossvalidation"
        return f"{repeats} times {name}" if repeats and str(repeats) != "1" else name
    if kind == "holdout" and params.get("percentage"):
        return f"{params['percentage']}% Holdout set"
    if kind == "leaveoneout":
        return "Leave one out"
    return kind or None


def _number(qualities: Mapping[str, float], name: str) -> int | None:
    value = qualities.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def _ids(values: Iterable[int], what: str) -> list[int]:
    out: list[int] = []
    for value in values:
        number = int(value)
        if number < 1:
            raise ValueError(f"{what} ids must be positive, got {value!r}")
        if number not in out:
            out.append(number)
    return out


@dataclass
class _Cursor:
    """The checkpoint: tasks whose metadata is stored, and how far each stream of runs got."""

    # task id -> whether its dataset file was downloaded too
    meta_done: dict[int, bool] = field(default_factory=dict)
    # stream key -> [evaluations consumed, finished because max_runs was reached]
    streams: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, text: str | None) -> _Cursor:
        if not text:
            return cls()
        data = json.loads(text)
        meta = {int(tid): bool(file) for tid, file in data.get("meta_done", {}).items()}
        return cls(meta, dict(data.get("streams", {})))

    def to_json(self) -> str:
        meta = {str(tid): file for tid, file in sorted(self.meta_done.items())}
        return json.dumps({"meta_done": meta, "streams": self.streams}, sort_keys=True)


@dataclass
class _Ingest:
    """One ingest run: phases flows -> tasks -> evaluations, each write with its checkpoint."""

    store: Store
    client: _Client
    selection: dict[str, Any]
    cursor: _Cursor
    summary: OpenMLIngestSummary
    with_data: bool
    page_size: int
    progress: Progress
    mappers: dict[int, _FlowMapper] = field(default_factory=dict)
    unusable: dict[int, str] = field(default_factory=dict)
    unusable_flows: set[int] = field(default_factory=set)

    @property
    def metric(self) -> str:
        return str(self.selection["metric"])

    def run(self, suite: int | str | None, task_ids: list[int], flow_ids: list[int]) -> None:
        tids = list(task_ids)
        if suite is not None:
            bench = self.client.call(f"suite {suite}", lambda: openml.study.get_suite(suite))
            tids = [
                *(int(t) for t in bench.tasks or []),
                *(t for t in tids if t not in (bench.tasks or [])),
            ]
        self.summary.tasks = len(tids)
        self._flows_phase(flow_ids)
        self._tasks_phase(tids)
        streams: list[tuple[str, list[int] | None]] = [
            (f"task:{t}", [t]) for t in tids if t not in self.unusable
        ]
        if not tids:
            streams = [("all", None)]
        for done, (key, stream_tasks) in enumerate(streams, start=1):
            self._stream(key, stream_tasks, flow_ids or None)
            self.progress("OpenML evaluations", done, len(streams))
        self._commit([], status="completed")

    def record_failure(self, message: str) -> None:
        """Mark the run failed; what it committed stays (best effort: the store may be busy)."""
        try:
            with self.store.write() as con:
                record_ingest_run(
                    con,
                    self.summary.run_id,
                    source=SOURCE,
                    status="failed",
                    selection=self.selection,
                    message=message[:500],
                )
        except Exception:  # the original error matters more than this bookkeeping
            log.warning("could not record the failure of %s", self.summary.run_id, exc_info=True)

    # phases

    def _flows_phase(self, flow_ids: list[int]) -> None:
        mappers = []
        for done, fid in enumerate(flow_ids, start=1):
            try:
                mappers.append(self._mapper(fid))
            except OpenMLResponseError as exc:
                if exc.code in _NOT_FOUND_CODES:
                    raise OpenMLResponseError(f"OpenML has no flow {fid}", exc.code) from exc
                raise
            self.progress("OpenML flows", done, len(flow_ids))
        if mappers:
            self._commit([_flows(mappers)])

    def _tasks_phase(self, tids: list[int]) -> None:
        for done, tid in enumerate(tids, start=1):
            if self._needs_metadata(tid):
                tables = self._task_tables(tid)
                if tables:
                    self.cursor.meta_done[tid] = self.with_data
                    self._commit(tables)
            self.progress("OpenML tasks", done, len(tids))

    def _stream(self, key: str, tids: list[int] | None, flows: list[int] | None) -> None:
        offset, finished = self.cursor.streams.get(key, [0, False])
        max_runs = self.selection["max_runs"]
        where = f"task {tids[0]}" if tids else "all tasks"
        while not finished:
            size = self.page_size if max_runs is None else min(self.page_size, max_runs - offset)
            if size <= 0:
                break
            records = self.client.call(
                f"evaluations of {where} at offset {offset}",
                functools.partial(_evaluations_page, self.metric, offset, size, tids, flows),
            )
            tables = self._page_tables(records)
            offset += len(records)
            finished = max_runs is not None and offset >= max_runs
            self.cursor.streams[key] = [offset, finished]
            self.summary.evaluations_seen += len(records)
            if records:
                self.summary.pages += 1
            self._commit(tables)
            if len(records) < size:
                break

    # building rows

    def _needs_metadata(self, tid: int) -> bool:
        if tid in self.unusable:
            return False
        if tid not in self.cursor.meta_done:
            return True
        return self.with_data and not self.cursor.meta_done[tid]

    def _mapper(self, fid: int) -> _FlowMapper:
        if fid not in self.mappers:
            flow = self.client.call(f"flow {fid}", lambda: openml.flows.get_flow(fid))
            self.mappers[fid] = _flow_mapper(flow)
        return self.mappers[fid]

    def _task_tables(self, tid: int) -> list[Rows]:
        """Fetch a task, its dataset and qualities; [] (and a counted skip) if unusable."""
        try:
            task = self.client.call(f"task {tid}", lambda: _get_task(tid, self.with_data))
        except OpenMLResponseError as exc:
            if exc.code not in _NOT_FOUND_CODES:
                raise
            return self._unusable(tid, "unknown task")
        if task is None:
            return self._unusable(tid, "unsupported task type")
        kind = {
            TaskType.SUPERVISED_CLASSIFICATION: "classification",
            TaskType.SUPERVISED_REGRESSION: "regression",
        }.get(task.task_type_id)
        if kind is None:
            return self._unusable(tid, "unsupported task type")
        did = int(task.dataset_id)
        dataset = self.client.call(
            f"dataset {did}",
            lambda: openml.datasets.get_dataset(
                did, download_data=self.with_data, download_qualities=True
            ),
        )
        qualities = dict(dataset.qualities or {})
        file = dataset.parquet_file or dataset.data_file if self.with_data else None
        features = _number(qualities, "NumberOfFeatures")
        datasets = Datasets(
            dataset_id=f"openml:{did}",
            openml_dataset_id=did,
            name=dataset.name,
            task_type=kind,
            n_rows=_number(qualities, "NumberOfInstances"),
            # OpenML's NumberOfFeatures counts the target; n_features does not.
            n_features=features - 1 if features else None,
            n_classes=_number(qualities, "NumberOfClasses") if kind == "classification" else None,
            target=task.target_name,
            file_path=str(Path(file).resolve()) if file else None,
            source=SOURCE,
        )
        tasks = Tasks(
            task_id=f"openml:{tid}",
            openml_task_id=tid,
            dataset_id=f"openml:{did}",
            name=dataset.name,
            task_type=kind,
            target=task.target_name,
            estimation_procedure=_procedure(task.estimation_procedure),
            metric=task.evaluation_measure or self.metric,
            source=SOURCE,
        )
        known = {k: v for k, v in qualities.items() if v is not None and not math.isnan(v)}
        meta = MetaFeatures(
            dataset_id=f"openml:{did}",
            name=list(known),
            value=list(known.values()),
            family=[quality_family(k) for k in known],
            computed_by="openml",
            version=SOURCE,
        )
        return [datasets, tasks, meta]

    def _unusable(self, tid: int, reason: str) -> list[Rows]:
        log.warning("skipping OpenML task %d: %s", tid, reason)
        self.unusable[tid] = reason
        self.summary._skip(reason)
        return []

    def _page_tables(self, records: Sequence[Mapping[str, Any]]) -> list[Rows]:
        """Turn one page of evaluations-with-setups into rows; count what must be skipped."""
        tables: list[Rows] = []
        flows: list[_FlowMapper] = []
        configs: dict[str, tuple[str, str]] = {}  # config id -> (flow id, canonical params)
        evaluations: list[tuple[int, str, float, int]] = []  # task, config, value, run
        for record in records:
            tid, fid = int(record["task_id"]), int(record["flow_id"])
            if self._needs_metadata(tid):
                # Tasks first seen in a page (flow-only selections) are stored with it.
                task_tables = self._task_tables(tid)
                if task_tables:
                    self.cursor.meta_done[tid] = self.with_data
                    tables.extend(task_tables)
            if tid in self.unusable:
                self.summary._skip(f"evaluation of a skipped task ({self.unusable[tid]})")
                continue
            value = record.get("value")
            if value is None or (isinstance(value, float) and math.isnan(value)):
                self.summary._skip("evaluation without a value")
                continue
            setup = record.get("parameters")
            if not isinstance(setup, Mapping):
                self.summary._skip("setup without parameter values")
                continue
            if fid in self.unusable_flows:
                self.summary._skip("evaluation of an unknown flow")
                continue
            if fid not in self.mappers:
                try:
                    flows.append(self._mapper(fid))
                except OpenMLResponseError as exc:
                    if exc.code not in _NOT_FOUND_CODES:
                        raise
                    self.unusable_flows.add(fid)
                    self.summary._skip("evaluation of an unknown flow")
                    continue
            mapper = self.mappers[fid]
            try:
                params = mapper.map(setup)
            except _MisfitError as exc:
                log.info("skipping run %s: %s", record.get("run_id"), exc)
                self.summary._skip(f"setup does not fit flow {fid}")
                continue
            cid = config_id(mapper.flow_id, params)
            configs.setdefault(cid, (mapper.flow_id, canonical_json(params)))
            evaluations.append((tid, cid, float(value), int(record["run_id"])))
        if flows:
            tables.append(_flows(flows))
        if configs:
            tables.append(
                Configs(
                    config_id=list(configs),
                    flow_id=[flow for flow, _ in configs.values()],
                    params=[text for _, text in configs.values()],
                )
            )
        if evaluations:
            tables.append(
                Evaluations(
                    task_id=[f"openml:{tid}" for tid, _, _, _ in evaluations],
                    config_id=[cid for _, cid, _, _ in evaluations],
                    metric=self.metric,
                    value=[value for _, _, value, _ in evaluations],
                    fidelity=1.0,
                    source=SOURCE,
                    provenance=[f"run:{run}" for _, _, _, run in evaluations],
                )
            )
        return tables

    # writing

    def _commit(self, tables: list[Rows], *, status: str = "running") -> None:
        """Write rows and the checkpoint in one transaction (all or nothing)."""
        with self.store.write() as con, transaction(con):
            added: dict[str, int] = {}
            for rows in tables:
                if len(rows):
                    added[rows.table] = added.get(rows.table, 0) + put_rows(con, rows)
            record_ingest_run(
                con,
                self.summary.run_id,
                source=SOURCE,
                status=status,
                selection=self.selection,
                cursor=self.cursor.to_json(),
                rows_added=sum(added.values()),
                message=None,
            )
        for table, n in added.items():
            self.summary.added_rows[table] = self.summary.added_rows.get(table, 0) + n


def _flows(mappers: Sequence[_FlowMapper]) -> Flows:
    """Return the ``flows`` rows of OpenML flows."""
    return Flows(
        flow_id=[m.flow_id for m in mappers],
        openml_flow_id=[m.openml_id for m in mappers],
        name=[m.name for m in mappers],
        algorithm=[m.algorithm for m in mappers],
        parameters=[m.parameters() for m in mappers],
        source=SOURCE,
    )


def _evaluations_page(
    metric: str, offset: int, size: int, tasks: list[int] | None, flows: list[int] | None
) -> list[dict[str, Any]]:
    """Fetch one page of evaluations with their setups' parameter values."""
    frame = openml.evaluations.list_evaluations_setups(
        metric, offset=offset, size=size, tasks=tasks, flows=flows, output_format="dataframe"
    )
    if not isinstance(frame, pd.DataFrame) or frame.empty:
        return []
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _get_task(tid: int, with_data: bool) -> Any:
    """Fetch a task with its dataset's description, features and qualities; None if unsupported."""
    try:
        return openml.tasks.get_task(
            tid,
            download_splits=False,
            download_data=with_data,
            download_qualities=True,
            download_features_meta_data=True,
        )
    except NotImplementedError:  # openml-python raises it for task types it cannot build
        return None
