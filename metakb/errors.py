"""Errors metakb raises on purpose: each carries a one-line message fit for a user."""

from __future__ import annotations


class MetakbError(Exception):
    """Base class of every error metakb reports to a user as one line."""


class UsageError(MetakbError):
    """An argument names nothing metakb knows (algorithm, method, metric) or is out of range.

    The command line exits with status 2 on it, as on its own usage errors.
    """


class StoreError(MetakbError):
    """The knowledge base cannot be opened or used as asked."""


class StoreLockedError(StoreError):
    """Another process holds the knowledge base's write lock (DuckDB allows one writer)."""


class StoreNotFoundError(StoreError):
    """The knowledge base file does not exist yet."""


class SchemaVersionError(StoreError):
    """The knowledge base was written by a schema version this metakb cannot use."""


class DataSourceError(MetakbError):
    """A data folder or source file is missing, unreadable or malformed."""


class OpenMLUnavailableError(DataSourceError):
    """The OpenML server cannot be reached, does not answer in time or fails (HTTP 5xx)."""


class OpenMLResponseError(DataSourceError):
    """OpenML answered, but refused the request or sent something that cannot be parsed.

    Parameters
    ----------
    message : str
        The one-line message.
    code : int, optional
        OpenML's own error code when the server sent one (e.g. 151 for an unknown task).
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class DatasetError(MetakbError):
    """A user's table cannot be loaded as asked (missing, empty, malformed, bad target)."""


class SearchExistsError(UsageError):
    """A search with these settings has trials already: resume it or start it over explicitly.

    Parameters
    ----------
    message : str
        The one-line message (for a Python caller).
    search_id : str
        The search's id.
    log_path : str
        Its resume log.
    n_trials : int
        The trials the log holds.
    """

    def __init__(self, message: str, search_id: str, log_path: str, n_trials: int) -> None:
        super().__init__(message)
        self.search_id = search_id
        self.log_path = log_path
        self.n_trials = n_trials


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a search; it says what was saved, so a caller can say how to continue.

    A :class:`KeyboardInterrupt`, so code that does not know it stops as on any Ctrl-C.

    Parameters
    ----------
    search_id : str
        The search's id.
    log_path : str
        Its resume log.
    n_trials : int
        The trials the log holds (each also written to the knowledge base).
    """

    def __init__(self, search_id: str, log_path: str, n_trials: int) -> None:
        super().__init__(f"search {search_id} interrupted with {n_trials} trial(s) in {log_path}")
        self.search_id = search_id
        self.log_path = log_path
        self.n_trials = n_trials
