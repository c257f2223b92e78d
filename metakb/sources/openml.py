"""Ingest tasks, datasets, flows and runs from an OpenML server with openml-python.

This is the only module of metakb that imports ``openml``. It pulls, for a
selection of tasks (a benchmark suite and/or task ids) and flows:

* tasks (type, target, estimation procedure) and their datasets, with OpenML's
  data qualities stored as meta-features computed by ``'openml'``;
* flows (name and parameter names);
* evaluations of one metric with their setups' hyperparameter values
  (``openml.evaluations.list_evaluations_setups``, one page at a time), mapped
  onto canonical configurations. For the OpenML100 flows 6969, 6970 and 8784
  the parameters get the names of the published OpenML100 tables, so the same
  setting is the same ``configs`` row whichever way it arrived.

Every page is written in one transaction together with its checkpoint in
``ingest_runs``: an interrupted run keeps what it committed, and a rerun with
the same selection continues after the last committed page.

openml-python has no request timeout and retries failed requests with sleeps
of its own. While an ingest runs, the client is configured (server, cache
folder, one attempt per call) and its ``requests`` module is swapped for one
whose sessions carry a deadline and turn HTTP 5xx into an exception; metakb
then retries with a short exponential backoff and turns what remains into one
line (:class:`~metakb.errors.OpenMLUnavailableError` or
:class:`~metakb.errors.OpenMLResponseError`). Everything is restored afterwards.
Only one ingest per process runs at a time (a lock guards the configuration).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import math
import os
import re
import threading
import time
import types
import xml.parsers.expat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import minio
import openml
import openml._api_calls as _openml_api
import pandas as pd
import requests
import urllib3
from openml.exceptions import OpenMLHashException, OpenMLServerError, OpenMLServerException
from openml.tasks import TaskType

from metakb.configs import JsonScalar, canonical_json, config_id
from metakb.errors import OpenMLResponseError, OpenMLUnavailableError
from metakb.sources.published import Progress, quality_family
from metakb.spaces import ALGORITHMS
from metakb.store import Store, get_ingest_run, record_ingest_run, transaction, upsert

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_SERVER = "https://www.openml.org/api/v1/xml"
SERVER_ENV = "METAKB_OPENML_SERVER"
SOURCE = "openml"

# The quickstart slice: five small OpenML100 classification tasks (kr-vs-kp,
# balance-scale, breast-w, credit-g, diabetes) with the RandomForest flow.
QUICKSTART_TASKS = (3, 11, 15, 31, 37)
QUICKSTART_FLOW = 6969
QUICKSTART_MAX_RUNS = 100

# OpenML error codes meaning "no such entity": task, dataset, flow, study.
_NOT_FOUND_CODES = frozenset({151, 111, 181, 601, 600})
_SERVER_BUSY_CODE = 107  # OpenML's "database connection error": worth a retry
_PROBE_BUDGET_S = 12.0  # a dead network must be reported well within 15 s

# The OpenML flows of the algorithm records: flow id -> (algorithm, published
# parameter name -> (component class fragment, OpenML parameter name)), so the
# same setting gets the parameter names of the published OpenML100 tables.
_PUBLISHED_FLOWS: dict[int, tuple[str, dict[str, tuple[str, str]]]] = {
    flow: (algorithm.name, dict(algorithm.openml_params))
    for algorithm in ALGORITHMS.values()
    for flow in algorithm.openml_flow_ids
}
# Lower-case component class name -> algorithm name, for the other flows. XGBoost
# has no record (no space): its flows are named, never searched.
_ALGORITHMS = {
    **{
        cls: algorithm.name for algorithm in ALGORITHMS.values() for cls in algorithm.openml_classes
    },
    "xgbclassifier": "xgboost",
    "xgbregressor": "xgboost",
}
_FULL_NAME = re.compile(r"^(?P<owner>.*)\((?P<version>[^()]*)\)_(?P<param>[^()]+)$")
_CONFIG_LOCK = threading.Lock()


@dataclass(frozen=True)
class HttpPolicy:
    """Deadlines and retries of the requests made to OpenML.

    Parameters
    ----------
    timeout_s : float
        Longest wait for an answer (between bytes) to one request.
    connect_timeout_s : float
        Longest wait for a connection.
    attempts : int
        Attempts per call before giving up (timeouts, refused connections, HTTP 5xx).
    backoff_s : float
        Sleep before the second attempt; doubled before each further one.
    """

    timeout_s: float = 30.0
    connect_timeout_s: float = 4.0
    attempts: int = 3
    backoff_s: float = 0.5

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.connect_timeout_s <= 0:
            raise ValueError("timeouts must be positive")
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.backoff_s < 0:
            raise ValueError("backoff_s must not be negative")


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


def resolve_server(server: str | None = None) -> str:
    """Return the OpenML API URL: the argument, else ``$METAKB_OPENML_SERVER``, else openml.org."""
    url = server or os.environ.get(SERVER_ENV) or DEFAULT_SERVER
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"OpenML server must be an http(s) URL, got {url!r}")
    return url.rstrip("/")


def openml_cache_dir(store: Store) -> Path:
    """Return the folder where openml-python caches downloads for ``store`` (next to the file)."""
    return store.path.expanduser().resolve().parent / "openml_cache"


def openml_reachable(server: str | None = None, timeout_s: float = 3.0) -> bool:
    """Return whether the OpenML server answers within ``timeout_s`` (one quick request).

    Parameters
    ----------
    server : str, optional
        The API URL; defaults to :func:`resolve_server`.
    timeout_s : float
        Deadline for connecting and for the answer.
    """
    try:
        return _probe_once(resolve_server(server), (timeout_s, timeout_s)) is None
    except ValueError:
        return False


def ingest_openml(
    store: Store,
    *,
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
    with _openml_configured(url, openml_cache_dir(store), policy):
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
        tasks=QUICKSTART_TASKS,
        flows=(QUICKSTART_FLOW,),
        max_runs=QUICKSTART_MAX_RUNS,
        server=server,
        progress=progress,
        http=http,
    )


# -- talking to OpenML ---------------------------------------------------------------------


class _ServerFailureError(Exception):
    """An HTTP 5xx answer: the server is up but failing, so the call may be retried."""

    def __init__(self, status: int, url: str) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.url = url


class _DeadlineSession(requests.Session):
    """A session whose requests carry a timeout unless given one, and fail on HTTP 5xx."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__()
        self._deadline = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._deadline
        response = super().request(str(method), str(url), *args, **kwargs)
        if response.status_code >= 500:
            # openml-python would try to parse the error page as XML and retry with sleeps.
            raise _ServerFailureError(response.status_code, str(url))
        return response


