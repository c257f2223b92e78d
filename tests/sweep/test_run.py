"""Sweeps: real per-fold evaluations, failures recorded, resumes (after a kill too) add nothing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metakb import KnowledgeBase
from metakb.cli import main
from metakb.errors import MetakbError
from metakb.spaces import get_algorithm
from metakb.store import Store
from metakb.sweep import DESIGNS, build_design, fold_values, folder_refs
from tests.killing import kill_when_stopped

FOLDS = 3


def _tables(root: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(90, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame.assign(target=(x[:, 0] + 0.3 * rng.normal(size=90) > 0).astype(int)).to_csv(
        root / "binary.csv", index=False
    )
    frame.assign(target=x[:, 1] * 3 + rng.normal(size=90)).to_csv(root / "reg.csv", index=False)
    frame.assign(target=1).to_csv(root / "one_class.csv", index=False)
    (root / "broken.csv").write_text("")
    return root


@pytest.fixture
def tables(tmp_path: Path) -> Path:
    folder = tmp_path / "tables"
    folder.mkdir()
    return _tables(folder)


def _rows(db: Path) -> pd.DataFrame:
    with Store(db).read() as con:
        return con.execute(
            """
            SELECT t.name, e.config_id, e.value, e.fold_values, e.error, e.runtime_s
            FROM evaluations e JOIN tasks t USING (task_id)
            WHERE e.provenance LIKE 'sweep:%' ORDER BY t.name, e.config_id
            """
        ).df()


def _sweep(db: Path, folder: Path, **kwargs: object) -> object:
    return KnowledgeBase(db).sweep(
        "lightgbm", str(folder), design="small", n_splits=FOLDS, **kwargs
    )


def test_sweep_stores_per_fold_scores_records_failures_and_skips(
    tmp_path: Path, tables: Path
) -> None:
    db = tmp_path / "kb.duckdb"
    report = _sweep(db, tables)
    n_points = len(build_design(get_algorithm("lightgbm"), "small"))
    rows = _rows(db)
    ok = rows[rows.error.isna()]
    assert set(ok.name) == {"binary", "reg"}
    assert (ok.groupby("name").size() == n_points).all()
    for _, row in ok.iterrows():
        folds = fold_values(row.fold_values)
        assert len(folds) == FOLDS and row.value == pytest.approx(np.mean(folds))
        assert row.runtime_s > 0
    # The one-class table: its defaults failed, that failure is stored with its reason.
    failed = rows[rows.name == "one_class"]
    assert len(failed) == 1 and failed.value.isna().all()
    assert failed.error.iloc[0] == "the target has one class"
    assert report.failed == {"one_class": "the target has one class"}  # type: ignore[attr-defined]
    assert "broken" in report.skipped  # type: ignore[attr-defined]
    with Store(db).read() as con:
        metrics = dict(
            con.execute("SELECT name, metric FROM tasks WHERE source = 'local'").fetchall()
        )
        features = con.execute("SELECT count(DISTINCT dataset_id) FROM meta_features").fetchall()
    assert metrics == {
        "binary": "area_under_roc_curve",
        "reg": "root_mean_squared_error",
        "one_class": "area_under_roc_curve",
    }
    assert features[0][0] == 3


def test_rerun_needs_resume_and_resume_adds_nothing(tmp_path: Path, tables: Path) -> None:
    db = tmp_path / "kb.duckdb"
    _sweep(db, tables)
    before = _rows(db)
    with pytest.raises(MetakbError, match="pass --resume"):
        _sweep(db, tables)
    again = _sweep(db, tables, resume=True)
    assert again.evaluations == 0 and again.already == len(before)  # type: ignore[attr-defined]
    pd.testing.assert_frame_equal(_rows(db), before)


def test_row_cap_makes_a_task_of_its_own(tmp_path: Path, tables: Path) -> None:
    db = tmp_path / "kb.duckdb"
    _sweep(db, tables, max_rows=40, exclude=["reg", "one_class", "broken"])
    with Store(db).read() as con:
        rows = con.execute(
            "SELECT value FROM meta_features m JOIN tasks t USING (dataset_id) "
            "WHERE t.name = 'binary' AND m.name = 'NumberOfInstances'"
        ).fetchall()
    assert rows and rows[0][0] == 40


_KILLED = """
import sys, time
from metakb import KnowledgeBase
ticks = []
def progress(description, done, total):
    ticks.append(done)
    if len(ticks) == 3:  # after the first two datasets are written
        print("stopped", flush=True)
        time.sleep(600)
