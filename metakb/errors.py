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


class DatasetError(MetakbError):
    """A user's table cannot be loaded as asked (missing, empty, malformed, bad target)."""
