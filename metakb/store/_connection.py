"""Opening the knowledge base: where it lives, locking, schema checks and migrations.

DuckDB lets one process write a database file at a time, and while it holds
the file no other process can open it, not even read-only. metakb lives with
that rule by keeping every write connection short (one import, one ingest
page, one batch of trials), by opening readers read-only, and by turning the
lock error into a one-line "busy" message after a few short retries. A long
run whose work would be lost to that message (a search) waits instead, saying
so once (:meth:`Store.patient`).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from metakb.errors import (
    SchemaVersionError,
    StoreError,
    StoreLockedError,
    StoreNotFoundError,
)
from metakb.store._schema import KNOWN_METRICS, MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger(__name__)

DEFAULT_DB = Path("data") / "metakb.duckdb"
# A patient store waits this long, longer than any other writer's unit of work
# (an import of one published file, a featurize batch, another search's trial).
PATIENT_WAIT_S = 600.0
_PID = re.compile(r"PID (\d+)")


def default_db_path() -> Path:
    """Return the knowledge base path: ``$METAKB_DB``, else ``data/metakb.duckdb``."""
    env = os.environ.get("METAKB_DB")
    return Path(env) if env else DEFAULT_DB


class Store:
    """A knowledge base file and the rules for opening it.

    Parameters
    ----------
    path : str or Path, optional
        The DuckDB file; defaults to :func:`default_db_path`.
    wait_s : float
        How long to keep retrying while another process holds the file.
    notice_after_s : float, optional
        When a wait is to last longer than this, log (warning) one "waiting
        for the knowledge base" line; None (the default) waits silently.

    Examples
    --------
    >>> store = Store("kb.duckdb")  # doctest: +SKIP
    >>> with store.write() as con:  # doctest: +SKIP
    ...     con.execute("SELECT count(*) FROM tasks").fetchall()
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        wait_s: float = 3.0,
        notice_after_s: float | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        self.wait_s = wait_s
        self.notice_after_s = notice_after_s

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def patient(self, wait_s: float = PATIENT_WAIT_S) -> Store:
        """Return this knowledge base opened patiently: waiting up to ``wait_s``, saying so.

        For a run that holds work a busy message would lose or interrupt (a
        search's trials): it waits out another process's write, logging one
        "waiting for the knowledge base" warning once the usual retries are
        over (stderr on the command line), and proceeds when the file is free.
        """
        return Store(self.path, wait_s=max(wait_s, self.wait_s), notice_after_s=self.wait_s)

    def exists(self) -> bool:
        """Return whether the knowledge base file exists."""
        return self.path.is_file()

    @contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open for writing (creating and migrating the file as needed); close on exit."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = self._connect(read_only=False)
        try:
            migrate(con, str(self.path))
            yield con
        finally:
            con.close()

    def upgrade(self) -> int:
        """Migrate the knowledge base to the current schema; return the version it had."""
        if not self.exists():
            raise StoreNotFoundError(f"no knowledge base at {self.path}")
        con = self._connect(read_only=False)
        try:
            return migrate(con, str(self.path))
        finally:
            con.close()

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Open read-only; refuse a missing file or a schema this metakb cannot read."""
        if not self.exists():
            # Absolute: a relative default means another file from another folder.
            raise StoreNotFoundError(
                f"no knowledge base at {self.path.resolve()}; build one with `metakb "
                "quickstart` or `metakb ingest published`, or point --db or $METAKB_DB at one"
            )
        con = self._connect(read_only=True)
        try:
            version = schema_version(con)
            if version != SCHEMA_VERSION:
                _refuse(version, str(self.path), reading=True)
            yield con
        finally:
            con.close()

    def _connect(self, *, read_only: bool) -> duckdb.DuckDBPyConnection:
        started = time.monotonic()
        deadline = started + self.wait_s
        delay, noticed = 0.1, self.notice_after_s is None
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.IOException as exc:
                message = str(exc)
                if "lock" not in message.lower():
                    raise StoreError(
                        f"cannot open knowledge base {self.path}: {_first_line(exc)}"
                    ) from exc
                pid = _PID.search(message)
                holder = f" (PID {pid.group(1)})" if pid else ""
                # Readers share the file, so only a writer blocks a reader; a writer
                # is also blocked by readers (`metakb stats`, the app mid-query).
                doing = "writing to it" if read_only else "reading or writing it"
                now = time.monotonic()
                if now + delay > deadline:
                    raise StoreLockedError(
                        f"knowledge base {self.path} is busy: another process{holder} is "
                        f"{doing}; retry when it has finished"
                    ) from exc
                # Said once the wait goes past where a plain store gives up.
                if not noticed and now + delay - started > (self.notice_after_s or 0.0):
                    noticed = True
                    log.warning(
                        "waiting for the knowledge base %s: another process%s is %s "
                        "(up to %.0f s more)",
                        self.path,
                        holder,
                        doing,
                        deadline - now,
                    )
                time.sleep(delay)
                delay = min(delay * 2, 1.0)
            except duckdb.Error as exc:
                raise StoreError(
                    f"cannot open knowledge base {self.path}: {_first_line(exc)}"
                ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def first_row(cur: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
    """Return the first row of an executed query, reading the result to its end.

    DuckDB 2 refuses other work on a connection (``unregister``, ...) while a
    result still has unread rows, so one-row queries are read with ``fetchall``.
    """
    rows = cur.fetchall()
    return rows[0] if rows else None


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """Return the schema version of an open knowledge base (0 for an empty file)."""
    exists = first_row(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
        )
    )
    if not exists or exists[0] == 0:
        return 0
    row = first_row(con.execute("SELECT max(version) FROM schema_version"))
    return int(row[0]) if row and row[0] is not None else 0


def _refuse(version: int, path: str, *, reading: bool) -> None:
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"knowledge base {path} has schema version {version}, newer than this metakb "
            f"supports ({SCHEMA_VERSION}); upgrade metakb"
        )
    if version == 0:
        raise SchemaVersionError(f"{path} is not a metakb knowledge base (no schema_version table)")
    if reading:
        raise SchemaVersionError(
            f"knowledge base {path} has schema version {version}; run `metakb migrate` "
            f"to upgrade it to {SCHEMA_VERSION}"
        )


def migrate(
    con: duckdb.DuckDBPyConnection,
    path: str = "",
    migrations: dict[int, list[str]] | None = None,
    target: int = SCHEMA_VERSION,
) -> int:
    """Bring an open knowledge base up to ``target``, one version per transaction.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        A write connection.
    path : str
        Shown in error messages.
    migrations : dict, optional
        Version -> statements; defaults to the schema's own ``MIGRATIONS``.
    target : int
        The version to reach.

    Returns
    -------
    int
        The version the knowledge base was at before.
    """
    steps = MIGRATIONS if migrations is None else migrations
    before = schema_version(con)
    if before > target:
        _refuse(before, path, reading=False)
    if before == 0 and _has_user_tables(con):
        _refuse(0, path, reading=False)
    for version in range(before + 1, target + 1):
        log.info("migrating %s to schema version %d", path or "knowledge base", version)
        con.execute("BEGIN TRANSACTION")
        try:
            for statement in steps[version]:
                con.execute(statement)
            con.execute("INSERT INTO schema_version (version) VALUES (?)", [version])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    _ensure_metrics(con)
    return before


def _has_user_tables(con: duckdb.DuckDBPyConnection) -> bool:
    row = first_row(
        con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main'")
    )
    return bool(row and row[0])


def _ensure_metrics(con: duckdb.DuckDBPyConnection) -> None:
    rows = [(name, direction, text) for name, (direction, text) in KNOWN_METRICS.items()]
    con.executemany(
        "INSERT INTO metrics (metric, direction, description) VALUES (?, ?, ?) "
        "ON CONFLICT DO NOTHING",
        rows,
    )


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run a block all or nothing: commit on success, roll back on any exception."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
