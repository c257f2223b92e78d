import json
import re
from pathlib import Path

import pytest

from metakb import cli
from metakb.cli import main
from metakb.sources.shipped import export_metadataset
from metakb.store import Store
from tests.conftest import TINY_COUNTS


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "kb.duckdb")


def test_ingest_then_stats_json(
    capsys: pytest.CaptureFixture[str], tiny_data: Path, db: str
) -> None:
    code, out, _ = _run(capsys, "ingest", "published", str(tiny_data), "--db", db)
    assert code == 0 and "added" in out
    code, out, _ = _run(capsys, "stats", "--json", "--db", db)
    assert code == 0
    stats = json.loads(out)
    for key, expected in TINY_COUNTS.items():
        assert stats[key] == expected
    for key in ("configs", "meta_features"):
        assert isinstance(stats[key], int)
    rows = {(r["source"], r["flow_id"], r["metric"]): r for r in stats["by_flow"]}
    rf = rows[("openml100_sklearn_hpo_runs", "openml:6969", "predictive_accuracy")]
    assert (rf["openml_flow_id"], rf["evaluations"], rf["tasks"]) == (6969, 6, 2)
    lgb = rows[("tabrepo_lightgbm_2022", "tabrepo:lightgbm", "metric_error")]
    assert lgb["openml_flow_id"] is None and lgb["flow"]
    # The second run reports that nothing was new.
    code, out, _ = _run(capsys, "ingest", "published", str(tiny_data), "--db", db)
    assert code == 0 and "nothing new" in out


def test_ingest_json_and_source_selection(
    capsys: pytest.CaptureFixture[str], tiny_data: Path, db: str
) -> None:
    code, out, _ = _run(
        capsys,
        "ingest",
        "published",
        str(tiny_data),
        "--source",
        "pmlb_datasets",
        "--json",
        "--db",
        db,
    )
    assert code == 0
    result = json.loads(out)
    assert result["added"]["datasets"] == 2 and len(result["files"]) == 1


