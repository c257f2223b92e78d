import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from metakb.datasets import file_hash
from metakb.errors import (
    MetakbError,
    SchemaVersionError,
    StoreError,
    StoreLockedError,
    StoreNotFoundError,
)
from metakb.sources.published import import_published
from metakb.store import (
    SCHEMA_VERSION,
    TABLES,
    Store,
    find_table_datasets,
    find_task,
    get_ingest_run,
    migrate,
    record_ingest_run,
    schema_version,
    transaction,
)
from metakb.store._write import upsert  # the generic writer the typed ones go through


def test_write_creates_every_table_at_the_current_version(store: Store) -> None:
    with store.write() as con:
        names = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        assert set(TABLES) <= names
        assert schema_version(con) == SCHEMA_VERSION
        directions = dict(con.execute("SELECT metric, direction FROM metrics").fetchall())
    assert directions["predictive_accuracy"] == "max"
    assert directions["metric_error"] == "min"
    # Opening again neither re-runs the migration nor duplicates its record.
    with store.write() as con:
        # One row per version applied.
        rows = con.execute("SELECT count(*) FROM schema_version").fetchall()
        assert rows == [(SCHEMA_VERSION,)]


def test_reading_a_missing_file_says_how_to_build_one(store: Store) -> None:
    with pytest.raises(StoreNotFoundError, match="metakb quickstart"), store.read():
        pass


def test_newer_schema_is_refused(store: Store) -> None:
    with store.write() as con:
        con.execute("INSERT INTO schema_version (version) VALUES (?)", [SCHEMA_VERSION + 1])
    with pytest.raises(SchemaVersionError, match="newer"), store.read():
        pass
    with pytest.raises(SchemaVersionError, match="newer"), store.write():
        pass


def test_foreign_duckdb_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE unrelated (x INTEGER)")
    with pytest.raises(SchemaVersionError, match="not a metakb"), Store(path).write():
        pass


def test_garbage_file_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.duckdb"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open"), Store(path).read():
        pass


def test_migrations_run_in_order_and_roll_back_a_failed_step(tmp_path: Path) -> None:
    steps = {
        1: [
            "CREATE TABLE schema_version (version INTEGER, applied_at TIMESTAMP DEFAULT now())",
            "CREATE TABLE metrics (metric VARCHAR PRIMARY KEY, direction VARCHAR, "
            "description VARCHAR)",
        ],
        2: ["CREATE TABLE extra (x INTEGER)"],
        3: ["CREATE TABLE more (y INTEGER)", "THIS IS NOT SQL"],
    }
    with duckdb.connect(str(tmp_path / "m.duckdb")) as con:
        assert migrate(con, migrations=steps, target=2) == 0
        assert schema_version(con) == 2
        with pytest.raises(duckdb.Error):
            migrate(con, migrations=steps, target=3)
        assert schema_version(con) == 2
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        assert "extra" in tables and "more" not in tables


def test_upsert_skips_known_keys_and_fills_empty_columns(store: Store) -> None:
    with store.write() as con:
        first = pd.DataFrame(
            {"dataset_id": ["openml:3", "pmlb:x"], "name": [None, "x"], "source": ["a", "a"]}
        )
        assert upsert(con, "datasets", first) == 2
        again = pd.DataFrame(
            {
                "dataset_id": ["openml:3", "pmlb:x", "openml:3"],
                "name": ["kr-vs-kp", "renamed", "dup"],
                "source": ["b", "b", "b"],
            }
        )
        assert upsert(con, "datasets", again) == 0
        rows = dict(con.execute("SELECT dataset_id, name FROM datasets").fetchall())
    # An empty name is filled in; a stored one is never overwritten.
    assert rows == {"openml:3": "kr-vs-kp", "pmlb:x": "x"}


def test_upsert_refuses_unknown_tables_and_columns(store: Store) -> None:
    with store.write() as con:
        with pytest.raises(ValueError, match="no upsert"):
            upsert(con, "schema_version", pd.DataFrame({"version": [9]}))
        with pytest.raises(ValueError, match="no column"):
            upsert(con, "flows", pd.DataFrame({"flow_id": ["f"], "bogus": [1]}))
        with pytest.raises(ValueError, match="key"):
            upsert(con, "evaluations", pd.DataFrame({"task_id": ["t"], "value": [1.0]}))


def test_transaction_rolls_back_everything(store: Store) -> None:
    with store.write() as con:
        with pytest.raises(RuntimeError), transaction(con):
            upsert(
                con,
                "flows",
                pd.DataFrame(
                    {"flow_id": ["f"], "name": ["n"], "algorithm": ["a"], "source": ["s"]}
                ),
            )
            raise RuntimeError("boom")
        assert con.execute("SELECT count(*) FROM flows").fetchall() == [(0,)]


