from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metakb.datasets import (
    MAX_INTEGER_CATEGORIES,
    file_format,
    infer_kinds,
    infer_task_type,
    kb_dataset_id,
    load_table,
    table_name,
)
from metakb.errors import DatasetError, MetakbError

CSV = "a,b,c,target\n1.5,x,1,0\n2.5,y,2,1\n3.5,x,1,0\n4.5,y,3,1\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_loads_with_kinds_target_and_hash(tmp_path: Path) -> None:
    table = load_table(write(tmp_path / "tiny.csv", CSV))
    assert list(table.X.columns) == ["a", "b", "c"]
    assert table.target == "target"
    assert table.y.tolist() == [0, 1, 0, 1]
    assert table.kinds == {
        "a": "numeric",
        "b": "categorical",
        "c": "categorical",
        "target": "categorical",
    }
    assert table.task_type == "classification"
    assert table.name == "tiny"
    assert len(table.content_hash) == 64
    assert table.n_dropped == 0
    assert kb_dataset_id(table) == f"local:{table.content_hash}"


def test_same_bytes_same_hash_other_bytes_other_hash(tmp_path: Path) -> None:
    one = load_table(write(tmp_path / "one.csv", CSV))
    two = load_table(write(tmp_path / "two.csv", CSV))
    three = load_table(write(tmp_path / "three.csv", CSV + "5.5,x,1,0\n"))
    assert one.content_hash == two.content_hash != three.content_hash


def test_tsv_gz_and_parquet_and_arff(tmp_path: Path) -> None:
    path = tmp_path / "t.tsv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write(CSV.replace(",", "\t"))
    assert load_table(path).X.shape == (4, 3)
    frame = pd.read_csv(write(tmp_path / "p.csv", CSV))
    frame.to_parquet(tmp_path / "t.parquet")
    assert load_table(tmp_path / "t.parquet", "target").X.shape == (4, 3)
    arff = (
        "% comment\n@relation r\n@attribute 'num' numeric\n@attribute col {u, v}\n"
        "@attribute class {yes,no}\n@data\n1.0,u,yes\n?,v,no\n3.0,'u',yes\n"
    )
    table = load_table(write(tmp_path / "t.arff", arff))
    assert table.target == "class"
    assert table.kinds["col"] == "categorical" and table.kinds["num"] == "numeric"
    assert table.X["num"].isna().sum() == 1
    assert table.task_type == "classification"


def test_rows_with_missing_target_are_dropped_and_counted(tmp_path: Path) -> None:
    table = load_table(write(tmp_path / "m.csv", "a,target\n1,0\n2,\n3,1\n4,?\n"))
    assert table.n_dropped == 2
    assert table.X["a"].tolist() == [1, 3]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", "", "empty"),
        ("blank.csv", "\n\n", "empty"),
        ("header.csv", "a,target\n", "no rows"),
        ("dup.csv", "a,a,target\n1,2,3\n", "duplicate"),
        ("single.csv", "a;b;target\n1;2;3\n", "delimiter"),
        ("notarget.csv", "a,b\n1,2\n", "target"),
        ("allmissing.csv", "a,target\n1,\n2,\n", "no values"),
        ("data.xlsx", "a,target\n1,2\n", "unsupported"),
        ("inftarget.csv", "a,target\n1,0.5\n2,inf\n3,1.5\n", "infinite"),
    ],
)
def test_bad_input_raises_one_line_dataset_error(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(DatasetError, match=message) as info:
        load_table(path)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, MetakbError)


def test_missing_file_unknown_target_non_utf8_and_size_limit(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such file"):
        load_table(tmp_path / "nope.csv")
    path = write(tmp_path / "ok.csv", CSV)
    with pytest.raises(DatasetError, match="no target column 'zzz'"):
        load_table(path, "zzz")
    with pytest.raises(DatasetError, match="over the limit"):
        load_table(path, max_bytes=10)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a,target\ncaf\xe9,1\n".encode("latin-1"))
    with pytest.raises(DatasetError, match="UTF-8"):
        load_table(latin)


def test_duplicate_columns_can_be_renamed(tmp_path: Path) -> None:
    path = write(tmp_path / "dup.tsv", "x\ttarget\ty\ttarget\n1\t0\t2\t1\n2\t1\t3\t0\n")
    table = load_table(path, duplicate_columns="rename")
    assert table.y.tolist() == [0, 1]
    assert list(table.X.columns) == ["x", "y", "target.1"]


def test_kind_and_task_type_rules() -> None:
    many = list(range(MAX_INTEGER_CATEGORIES + 1))
    frame = pd.DataFrame(
        {
            "few_ints": [i % 3 for i in many],
            "many_ints": many,
            "floats": [i + 0.5 for i in many],
            "strings": ["a"] * len(many),
            "bools": [True, False] * 5 + [True],
            "empty": [np.nan] * len(many),
        }
    )
    kinds = infer_kinds(frame)
    assert kinds == {
        "few_ints": "categorical",
        "many_ints": "numeric",
        "floats": "numeric",
        "strings": "categorical",
        "bools": "categorical",
        "empty": "numeric",
    }
    assert infer_task_type(pd.Series([1, 2, 3] * 5), "categorical") == "classification"
    assert infer_task_type(pd.Series(np.arange(100)), "numeric") == "regression"
    assert infer_task_type(pd.Series([0.5, 1.5]), "numeric") == "regression"
    assert infer_task_type(pd.Series(["a", "b"]), "categorical") == "classification"


def test_file_format_and_name() -> None:
    assert file_format("x.TSV.GZ") == "tsv"
    assert file_format("x.arff") == "arff"
    assert table_name("/a/b/iris.csv.gz") == "iris"


def test_task_type_override(tmp_path: Path) -> None:
    table = load_table(write(tmp_path / "r.csv", CSV), task_type="regression")
    assert table.task_type == "regression"
    assert table.kinds["target"] == "numeric"
    with pytest.raises(ValueError, match="task_type"):
        load_table(tmp_path / "r.csv", task_type="ranking")


def test_subsample_table_is_stratified_seeded_and_a_table_of_its_own() -> None:
    from metakb.datasets import Table, subsample_table

    rng = np.random.default_rng(0)
    y = pd.Series(np.r_[np.zeros(180, int), np.ones(18, int), [2, 2]])
    x = pd.DataFrame({"a": rng.normal(size=len(y))})
    table = Table(x, y, {"a": "numeric"}, "classification", "t", "target", "f" * 64)
    cut = subsample_table(table, 50, seed=1)
    assert len(cut.X) == len(cut.y) <= 51
    assert set(cut.y) == {0, 1, 2}  # the 2-row class keeps a row
    assert cut.y.value_counts()[0] == 45
    again = subsample_table(table, 50, seed=1)
    assert again.content_hash == cut.content_hash != table.content_hash
    assert subsample_table(table, 50, seed=2).content_hash != cut.content_hash
    pd.testing.assert_frame_equal(again.X, cut.X)
    assert subsample_table(table, 500) is table