def test_ingest_without_a_data_folder_imports_the_shipped_meta_dataset(
    capsys: pytest.CaptureFixture[str],
    sweep_store: Store,
    tmp_path: Path,
    db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "metadataset"
    export_metadataset(sweep_store, folder)
    monkeypatch.setenv("METAKB_METADATASET", str(folder))
    monkeypatch.delenv("METAKB_DATA", raising=False)
    code, out, _ = _run(capsys, "ingest", "published", "--db", db)
    assert code == 0 and "metadataset/evaluations.parquet" in out and "72 evaluations" in out
    code, out, _ = _run(capsys, "ingest", "published", "--db", db)
    assert code == 0 and "nothing new" in out


def test_tasks_and_show_task(capsys: pytest.CaptureFixture[str], tiny_data: Path, db: str) -> None:
    _run(capsys, "ingest", "published", str(tiny_data), "--db", db)
    code, out, _ = _run(capsys, "tasks", "--flow", "adaboost", "--json", "--db", db)
    assert code == 0
    assert sorted(t["openml_task_id"] for t in json.loads(out)) == [3, 6]
    code, out, _ = _run(capsys, "tasks", "--flow", "tabrepo:lightgbm", "--db", db)
    assert code == 0 and "2 tasks" in out
    code, out, _ = _run(capsys, "show", "task", "3", "--json", "--db", db)
    shown = json.loads(out)
    assert code == 0 and shown["task"]["task_id"] == "openml:3"
    best: dict[tuple[str, str], float] = {}
    for row in shown["best"]:  # best first within each flow and metric
        best.setdefault((row["flow_id"], row["metric"]), row["value"])
    assert best[("openml:6969", "predictive_accuracy")] == 0.99
    assert best[("tabrepo:lightgbm", "metric_error")] == 0.01  # lower is better
    code, out, _ = _run(capsys, "show", "task", "openml:3", "--db", db)
    assert code == 0 and "kr-vs-kp" in out and "Best configurations" in out


def test_tasks_are_named_by_unique_prefixes_and_names_and_listed_whole(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    sweep_store: Store,
) -> None:
    db = str(sweep_store.path)
    monkeypatch.setattr(cli.out, "width", 60)  # a narrow terminal squeezes every column
    code, out, _ = _run(capsys, "tasks", "--db", db)
    listed = json.loads(_run(capsys, "tasks", "--json", "--db", db)[1])
    # Each key whole, never cut with an ellipsis.
    assert code == 0 and set(re.findall(r"local:\S+", out)) == {t["task_id"] for t in listed}
    (key,) = [t["task_id"] for t in listed if t["name"] == "pmlb_tiny_0"]
    for ref in (key, key[:12], key.removeprefix("local:")[:6], "pmlb_tiny_0"):
        code, out, err = _run(capsys, "show", "task", ref, "--json", "--db", db)
        found = json.loads(out)["task"] if code == 0 else err
        assert code == 0 and found["name"] == "pmlb_tiny_0", (ref, found)
    code, _, err = _run(capsys, "show", "task", "local:", "--db", db)
    assert code == 1 and "'local:' is a prefix of several tasks (local:" in err
    args = ["recommend", "--task", "PMLB_TINY_1", "-a", "random_forest", "--json", "--db", db]
    code, out, err = _run(capsys, *args, "--method", "knn", "--min-configs", "2", "-k", "1")
    assert code == 0, err
    assert json.loads(out)["recommendations"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["stats"], "no knowledge base"),
        (["ingest", "published", "/nonexistent/folder"], "does not exist"),
        (["show", "task", "999"], "no task"),
        (["tasks", "--flow", "'; DROP TABLE tasks; --"], "no flow"),
    ],
)
def test_errors_are_one_line_with_nonzero_exit(
    capsys: pytest.CaptureFixture[str], db: str, tiny_data: Path, argv: list[str], message: str
) -> None:
    if argv[0] in ("show", "tasks"):
        _run(capsys, "ingest", "published", str(tiny_data), "--db", db)
    code, out, err = _run(capsys, *argv, "--db", db)
    assert code == 1
    assert message in err and len(err.strip().splitlines()) == 1
    if argv[0] == "tasks":  # the injection string was only a value
        code, out, _ = _run(capsys, "stats", "--json", "--db", db)
        assert json.loads(out)["tasks"] == TINY_COUNTS["tasks"]


def test_usage_error_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "task"]) == 2
    assert main(["no-such-command"]) == 2


def test_quickstart_builds_and_summarizes(
    capsys: pytest.CaptureFixture[str], tiny_data: Path, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METAKB_DATA", str(tiny_data))
    code, out, _ = _run(capsys, "quickstart", "--offline", "--no-search", "--db", db)
    assert code == 0 and "source: published" in out and "Evaluations by flow" in out
    monkeypatch.delenv("METAKB_DATA")
    code, _, err = _run(capsys, "quickstart", "--offline", "--no-local", "--db", db + ".other")
    assert code == 1 and "METAKB_DATA" in err


def test_migrate_command(capsys: pytest.CaptureFixture[str], tiny_data: Path, db: str) -> None:
    code, _, err = _run(capsys, "migrate", "--db", db)
    assert code == 1 and "no knowledge base" in err
    _run(capsys, "ingest", "published", str(tiny_data), "--db", db)
    code, out, _ = _run(capsys, "migrate", "--db", db)
    assert code == 0 and "schema version 2 -> 2" in out


def test_help_lists_the_registries_and_their_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    from metakb.models import DEFAULT_WARM_STARTER, WARM_STARTERS
    from metakb.search import DEFAULT_OPTIMIZER, OPTIMIZERS
    from metakb.spaces import ALGORITHMS, DEFAULT_ALGORITHM

    assert main(["search", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.replace("│", " ").split())
    for name in (*ALGORITHMS, *OPTIMIZERS, *WARM_STARTERS):
        assert name in text
    for default in (DEFAULT_ALGORITHM, DEFAULT_OPTIMIZER, DEFAULT_WARM_STARTER):
        assert f"(default: {default})" in text
