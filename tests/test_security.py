"""Injection strings in data, filters and arguments stay values; the app stays on this machine.

Every SQL statement in ``metakb/store/`` takes values as parameters; the only
identifiers spliced into SQL are table and column names that come from code
constants or from the schema itself (``upsert`` checks column names against
``information_schema``). These tests push SQL through every door a user has.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from metakb import appserver
from metakb.cli import main
from metakb.datasets import file_hash
from metakb.kb import Layout, train
from metakb.kb._artifacts import (
    ARTIFACT_VERSION,
    MANIFEST_FILE,
    MODEL_FILE,
    PENDING_MODEL_FILE,
)
from metakb.sources.published import import_published
from metakb.store import TABLES, Store, get_stats
from metakb.store._write import upsert  # the generic writer the typed ones go through
from tests.conftest import TINY_COUNTS, write_tiny_data

DROP_TASKS = "x'); DROP TABLE tasks; --"
DROP_DATASETS = 'y"); DROP TABLE datasets; --'
ALWAYS_TRUE = "3' OR '1'='1"
FEW = ["--min-configs", "2"]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def hostile_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny published data with injection strings as task and dataset names.

    Shared by the module's tests, none of which may change it (each checks that).
    """
    tmp_path = tmp_path_factory.mktemp("hostile")
    data = write_tiny_data(tmp_path / "data")
    tasks = data / "openml100_sklearn_hpo_runs" / "tasks.csv"
    tasks.write_text(tasks.read_text().replace("kr-vs-kp", DROP_TASKS))
    metadata = data / "tabrepo_lightgbm_2022" / "task_metadata.csv"
    # Quoted: the name holds a comma-free double quote that CSV must escape.
    quoted = '"' + DROP_DATASETS.replace('"', '""') + '"'
    metadata.write_text(metadata.read_text().replace("cpu_act", quoted))
    # A weird path too: quotes and a semicolon in the knowledge base's file name.
    db = tmp_path / "kb'; DROP TABLE flows; --.duckdb"
    import_published(Store(db), data)
    return db