class _RequestsWithDeadline(types.ModuleType):
    """Stands in for ``requests`` inside ``openml._api_calls``: the same, with deadlines."""

    def __init__(self, timeout: tuple[float, float]) -> None:
        super().__init__(requests.__name__)
        self._deadline = timeout

    def __getattr__(self, name: str) -> Any:
        return getattr(requests, name)

    def Session(self) -> requests.Session:  # noqa: N802 (mirrors requests.Session)
        return _DeadlineSession(self._deadline)


class _MinioWithDeadline(types.ModuleType):
    """Stands in for ``minio`` inside ``openml._api_calls``: Parquet downloads get deadlines.

    minio's default HTTP client waits minutes and retries on its own; openml
    falls back to the ARFF file when the Parquet download fails.
    """

    def __init__(self, policy: HttpPolicy) -> None:
        super().__init__(minio.__name__)
        self._policy = policy

    def __getattr__(self, name: str) -> Any:
        return getattr(minio, name)

    def Minio(self, *args: Any, **kwargs: Any) -> minio.Minio:  # noqa: N802 (mirrors minio.Minio)
        if kwargs.get("http_client") is None:
            kwargs["http_client"] = urllib3.PoolManager(
                timeout=urllib3.Timeout(
                    connect=self._policy.connect_timeout_s, read=self._policy.timeout_s
                ),
                retries=urllib3.Retry(
                    total=self._policy.attempts - 1, backoff_factor=self._policy.backoff_s
                ),
            )
        return minio.Minio(*args, **kwargs)


