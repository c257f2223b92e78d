"""Frozen knowledge bases of every schema version open, read and upgrade with today's code.

The frozen databases are SQL text in ``tests/store/data/v<N>.sql`` (see
``tests/store/frozen.py`` for how they are made and what to do when the schema
version is bumped). Version 2 added the per-fold columns of ``evaluations``:
``v1.sql`` proves that a knowledge base written earlier is refused for reading with a pointer to
``metakb migrate``, upgrades without losing a row, reads, and takes new imports
without duplicating anything.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from metakb.cli import main
from metakb.sources.published import import_published
from metakb.store import SCHEMA_VERSION, Store, get_stats, get_task, schema_version
from tests.store.frozen import HEADER, build, dump, frozen_files

FROZEN = frozen_files()
# What v1.sql holds (the tiny published data's OpenML100 and TabRepo parts, plus
# two locally computed meta-features).
V1_COUNTS = {
    "tasks": 3,
    "datasets": 3,
    "flows": 4,
    "configs": 11,
    "evaluations": 27,
    "meta_features": 25,
}


def _dump(db: Path) -> str:
    with duckdb.connect(str(db), read_only=True) as con:
        return dump(con)


def _schema(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("CREATE ")]


def _rows(text: str) -> set[str]:
    return {line for line in text.splitlines() if line.startswith("INSERT INTO ")}


@pytest.mark.parametrize("version", sorted(FROZEN))
def test_every_frozen_version_upgrades_without_losing_rows(tmp_path: Path, version: int) -> None:
    db = build(FROZEN[version], tmp_path / f"v{version}.duckdb")
    before = _dump(db)
    assert Store(db).upgrade() == version
    after = _dump(db)
    with duckdb.connect(str(db), read_only=True) as con:
        assert schema_version(con) == SCHEMA_VERSION
    if version == SCHEMA_VERSION:
        assert after == before  # migrate is a no-op on a current knowledge base
    else:
        # A migration may add tables, columns and rows, but every old row must survive;
        # a migration that rewrites rows states its own expectations in a test of its own.
        old_tables = {line.split()[2] for line in _rows(before)}
        for table in old_tables:
            assert _count(after, table) >= _count(before, table), table


def _count(text: str, table: str) -> int:
    return sum(1 for line in _rows(text) if line.split()[2] == table)


def test_v1_is_refused_for_reading_until_migrated_then_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = build(FROZEN[1], tmp_path / "v1.duckdb")
    assert main(["stats", "--json", "--db", str(db)]) != 0
    assert "run `metakb migrate`" in capsys.readouterr().err
    assert main(["migrate", "--db", str(db)]) == 0
    assert f"schema version 1 -> {SCHEMA_VERSION}" in capsys.readouterr().out
    code = main(["stats", "--json", "--db", str(db)])
    stats = json.loads(capsys.readouterr().out)
    assert code == 0 and {k: stats[k] for k in V1_COUNTS} == V1_COUNTS
    with Store(db).read() as con:
        task = get_task(con, "3")
        # Version 2's per-fold columns exist and are empty on the old rows.
        folds = con.execute(
            "SELECT count(*) FROM evaluations WHERE fold_values IS NOT NULL OR error IS NOT NULL"
        ).fetchall()
    assert task is not None and task["task"]["name"] == "kr-vs-kp"
    assert max(r["value"] for r in task["best"] if r["flow_id"] == "openml:6969") == 0.99
    assert folds == [(0,)]
    before = _dump(db)
    assert main(["migrate", "--db", str(db)]) == 0
    assert _dump(db) == before  # a second migrate changes nothing


def test_v1_takes_new_imports_without_duplicates(tmp_path: Path, tiny_data: Path) -> None:
    # Importing the same data again adds only what v1.sql lacks (the PMLB part): the
    # natural keys (config ids, task and dataset keys) are the same as when it was written.
    db = build(FROZEN[1], tmp_path / "v1.duckdb")
    summary = import_published(Store(db), tiny_data)
    added = summary.added()
    assert added.get("evaluations", 0) == 0 and added.get("configs", 0) == 0
    assert added.get("tasks", 0) == 0 and added["datasets"] == 1  # pmlb:tiny_new
    with Store(db).read() as con:
        assert get_stats(con)["evaluations"] == V1_COUNTS["evaluations"]


def test_newest_frozen_file_is_the_current_schema(tmp_path: Path) -> None:
    newest = max(FROZEN)
    assert newest == SCHEMA_VERSION, (
        f"SCHEMA_VERSION is {SCHEMA_VERSION} but the newest frozen knowledge base is "
        f"v{newest}.sql: add tests/store/data/v{SCHEMA_VERSION}.sql "
        f"(python -m tests.store.frozen tests/store/data/v{SCHEMA_VERSION}.sql)"
    )
    text = FROZEN[newest].read_text(encoding="utf-8")
    assert text.startswith(HEADER.format(version=newest))
    # The schema the code creates today is the frozen one: a change to it without a
    # new version (and migration) would strand every existing knowledge base.
    with Store(tmp_path / "fresh.duckdb").write():
        pass
    assert _schema(_dump(tmp_path / "fresh.duckdb")) == _schema(text)
