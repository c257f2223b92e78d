"""Errors metakb raises on purpose: each carries a one-line message fit for a user."""

from __future__ import annotations


class MetakbError(Exception):
    """Base class of every error metakb reports to a user as one line."""


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