@contextlib.contextmanager
def _openml_configured(server: str, cache_dir: Path, policy: HttpPolicy) -> Iterator[None]:
    """Point openml-python at ``server`` and ``cache_dir`` with deadlines; restore it after."""
    config = openml.config
    with _CONFIG_LOCK:
        saved = config.get_config_as_dict()
        saved_requests, saved_minio = _openml_api.requests, _openml_api.minio
        cache_dir.mkdir(parents=True, exist_ok=True)
        try:
            config.server = server
            config.set_root_cache_directory(cache_dir)
            # One attempt per call inside openml: metakb retries, without openml's long sleeps.
            config.set_retry_policy("human", 1)
            deadline = (policy.connect_timeout_s, policy.timeout_s)
            _openml_api.requests = _RequestsWithDeadline(deadline)
            _openml_api.minio = _MinioWithDeadline(policy)
            yield
        finally:
            _openml_api.requests, _openml_api.minio = saved_requests, saved_minio
            config.server = saved["server"]
            config.set_root_cache_directory(saved["cachedir"])
            config.set_retry_policy(saved["retry_policy"], saved["connection_n_retries"])


def _probe_once(server: str, timeout: tuple[float, float]) -> str | None:
    """Ask the server for its (small) list of measures; return why it failed, or None."""
    try:
        response = requests.get(f"{server}/evaluationmeasure/list", timeout=timeout)
    except requests.Timeout:
        return f"no answer within {max(timeout):g} s"
    except requests.RequestException as exc:
        return _reason(exc)
    if response.status_code >= 500:
        return f"HTTP {response.status_code}"
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _reason(exc: BaseException) -> str:
    """Return a short reason for a network failure (requests nests whole tracebacks)."""
    text = str(exc)
    for marker in (
        "Connection refused",
        "Name or service not known",
        "No route to host",
        "Network is unreachable",
        "Temporary failure in name resolution",
        "timed out",
        "Connection reset",
    ):
        if marker in text:
            return marker.lower()
    return type(exc).__name__