def test_ingest_run_checkpoint_accumulates(store: Store) -> None:
    with store.write() as con:
        record_ingest_run(
            con,
            "r1",
            source="openml",
            status="running",
            cursor="page:1",
            rows_added=10,
            selection={"task": [3]},
        )
        record_ingest_run(con, "r1", source="openml", status="done", rows_added=5)
        run = get_ingest_run(con, "r1")
        assert get_ingest_run(con, "nope") is None
    assert run is not None
    assert (run["status"], run["cursor"], run["rows_added"]) == ("done", "page:1", 15)


def test_second_process_gets_a_one_line_busy_message(store: Store, tmp_path: Path) -> None:
    with store.write():
        pass
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(store.path)!r})
            print("locked", flush=True)
            sys.stdin.readline()
        """),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        for opener in (store.read, store.write):
            with pytest.raises(StoreLockedError) as info, opener():
                pass
            message = str(info.value)
            assert "busy" in message and "\n" not in message
            assert f"PID {holder.pid}" in message
    finally:
        holder.communicate("\n", timeout=30)
    with store.read() as con:  # released: readable again
        assert schema_version(con) == SCHEMA_VERSION


def test_evaluation_key_is_enforced_without_an_index(store: Store) -> None:
    rows = pd.DataFrame(
        {
            "task_id": ["t", "t", "t"],
            "config_id": ["a", "a", "b"],
            "metric": ["m"] * 3,
            "value": [0.1, 0.2, 0.3],
            "source": ["s"] * 3,
            "provenance": ["p"] * 3,
        }
    )
    with store.write() as con:
        # The duplicate key inside one batch is stored once; a second batch adds nothing.
        assert upsert(con, "evaluations", rows) == 2
        assert upsert(con, "evaluations", rows) == 0
        # Another fidelity of the same configuration is a new evaluation.
        assert upsert(con, "evaluations", rows.head(1).assign(fidelity=0.5)) == 1
        assert upsert(con, "evaluations", rows.head(1).assign(fidelity=1.0)) == 0


def test_find_task_takes_keys_openml_ids_names_and_unique_prefixes(
    sweep_store: Store, tiny_data: Path
) -> None:
    import_published(sweep_store, tiny_data)
    with sweep_store.read() as con:
        local = find_task(con, "pmlb_tiny_0")
        assert local is not None and local.startswith("local:")
        assert find_task(con, local) == local
        assert find_task(con, local[:10]) == local == find_task(con, local[6:12])
        assert find_task(con, "3") == "openml:3" == find_task(con, "openml:3")
        assert find_task(con, "openml:22") == "openml:2280"  # a prefix, not OpenML task 22
        assert find_task(con, "KR-VS-KP") == "openml:3"  # its dataset's name
        assert find_task(con, "nope") is None and find_task(con, " ") is None
        with pytest.raises(MetakbError, match=r"'openml:' is a prefix of several tasks"):
            find_task(con, "openml:")


def test_a_table_matches_the_datasets_it_is_a_copy_of(store: Store, tiny_data: Path) -> None:
    import_published(store, tiny_data)
    copy = tiny_data / "pmlb_datasets" / "datasets" / "kr-vs-kp.tsv.gz"
    with store.read() as con:
        same_file = find_table_datasets(
            con, content_hash=file_hash(copy), name="mine", n_rows=[1], n_features=1
        )
        assert [(m["dataset_id"], m["how"], m["task_ids"]) for m in same_file] == [
            ("openml:3", "same file", ["openml:3"])
        ]
        # OpenML's kr-vs-kp: 3,196 rows and 36 features besides the target.
        shape = {"content_hash": "0" * 64, "name": "KR-vs-KP", "n_rows": [3196, 3200]}
        named = find_table_datasets(con, **shape, n_features=36)
        assert [(m["dataset_id"], m["how"]) for m in named] == [("openml:3", "same name and shape")]
        assert find_table_datasets(con, **shape, n_features=35) == []


def test_patient_store_says_once_that_it_waits(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with store.write():
        pass
    patient = store.patient(wait_s=1.5)
    assert (patient.path, patient.wait_s, patient.notice_after_s) == (store.path, 1.5, 0.5)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; con = duckdb.connect({str(store.path)!r}); "
         "print('locked', flush=True); sys.stdin.readline()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with caplog.at_level(logging.WARNING, "metakb.store"):
            with pytest.raises(StoreLockedError), store.read():
                pass
            assert not caplog.records  # the usual retries wait silently
            with pytest.raises(StoreLockedError, match="busy"), patient.write():
                pass
        (notice,) = caplog.records  # one line, not one per retry
        assert "waiting for the knowledge base" in notice.getMessage()
        assert f"PID {holder.pid}" in notice.getMessage()
    finally:
        holder.communicate("\n", timeout=30)
    with patient.write() as con:  # free again: no wait, no notice
        assert schema_version(con) == SCHEMA_VERSION
    assert len(caplog.records) == 1
