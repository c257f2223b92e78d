"""featurize_all on a tiny knowledge base, and the `metakb featurize` command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metakb.cli import main
from metakb.metafeatures import (
    COMPUTED_BY,
    FAMILIES,
    METAFEATURES_VERSION,
    featurize_all,
    featurize_file,
)
from metakb.store import (
    Datasets,
    MetaFeatures,
    Store,
    get_meta_features,
    put_datasets,
    put_meta_features,
    transaction,
)


def write_tables(root: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    n = 60
    cls = pd.DataFrame(
        {"x": rng.normal(size=n), "c": rng.choice(["a", "b"], n), "target": rng.integers(0, 2, n)}
    )
    reg = pd.DataFrame({"x": rng.normal(size=n), "target": rng.normal(size=n)})
    paths = {"cls": root / "cls.csv", "reg": root / "reg.tsv"}
    cls.to_csv(paths["cls"], index=False)
    reg.to_csv(paths["reg"], sep="\t", index=False)
    (root / "broken.csv").write_text("just one column\n1\n")
    paths["broken"] = root / "broken.csv"
    return paths


@pytest.fixture
def tiny_store(tmp_path: Path) -> Store:
    paths = write_tables(tmp_path)
    store = Store(tmp_path / "kb.duckdb")
    rows = Datasets(
        dataset_id=["pmlb:cls", "pmlb:reg", "pmlb:broken", "openml:1"],
        name=["cls", "reg", "broken", "no file"],
        task_type=["classification", "regression", "classification", "classification"],
        # The stored target may be OpenML's name for it; the file calls it 'target'.
        target=["class", "target", "target", "class"],
        file_path=[str(paths["cls"]), str(paths["reg"]), str(paths["broken"]), None],
        source="test",
    )
    with store.write() as con, transaction(con):
        put_datasets(con, rows)
    return store


def test_featurize_all_stores_values_then_reruns_idempotently(tiny_store: Store) -> None:
    seen: list[tuple[str, int, int]] = []
    summary = featurize_all(
        tiny_store, n_jobs=1, progress=lambda d, done, total: seen.append((d, done, total))
    )
    assert summary.datasets == 3
    assert summary.featurized == 2
    assert set(summary.failed) == {"pmlb:broken"}
    assert "delimiter" in summary.failed["pmlb:broken"]
    assert seen[-1][1:] == (3, 3)
    with tiny_store.read() as con:
        cls = get_meta_features(con, "pmlb:cls")
        reg = get_meta_features(con, "pmlb:reg")
    assert set(cls["computed_by"]) == {COMPUTED_BY}
    assert set(cls["version"]) == {METAFEATURES_VERSION}
    assert set(cls["family"]) == set(FAMILIES)
    values = dict(zip(cls["name"], cls["value"], strict=True))
    assert values["NumberOfInstances"] == 60 and values["NumberOfClasses"] == 2
    # Every missing value carries its reason.
    assert cls.loc[cls["value"].isna(), "reason"].notna().all()
    regv = reg.set_index("name")
    assert regv.loc["NumberOfClasses", "value"] == 0
    assert math.isnan(regv.loc["ClassEntropy", "value"])
    assert regv.loc["ClassEntropy", "reason"] == "not defined for a regression target"
    assert summary.values_added == len(cls) + len(reg)
    assert summary.values_missing == int(cls["value"].isna().sum() + reg["value"].isna().sum())

    again = featurize_all(tiny_store, n_jobs=1)
    assert again.already_done == 2
    assert again.values_added == 0
    assert set(again.failed) == {"pmlb:broken"}


def test_featurize_all_in_parallel_adds_only_missing_families(tiny_store: Store) -> None:
    first = featurize_all(tiny_store, families=["simple"], n_jobs=2)
    assert first.featurized == 2
    second = featurize_all(tiny_store, n_jobs=2)
    assert second.featurized == 2 and second.values_added > 0
    with tiny_store.read() as con:
        assert set(get_meta_features(con, "pmlb:cls")["family"]) == set(FAMILIES)


def test_a_new_version_replaces_the_old_rows_of_its_families(tiny_store: Store) -> None:
    old = MetaFeatures(
        dataset_id="pmlb:cls",
        name=["NumberOfInstances", "metakb.retired", "kNN1NAUC"],
        value=[1.0, 2.0, 3.0],
        family=["simple", "simple", "landmarking"],
        computed_by=COMPUTED_BY,
        version="0",
    )
    with tiny_store.write() as con, transaction(con):
        put_meta_features(con, old)
    featurize_all(tiny_store, families=["simple"], n_jobs=1)
    with tiny_store.read() as con:
        rows = get_meta_features(con, "pmlb:cls").set_index("name")
    # The simple family was recomputed: its retired name is gone, its values are new.
    assert "metakb.retired" not in rows.index
    assert rows.loc["NumberOfInstances", "value"] == 60
    assert rows.loc["NumberOfInstances", "version"] == METAFEATURES_VERSION
    # A family not recomputed keeps its old rows.
    assert rows.loc["kNN1NAUC", "version"] == "0"


def test_featurize_file(tmp_path: Path) -> None:
    paths = write_tables(tmp_path)
    table, result = featurize_file(paths["cls"], "target", families=["simple"])
    assert table.task_type == "classification"
    assert result.values["NumberOfFeatures"] == 3


def test_cli_featurize_json_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = write_tables(tmp_path)
    code = main(["featurize", str(paths["cls"]), "--target", "target", "--json"])
    out = capsys.readouterr().out
    assert code == 0
    obj = json.loads(out)
    assert set(obj) == {"meta_features", "seconds", "skipped"}
    assert obj["meta_features"]["NumberOfInstances"] == 60
    assert set(obj["seconds"]) == set(FAMILIES)
    for name in obj["skipped"]:
        assert obj["meta_features"][name] is None
    code = main(["featurize", str(paths["reg"]), "--families", "simple"])
    assert code == 0
    assert "NumberOfInstances" in capsys.readouterr().out


def test_cli_featurize_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["featurize", str(tmp_path / "missing.csv"), "--target", "y"])
    assert code == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["featurize"]) != 0
    path = write_tables(tmp_path)["cls"]
    assert main(["featurize", str(path), "--families", "nope"]) == 2
    assert main(["featurize", str(path), "--task-type", "ranking"]) == 2
    assert "unknown families" in capsys.readouterr().err


def test_cli_featurize_all(tiny_store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["featurize", "--all", "--db", str(tiny_store.path), "--jobs", "1"])
    captured = capsys.readouterr()
    assert code == 0
    assert "featurized 2 datasets" in captured.out and "skipped" in captured.out
    assert "pmlb:broken" in captured.err
    code = main(["featurize", "--all", "--db", str(tiny_store.path), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["values_added"] == 0 and summary["already_done"] == 2