class _Client:
    """Calls into openml-python with bounded retries; failures become one-line errors."""

    def __init__(self, server: str, policy: HttpPolicy) -> None:
        self.server = server
        self.policy = policy

    def ensure_reachable(self) -> None:
        """Fail fast, and within ``_PROBE_BUDGET_S``, when the server is not there."""
        deadline = time.monotonic() + _PROBE_BUDGET_S
        attempt = 0
        while True:
            attempt += 1
            remaining = max(0.1, deadline - time.monotonic())
            timeout = (
                min(self.policy.connect_timeout_s, remaining),
                min(self.policy.timeout_s, remaining),
            )
            reason = _probe_once(self.server, timeout)
            if reason is None:
                return
            delay = self.policy.backoff_s * 2 ** (attempt - 1)
            if attempt >= self.policy.attempts or time.monotonic() + delay >= deadline:
                raise OpenMLUnavailableError(
                    f"OpenML server unreachable at {self.server} ({reason}, {attempt} attempt(s))"
                )
            time.sleep(delay)

    def call(self, what: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` (an openml-python call), retrying transient failures.

        Raises
        ------
        OpenMLUnavailableError
            Timeouts, refused connections or HTTP 5xx on every attempt.
        OpenMLResponseError
            OpenML refused the request, or its answer could not be parsed.
        """
        failure = ""
        for attempt in range(1, self.policy.attempts + 1):
            try:
                return fn()
            except _ServerFailureError as exc:
                failure = f"OpenML server at {self.server} failed: HTTP {exc.status} on {what}"
            except requests.Timeout:
                failure = (
                    f"OpenML server unreachable at {self.server}: no answer within "
                    f"{self.policy.timeout_s:g} s on {what}"
                )
            except (requests.ConnectionError, OpenMLHashException) as exc:
                failure = f"OpenML server unreachable at {self.server} ({_reason(exc)} on {what})"
            except OpenMLServerException as exc:
                if exc.code != _SERVER_BUSY_CODE:
                    raise OpenMLResponseError(
                        f"OpenML refused {what}: {_one_line(exc.message)} (code {exc.code})",
                        exc.code,
                    ) from exc
                failure = f"OpenML server at {self.server} is busy (code 107) on {what}"
            except (
                xml.parsers.expat.ExpatError,
                OpenMLServerError,
                KeyError,
                IndexError,
                TypeError,
                ValueError,
                AssertionError,
            ) as exc:
                # openml-python parses with xmltodict and indexes into the result, so a
                # malformed answer surfaces as any of these.
                log.debug("malformed answer on %s", what, exc_info=True)
                raise OpenMLResponseError(
                    f"malformed answer from OpenML at {self.server} on {what} "
                    f"({type(exc).__name__}: {_one_line(str(exc))[:120]})"
                ) from exc
            if attempt < self.policy.attempts:
                log.info("%s; retrying (attempt %d)", failure, attempt + 1)
                time.sleep(self.policy.backoff_s * 2 ** (attempt - 1))
        raise OpenMLUnavailableError(f"{failure} ({self.policy.attempts} attempt(s))")


# -- mapping OpenML entities onto the knowledge base ---------------------------------------


class _MisfitError(Exception):
    """A setup whose parameters cannot be mapped onto its flow's parameters."""


def _decode(raw: Any) -> JsonScalar:
    """Turn an OpenML parameter value (JSON text for scikit-learn flows) into a scalar."""
    if raw is None or not isinstance(raw, str):
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        return raw  # not JSON: a plain string value (e.g. Weka options)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return value


def _split_full_name(full_name: str) -> tuple[str, str]:
    """Split ``'pkg.Class(3)_param'`` into the owning flow's class name and the parameter.

    A name that does not have this form gives ``('', full_name)``.
    """
    match = _FULL_NAME.match(full_name)
    if match is None:
        return "", full_name
    owner = match.group("owner").split("(", 1)[0].rsplit(".", 1)[-1]
    return owner.lower(), match.group("param")


@dataclass(frozen=True)
class _FlowMapper:
    """How the setups of one flow become configurations."""

    openml_id: int
    name: str
    algorithm: str
    # full parameter name -> step path key (``classifier__max_depth``) from the flow's tree
    keys: Mapping[str, str]
    # published key -> (class fragment, parameter), for the OpenML100 flows
    published: Mapping[str, tuple[str, str]] | None = None

    @property
    def flow_id(self) -> str:
        return f"openml:{self.openml_id}"

    def parameters(self) -> list[str]:
        """Return the parameter names configurations of this flow are keyed by."""
        return (
            sorted(self.published)
            if self.published is not None
            else sorted(set(self.keys.values()))
        )

    def map(self, setup: Mapping[str, Any]) -> dict[str, JsonScalar]:
        """Return the configuration of one setup (full parameter name -> raw value)."""
        if self.published is not None:
            return self._map_published(setup, self.published)
        params: dict[str, JsonScalar] = {}
        for full_name, raw in setup.items():
            key = self.keys.get(full_name)
            if key is None:
                raise _MisfitError(f"parameter {full_name!r} is not in flow {self.openml_id}")
            params[key] = _decode(raw)
        return params

    def _map_published(
        self, setup: Mapping[str, Any], published: Mapping[str, tuple[str, str]]
    ) -> dict[str, JsonScalar]:
        parsed = [(*_split_full_name(full), raw) for full, raw in setup.items()]
        by_step_names = {self.keys.get(full): raw for full, raw in setup.items()}
        params: dict[str, JsonScalar] = {}
        for key, (fragment, name) in published.items():
            if key in by_step_names:
                # Newer pipelines name their steps as the published tables do (e.g. the
                # numeric, not the nominal, imputer of a ColumnTransformer).
                params[key] = _decode(by_step_names[key])
                continue
            for owner, param, raw in parsed:
                if param == name and owner and fragment in owner:
                    params[key] = _decode(raw)
                    break
            else:
                raise _MisfitError(f"setup of flow {self.openml_id} has no value for {key}")
        if self.openml_id == 8784:
            # The published SVC tables leave parameters the kernel ignores empty.
            kernel = params.get("svc__kernel")
            if kernel != "poly":
                params["svc__degree"] = None
            if kernel not in ("poly", "sigmoid"):
                params["svc__coef0"] = None
        return params


def _flow_mapper(flow: Any) -> _FlowMapper:
    """Build the mapper of an ``openml.flows.OpenMLFlow`` (components included)."""
    fid = int(flow.flow_id)
    keys: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        for param in node.parameters:
            keys[f"{node.name}({node.version})_{param}"] = prefix + param
        for ident, sub in node.components.items():
            walk(sub, f"{prefix}{ident}__")

    walk(flow, "")
    if fid in _PUBLISHED_FLOWS:
        algorithm, published = _PUBLISHED_FLOWS[fid]
        return _FlowMapper(fid, flow.name, algorithm, keys, published)
    last = flow
    while last.components:  # the estimator is the last step of a pipeline
        last = list(last.components.values())[-1]
    owner = last.name.split("(", 1)[0].rsplit(".", 1)[-1]
    algorithm = _ALGORITHMS.get(owner.lower(), _snake(owner))
    return _FlowMapper(fid, flow.name, algorithm, keys)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower() or "unknown"


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


# -- the ingest itself ---------------------------------------------------------------------


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
        rows = []
        for done, fid in enumerate(flow_ids, start=1):
            try:
                rows.append(self._flow_row(self._mapper(fid)))
            except OpenMLResponseError as exc:
                if exc.code in _NOT_FOUND_CODES:
                    raise OpenMLResponseError(f"OpenML has no flow {fid}", exc.code) from exc
                raise
            self.progress("OpenML flows", done, len(flow_ids))
        if rows:
            self._commit([("flows", pd.DataFrame(rows))])

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

    @staticmethod
    def _flow_row(mapper: _FlowMapper) -> dict[str, Any]:
        return {
            "flow_id": mapper.flow_id,
            "openml_flow_id": mapper.openml_id,
            "name": mapper.name,
            "algorithm": mapper.algorithm,
            "parameters": json.dumps(mapper.parameters()),
            "source": SOURCE,
        }

    def _task_tables(self, tid: int) -> list[tuple[str, pd.DataFrame]]:
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
        datasets = pd.DataFrame(
            [
                {
                    "dataset_id": f"openml:{did}",
                    "openml_dataset_id": did,
                    "name": dataset.name,
                    "task_type": kind,
                    "n_rows": _number(qualities, "NumberOfInstances"),
                    # OpenML's NumberOfFeatures counts the target; n_features does not.
                    "n_features": features - 1 if features else None,
                    "n_classes": _number(qualities, "NumberOfClasses")
                    if kind == "classification"
                    else None,
                    "target": task.target_name,
                    "file_path": str(Path(file).resolve()) if file else None,
                    "source": SOURCE,
                }
            ]
        )
        tasks = pd.DataFrame(
            [
                {
                    "task_id": f"openml:{tid}",
                    "openml_task_id": tid,
                    "dataset_id": f"openml:{did}",
                    "name": dataset.name,
                    "task_type": kind,
                    "target": task.target_name,
                    "estimation_procedure": _procedure(task.estimation_procedure),
                    "metric": task.evaluation_measure or self.metric,
                    "source": SOURCE,
                }
            ]
        )
        known = {k: v for k, v in qualities.items() if v is not None and not math.isnan(v)}
        meta = pd.DataFrame(
            {
                "dataset_id": f"openml:{did}",
                "name": list(known),
                "value": list(known.values()),
                "family": [quality_family(k) for k in known],
                "computed_by": "openml",
                "version": SOURCE,
            }
        )
        return [("datasets", datasets), ("tasks", tasks), ("meta_features", meta)]

    def _unusable(self, tid: int, reason: str) -> list[tuple[str, pd.DataFrame]]:
        log.warning("skipping OpenML task %d: %s", tid, reason)
        self.unusable[tid] = reason
        self.summary._skip(reason)
        return []

    def _page_tables(self, records: Sequence[Mapping[str, Any]]) -> list[tuple[str, pd.DataFrame]]:
        """Turn one page of evaluations-with-setups into rows; count what must be skipped."""
        tables: list[tuple[str, pd.DataFrame]] = []
        flows: list[dict[str, Any]] = []
        configs: dict[str, dict[str, Any]] = {}
        evaluations: list[dict[str, Any]] = []
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
                    flows.append(self._flow_row(self._mapper(fid)))
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
            configs.setdefault(
                cid, {"config_id": cid, "flow_id": mapper.flow_id, "params": canonical_json(params)}
            )
            evaluations.append(
                {
                    "task_id": f"openml:{tid}",
                    "config_id": cid,
                    "metric": self.metric,
                    "value": float(value),
                    "fidelity": 1.0,
                    "source": SOURCE,
                    "provenance": f"run:{int(record['run_id'])}",
                }
            )
        if flows:
            tables.append(("flows", pd.DataFrame(flows)))
        if configs:
            tables.append(("configs", pd.DataFrame(list(configs.values()))))
        if evaluations:
            tables.append(("evaluations", pd.DataFrame(evaluations)))
        return tables

    # writing

    def _commit(self, tables: list[tuple[str, pd.DataFrame]], *, status: str = "running") -> None:
        """Write rows and the checkpoint in one transaction (all or nothing)."""
        with self.store.write() as con, transaction(con):
            added = {table: upsert(con, table, frame) for table, frame in tables if len(frame)}
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