def test_injection_strings_in_task_names_are_stored_verbatim(
    hostile_kb: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "stats", "--json", "--db", str(hostile_kb))
    assert code == 0
    stats = json.loads(out)
    assert {k: stats[k] for k in TINY_COUNTS} == TINY_COUNTS
    with Store(hostile_kb).read() as con:
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
    assert set(TABLES) <= tables
    code, out, _ = _run(capsys, "tasks", "--json", "--db", str(hostile_kb))
    names = {t["task_id"]: t["name"] for t in json.loads(out)}
    assert names["openml:3"] == DROP_TASKS
    assert names["openml:2280"] == DROP_DATASETS
    code, out, _ = _run(capsys, "show", "task", "3", "--json", "--db", str(hostile_kb))
    assert code == 0 and json.loads(out)["task"]["name"] == DROP_TASKS
    code, out, _ = _run(capsys, "show", "task", DROP_TASKS, "--json", "--db", str(hostile_kb))
    assert code == 0 and json.loads(out)["task"]["task_id"] == "openml:3"  # by its name


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tasks", "--flow", DROP_TASKS], "no flow"),
        (["tasks", "--flow", "x' OR '1'='1"], "no flow"),  # must not match every flow
        (["tasks", "--flow", "6969 OR 1=1"], "no flow"),
        (["show", "task", ALWAYS_TRUE], "no task"),
        # A task's whole name names it (below); a piece of it, or a LIKE pattern, names none.
        (["show", "task", DROP_TASKS[:-3]], "no task"),
        (["show", "task", "%"], "no task"),
        (["show", "task", "_penml:3"], "no task"),
        (["show", "task", "openml:3'; --"], "no task"),
        (["recommend", "--task", ALWAYS_TRUE, "-a", "random_forest", *FEW], "no task"),
        (["recommend", "--task", DROP_TASKS + "%", "-a", "random_forest", *FEW], "no task"),
        (["recommend", "--task", "3", "-a", DROP_TASKS, *FEW], "unknown algorithm"),
        (["recommend", "--task", "3", "--method", DROP_TASKS, *FEW], "unknown method"),
        (["recommend", "TABLE", "--target", DROP_TASKS], "no target column"),
        (["train", "-a", DROP_TASKS, *FEW], "unknown algorithm"),
        (["train", "-m", "x' OR '1'='1", *FEW], "unknown method"),
        (["search", "TABLE", "--target", DROP_TASKS], "no target column"),
        (["search", "TABLE", "-a", DROP_TASKS], "unknown algorithm"),
        (["search", "TABLE", "--method", ALWAYS_TRUE], "unknown method"),
        (["search", "TABLE", "--warm-start", DROP_DATASETS], "unknown warm start"),
        (["search", "TABLE", "--dask", "local:1; rm -rf ~"], "--dask"),
    ],
)
def test_injection_strings_in_filters_are_values(
    hostile_kb: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    table = tmp_path / "t.csv"
    table.write_text("a,target\n" + "".join(f"{i},{i % 2}\n" for i in range(10)))
    before = _counts(hostile_kb)
    argv = [str(table) if a == "TABLE" else a for a in argv]
    code, _, err = _run(capsys, *argv, "--db", str(hostile_kb))
    assert code == (2 if message.startswith("unknown") else 1)  # an unknown name: usage error
    assert message in err and len(err.strip().splitlines()) == 1
    assert _counts(hostile_kb) == before
    assert sorted(p.name for p in hostile_kb.parent.iterdir()) == sorted([hostile_kb.name, "data"])


def test_injection_strings_as_column_names_are_searched_and_stored_verbatim(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "t.csv"
    rows = "".join(f"{i % 5},{i % 2}\n" for i in range(20))
    table.write_text(f'"{DROP_DATASETS.replace(chr(34), 2 * chr(34))}",{DROP_TASKS}\n{rows}')
    db = tmp_path / "kb.duckdb"
    argv = ["search", str(table), "--target", DROP_TASKS, "--budget", "1", "--method", "random"]
    code, out, err = _run(
        capsys, *argv, "--warm-start", "none", "--folds", "2", "--json", "--db", str(db)
    )
    assert code == 0, err
    assert json.loads(out)["trials"][0]["status"] == "ok"
    with Store(db).read() as con:
        assert con.execute("SELECT target FROM tasks").fetchall() == [(DROP_TASKS,)]
        assert con.execute("SELECT count(*) FROM evaluations").fetchall() == [(1,)]


def test_injection_strings_as_upsert_identifiers_are_refused(hostile_kb: Path) -> None:
    before = _counts(hostile_kb)
    with Store(hostile_kb).write() as con:
        with pytest.raises(ValueError, match="no upsert"):
            upsert(con, "tasks; DROP TABLE flows", pd.DataFrame({"task_id": ["t"]}))
        hostile_column = pd.DataFrame(
            {"task_id": ["t"], "source": ["s"], "name) SELECT 1; DROP TABLE tasks; --": [1]}
        )
        with pytest.raises(ValueError, match="no column"):
            upsert(con, "tasks", hostile_column)
    assert _counts(hostile_kb) == before


def test_injection_string_as_a_target_is_only_a_missing_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,target\n1,0\n2,1\n")
    code, _, err = _run(capsys, "featurize", str(path), "--target", DROP_TASKS)
    assert code == 1 and "no target column" in err and len(err.strip().splitlines()) == 1


def _counts(db: Path) -> dict[str, int]:
    with Store(db).read() as con:
        stats = get_stats(con)
    return {k: v for k, v in stats.items() if isinstance(v, int)}


def test_app_binds_to_loopback_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    command = appserver.app_command(8501)
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    seen: list[tuple[int, str]] = []

    def fake_serve(db: Path, port: int = 8501, host: str = "127.0.0.1") -> int:
        seen.append((port, host))
        return 0

    monkeypatch.setattr(appserver, "serve", fake_serve)
    assert main(["app", "--db", str(tmp_path / "kb.duckdb")]) == 0
    assert seen == [(8501, "127.0.0.1")]
    assert "http://127.0.0.1:8501" in capsys.readouterr().out


# --- model artifacts: only what metakb wrote is unpickled ----------------------------


class _Payload:
    """Unpickling this runs ``open(marker, "w")``: proof that a file was unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return open, (str(self.marker), "w")


def _foreign_pickle(folder: Path, marker: Path) -> None:
    (folder / MODEL_FILE).write_bytes(pickle.dumps(_Payload(marker)))


def _foreign_pending_pickle(folder: Path, marker: Path) -> None:
    # Where save_model keeps a new pickle until its manifest is committed.
    (folder / MODEL_FILE).write_bytes(b"truncated")
    (folder / PENDING_MODEL_FILE).write_bytes(pickle.dumps(_Payload(marker)))


def _manifest(folder: Path, **changes: Any) -> None:
    raw = json.loads((folder / MANIFEST_FILE).read_text())
    (folder / MANIFEST_FILE).write_text(json.dumps({**raw, **changes}))


def _unknown_version(folder: Path, marker: Path) -> None:
    _manifest(folder, artifact_version=999)


def _not_a_manifest(folder: Path, marker: Path) -> None:
    (folder / MANIFEST_FILE).write_text('["artifact_version", 1]')


def _stale_classes(folder: Path, marker: Path) -> None:
    # Hash and manifest match, as after an upgrade of metakb that renamed a model class.
    (folder / MODEL_FILE).write_bytes(b"cmetakb.models\nNoSuchModel\n)R.")
    _manifest(folder, sha256=file_hash(folder / MODEL_FILE))


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (_foreign_pickle, "does not match the hash in its manifest; refusing to load it"),
        (_foreign_pending_pickle, "does not match the hash in its manifest; refusing to load it"),
        (
            _unknown_version,
            f"is artifact version 999, this metakb reads version {ARTIFACT_VERSION}",
        ),
        (_not_a_manifest, "is not a metakb manifest"),
        (_stale_classes, "cannot load"),
    ],
)
def test_tampered_artifacts_are_refused_in_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    tamper: Callable[[Path, Path], None],
    message: str,
) -> None:
    store = Store(tmp_path / "kb" / "kb.duckdb")
    import_published(store, write_tiny_data(tmp_path / "data"))
    train(store.path, ["random_forest"], ["knn"], min_configs=2)
    marker = tmp_path / "pwned"
    tamper(Layout(store.path).artifact("random_forest", "knn", "classification"), marker)
    features = tmp_path / "mf.json"
    features.write_text(json.dumps({"NumberOfInstances": 500}))
    argv = ["recommend", "--meta-features", str(features), "-a", "random_forest", "--method"]
    code, out, err = _run(capsys, *argv, "knn", "--db", str(store.path))
    assert code == 1 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1, err
    assert not marker.exists()


def test_search_says_it_refused_a_tampered_artifact(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(tmp_path / "kb" / "kb.duckdb")
    import_published(store, write_tiny_data(tmp_path / "data"))
    train(store.path, ["random_forest"], ["knn"], min_configs=2)
    before = _counts(store.path)
    marker = tmp_path / "pwned"
    _foreign_pickle(Layout(store.path).artifact("random_forest", "knn", "classification"), marker)
    table = tmp_path / "t.csv"
    table.write_text("a,target\n" + "".join(f"{i % 5},{i % 2}\n" for i in range(20)))
    argv = ["search", str(table), "-a", "random_forest", "--budget", "1", "--method", "random"]
    argv += ["--folds", "2"]
    code, out, err = _run(capsys, *argv, "--warm-start", "knn", "--db", str(store.path))
    # The tiny knowledge base is too thin to fit a model instead (with enough runs the
    # search goes on with one, and says why in a note: tests/test_searching.py).
    assert code == 1 and out == ""
    assert "does not match the hash in its manifest; refusing to load it" in err
    assert "none can be fitted instead" in err and len(err.strip().splitlines()) == 1
    assert not marker.exists()
    assert _counts(store.path) == before
