"""Talking to OpenML: deadlines, retries, openml-python's configuration, a reachability probe.

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
import logging
import os
import threading
import time
import types
import xml.parsers.expat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import minio
import openml
import openml._api_calls as _openml_api
import requests
import urllib3
from openml.exceptions import OpenMLHashException, OpenMLServerError, OpenMLServerException

from metakb.errors import OpenMLResponseError, OpenMLUnavailableError

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_SERVER = "https://www.openml.org/api/v1/xml"
SERVER_ENV = "METAKB_OPENML_SERVER"

# OpenML error codes meaning "no such entity": task, dataset, flow, study.
_NOT_FOUND_CODES = frozenset({151, 111, 181, 601, 600})
_SERVER_BUSY_CODE = 107  # OpenML's "database connection error": worth a retry
_PROBE_BUDGET_S = 12.0  # a dead network must be reported well within 15 s
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


def resolve_server(server: str | None = None) -> str:
    """Return the OpenML API URL: the argument, else ``$METAKB_OPENML_SERVER``, else openml.org."""
    url = server or os.environ.get(SERVER_ENV) or DEFAULT_SERVER
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"OpenML server must be an http(s) URL, got {url!r}")
    return url.rstrip("/")


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
