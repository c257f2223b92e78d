"""Injection strings in data, filters and arguments stay values; the app stays on this machine.

Every SQL statement in ``metakb/store/`` takes values as parameters; the only
identifiers spliced into SQL are table and column names that come from code
constants or from the schema itself (``upsert`` checks column names against
``information_schema``). These tests push SQL through every door a user has.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from metakb import appserver
from metakb.cli import main
from metakb.sources.published import import_published
from metakb.store import TABLES, Store, get_stats, upsert
from tests.conftest import TINY_COUNTS, write_tiny_data

DROP_TASKS = "x'); DROP TABLE tasks; --"
DROP_DATASETS = 'y"); DROP TABLE datasets; --'
ALWAYS_TRUE = "3' OR '1'='1"


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


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["tasks", "--flow", DROP_TASKS], "no flow"),
        (["tasks", "--flow", "x' OR '1'='1"], "no flow"),  # must not match every flow
        (["tasks", "--flow", "6969 OR 1=1"], "no flow"),
        (["show", "task", ALWAYS_TRUE], "no task"),
        (["show", "task", DROP_TASKS], "no task"),  # a name is not a task key
        (["show", "task", "openml:3'; --"], "no task"),
    ],
)
def test_injection_strings_in_filters_are_values(
    hostile_kb: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    before = _counts(hostile_kb)
    code, _, err = _run(capsys, *argv, "--db", str(hostile_kb))
    assert code == 1
    assert message in err and len(err.strip().splitlines()) == 1
    assert _counts(hostile_kb) == before


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

    def fake_serve(store: Store, port: int = 8501, host: str = "127.0.0.1") -> int:
        seen.append((port, host))
        return 0

    monkeypatch.setattr(appserver, "serve", fake_serve)
    assert main(["app", "--db", str(tmp_path / "kb.duckdb")]) == 0
    assert seen == [(8501, "127.0.0.1")]
    assert "http://127.0.0.1:8501" in capsys.readouterr().out
