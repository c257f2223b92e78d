"""Frozen knowledge bases of every schema version, kept as SQL text in tests/store/data/.

``data/v<N>.sql`` holds the CREATE statements and the rows of a tiny knowledge
base written by metakb at schema version N, so the upgrade from every old
version can be replayed by every later metakb. The file is text (reviewable,
diffable, small) and is executed into a fresh DuckDB file by :func:`build`.

When you bump ``SCHEMA_VERSION`` to N (adding ``MIGRATIONS[N]``):

1. Keep every existing ``v<k>.sql`` untouched: they are the old databases.
2. Build a tiny knowledge base with the new code (as :func:`tiny_kb` does) and
   write ``data/v<N>.sql`` with ``python -m tests.store.frozen data/v<N>.sql``
   run from the repository root.
3. ``test_frozen_versions.py`` then migrates every older file to N and checks
   that nothing was lost; give it the expectations of your migration.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path
from typing import Any

import duckdb

from metakb.sources.published import import_published
from metakb.store import SCHEMA_VERSION, MetaFeatures, Store, put_meta_features, transaction
from tests.conftest import write_tiny_data

DATA = Path(__file__).resolve().parent / "data"
HEADER = "-- metakb knowledge base, schema version {version}, frozen for the upgrade tests.\n"


def frozen_files() -> dict[int, Path]:
    """Return schema version -> its frozen SQL file."""
    return {int(p.stem[1:]): p for p in sorted(DATA.glob("v*.sql"))}


def build(sql: Path, db: Path) -> Path:
    """Execute a frozen SQL file into a new DuckDB file and return its path."""
    with duckdb.connect(str(db)) as con:
        con.execute(sql.read_text(encoding="utf-8"))
    return db


def _literal(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    return "'" + str(value).replace("'", "''") + "'"


def dump(con: duckdb.DuckDBPyConnection) -> str:
    """Return the schema and rows of an open knowledge base as a SQL script."""
    version = con.execute("SELECT max(version) FROM schema_version").fetchall()[0][0]
    lines = [HEADER.format(version=version)]
    tables = con.execute(
        "SELECT table_name, sql FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY table_oid"
    ).fetchall()
    for _, create in tables:
        lines.append(create)
    for (create,) in con.execute(
        "SELECT sql FROM duckdb_indexes() WHERE sql IS NOT NULL ORDER BY index_oid"
    ).fetchall():
        lines.append(create)
    for name, _ in tables:
        cur = con.execute(f"SELECT * FROM {name} ORDER BY ALL")  # names from duckdb_tables()
        columns = ", ".join(d[0] for d in cur.description)
        for row in cur.fetchall():
            values = ", ".join(_literal(v) for v in row)
            lines.append(f"INSERT INTO {name} ({columns}) VALUES ({values});")
    return "\n".join(lines) + "\n"


def tiny_kb(path: Path) -> Store:
    """Write a tiny knowledge base touching every table (the content of ``v1.sql``)."""
    data = write_tiny_data(path.parent / "frozen_data")
    store = Store(path)
    import_published(store, data, sources=("openml100_sklearn_hpo_runs", "tabrepo_lightgbm_2022"))
    local = MetaFeatures(
        dataset_id="local:abc",
        name=["NumberOfInstances", "kNN1NErrRate"],
        value=[3.0, None],
        family=["simple", "landmarking"],
        computed_by="metakb",
        version="1",
        reason=[None, "needs at least two classes"],
    )
    with store.write() as con, transaction(con):
        put_meta_features(con, local)
        # Fixed timestamps keep the frozen file stable when it is regenerated.
        con.execute("UPDATE schema_version SET applied_at = TIMESTAMP '2026-01-01 00:00:00'")
        for table in ("datasets", "tasks", "flows", "configs", "evaluations", "meta_features"):
            con.execute(f"UPDATE {table} SET created_at = TIMESTAMP '2026-01-01 00:00:00'")
        # ... as do a fixed data folder and no file hashes (gzip stores a modification time).
        con.execute(
            "UPDATE ingest_runs SET started_at = TIMESTAMP '2026-01-01 00:00:00', "
            "updated_at = TIMESTAMP '2026-01-01 00:00:00', "
            "selection = regexp_replace(replace(selection, ?, '/data'), "
            "', \"sha256\": \"[0-9a-f]+\"', '')",
            [str(data)],
        )
    return store


if __name__ == "__main__":
    import tempfile

    target = Path(sys.argv[1])
    with tempfile.TemporaryDirectory() as tmp:
        store = tiny_kb(Path(tmp) / "kb.duckdb")
        with store.read() as con:
            text = dump(con)
    if f"schema version {SCHEMA_VERSION}," not in text:
        raise SystemExit(f"expected a knowledge base at schema version {SCHEMA_VERSION}")
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target} ({len(text)} characters)")