KnowledgeBase(sys.argv[1]).sweep("lightgbm", sys.argv[2], design="small", n_splits=3,
                                 progress=progress)
"""


def test_killed_sweep_resumes_to_the_same_evaluations_without_duplicates(
    tmp_path: Path, tables: Path
) -> None:
    killed, clean = tmp_path / "killed.duckdb", tmp_path / "clean.duckdb"
    kill_when_stopped(_KILLED, str(killed), str(tables))
    partial = _rows(killed)
    assert len(partial) > 0
    _sweep(killed, tables, resume=True)
    _sweep(clean, tables)
    resumed, fresh = _rows(killed), _rows(clean)
    assert len(resumed) == len(fresh)
    assert not resumed.duplicated(["name", "config_id"]).any()
    key = ["name", "config_id"]
    pd.testing.assert_series_equal(
        resumed.set_index(key).value, fresh.set_index(key).value, check_exact=False
    )


def test_folder_refs_read_a_manifest(tmp_path: Path, tables: Path) -> None:
    pd.DataFrame(
        {
            "name": ["b", "r"],
            "file": ["binary.csv", "reg.csv"],
            "target_column": ["target", "target"],
            "task_type": ["classification", "regression"],
            "openml_dataset_id": [37, None],
        }
    ).to_csv(tables / "manifest.csv", index=False)
    first, second = folder_refs(tables)
    assert (first.name, first.path.name, first.target, first.task_type) == (
        "b",
        "binary.csv",
        "target",
        "classification",
    )
    assert (first.openml_dataset_id, second.openml_dataset_id) == (37, None)
    db = tmp_path / "kb.duckdb"
    _sweep(db, tables, task_type="classification")
    with Store(db).read() as con:
        ids = con.execute("SELECT name, openml_dataset_id FROM datasets").fetchall()
    assert ids == [("binary", 37)]  # the manifest's id is recorded; "r" was not swept


def test_cli_sweep_prints_a_summary_and_bad_input_is_one_line(
    tmp_path: Path, tables: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "kb.duckdb")
    args = ["sweep", "--datasets", str(tables), "--design", "small", "--folds", "2", "--db", db]
    assert main([*args, "--exclude", "reg", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["datasets"] == 2 and report["skipped"]["reg"] == "excluded"
    assert len(report["design"]) == len(build_design(get_algorithm("lightgbm"), "small"))
    assert main(args) == 1
    assert "pass --resume" in capsys.readouterr().err
    assert main(["sweep", "--datasets", str(tmp_path / "nope"), "--db", db]) == 1
    assert "not a folder of tables" in capsys.readouterr().err
    assert main([*args, "--design", "huge", "--resume"]) == 1
    assert "unknown design 'huge'" in capsys.readouterr().err
    assert main([*args, "--task-type", "tabular", "--resume"]) == 1
    assert "--task-type takes classification or regression" in capsys.readouterr().err
    assert main([*args, "-a", "adaboost", "--task-type", "regression", "--json"]) == 0
    only = json.loads(capsys.readouterr().out)
    assert only["datasets"] == 1 and only["skipped"]["binary"] == "a classification table"
    assert DESIGNS["small"].n_sobol > 0


def test_sweep_of_the_knowledge_bases_own_files(tmp_path: Path, tables: Path) -> None:
    db = tmp_path / "kb.duckdb"
    _sweep(db, tables, exclude=["reg", "one_class", "broken"])
    # The swept table's file is the knowledge base's now: sweeping "kb" finds it, adds nothing.
    again = _sweep(db, Path("kb"), resume=True)
    assert again.datasets == 1 and again.evaluations == 0  # type: ignore[attr-defined]
