"""Dates, ids and free text: detected, encoded or dropped, and said so (metakb._columns)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metakb._columns import MIN_ROWS, days_since_epoch, detect_columns, encode_columns
from metakb.cli import main
from metakb.datasets import file_hash, load_table
from metakb.errors import DatasetError

N = 40


def _frame(n: int = N) -> pd.DataFrame:
    """One column of each kind plus genuine numeric and categorical features, and a target."""
    rng = np.random.default_rng(0)
    days = pd.date_range("2020-01-01", periods=n, freq="D")
    x = rng.normal(size=n)
    return pd.DataFrame(
        {
            "x": x,
            "signup": days.strftime("%Y-%m-%d"),
            "customer_id": rng.permutation(n) + 1000,
            "review": [f"the parcel number {i} came late again" for i in range(n)],
            # Multi-word and a few levels: a genuine categorical, kept as it is.
            "city": rng.choice(["New York City", "Los Angeles", "San Francisco Bay"], n),
            "target": (x > 0).astype(int),
        }
    )


def _csv(tmp_path: Path, frame: pd.DataFrame, name: str = "shop.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_each_kind_is_detected_and_genuine_columns_are_not() -> None:
    assert detect_columns(_frame().drop(columns="target")) == {
        "signup": "date",
        "customer_id": "id",
        "review": "text",
    }


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (pd.date_range("2021-03-01", periods=N, freq="D").strftime("%d/%m/%Y"), "date"),
        (pd.date_range("2021-03-01", periods=N, freq="D").strftime("%B %d, %Y"), "date"),
        (pd.date_range("2021-03-01", periods=N, freq="h"), "date"),  # a datetime dtype
        (pd.date_range("2021-03-01", periods=N, freq="D").strftime("%Y-%m-%d %H:%M"), "date"),
        ([f"u{i:05x}" for i in range(N)], "id"),  # distinct strings
        (np.arange(N), "id"),  # a row number from 0 ...
        (np.arange(1, N + 1), "id"),  # ... or 1
        # Left alone: codes without a year, a year per row, integers that differ
        # but number nothing, a few levels of short strings, a distinct float per row.
        (np.resize(["10-12", "1-2", "3-4"], N), None),
        ([f"1.{i}.3" for i in range(N)], "id"),  # distinct, but not a date
        (np.arange(1950, 1950 + N), None),
        (np.random.default_rng(0).permutation(N) * 7 + 3, None),
        (np.resize(["red", "green", "blue"], N), None),
        (np.linspace(0, 1, N), None),
    ],
)
def test_one_column(values: object, kind: str | None) -> None:
    found = detect_columns(pd.DataFrame({"v": values}))
    assert found.get("v") == kind


def test_ids_by_name_and_none_below_min_rows() -> None:
    ids = np.random.default_rng(1).permutation(N) + 7
    frame = pd.DataFrame({"PassengerId": ids, "order_key": ids, "paid": ids, "valid": ids})
    assert detect_columns(frame) == {"PassengerId": "id", "order_key": "id"}
    small = _frame(MIN_ROWS - 1).drop(columns="target")
    assert detect_columns(small) == {}  # too few rows to tell
    # One missing or repeated value and it is no id.
    ids_with_gap = pd.Series(np.arange(N), dtype="float64")
    ids_with_gap[3] = np.nan
    assert detect_columns(pd.DataFrame({"id": ids_with_gap})) == {}


def test_declared_categorical_columns_are_never_flagged() -> None:
    codes = [f"u{i:05x}" for i in range(N)]
    frame = pd.DataFrame({"a": pd.Categorical(codes), "b": codes})
    assert detect_columns(frame, declared=["b"]) == {}


def test_encoding_days_since_epoch_and_notes() -> None:
    frame = _frame().drop(columns="target")
    kinds = {c: "categorical" for c in frame.columns} | {"x": "numeric"}
    x, new_kinds, notes = encode_columns(frame, kinds, detect_columns(frame))
    assert list(x.columns) == ["x", "signup", "city"]
    assert new_kinds == {"x": "numeric", "signup": "numeric", "city": "categorical"}
    assert x["signup"].iloc[0] == 18262.0  # 2020-01-01
    assert np.allclose(np.diff(x["signup"]), 1.0)
    assert notes == [
        "column 'signup' holds dates: encoded as days since 1970-01-01",
        "column 'customer_id' is id-like (a different value on every row): dropped",
        "column 'review' is free text: dropped",
    ]
    # A value that does not parse is missing (the numeric imputer fills it).
    mixed = days_since_epoch(pd.Series(["2020-01-02", "soon", None]))
    assert mixed.iloc[0] == 18263.0 and mixed.iloc[1:].isna().all()


def test_load_table_encodes_and_keeps_the_file_hash(tmp_path: Path) -> None:
    path = _csv(tmp_path, _frame())
    table = load_table(path)
    assert list(table.X.columns) == ["x", "signup", "city"]
    assert table.kinds["signup"] == "numeric" and table.kinds["city"] == "categorical"
    assert len(table.notes) == 3 and "'customer_id'" in table.notes[1]
    assert table.content_hash == file_hash(path)  # the knowledge-base key stays the file's
    raw = load_table(path, detect_columns=False)
    assert raw.notes == () and raw.content_hash == table.content_hash
    assert list(raw.X.columns) == ["x", "signup", "customer_id", "review", "city"]


def test_load_table_refuses_a_table_with_no_feature_left(tmp_path: Path) -> None:
    frame = _frame()[["customer_id", "review", "target"]]
    with pytest.raises(DatasetError, match="no feature column left: column 'customer_id'"):
        load_table(_csv(tmp_path, frame))


def test_meta_features_see_the_transformed_table(tmp_path: Path) -> None:
    from metakb.metafeatures import extract_table

    values = extract_table(load_table(_csv(tmp_path, _frame())), families=["simple"]).values
    # OpenML counts the target: x, signup, city and the target (6 columns in the file).
    assert values["NumberOfFeatures"] == 4
    assert values["NumberOfSymbolicFeatures"] == 2  # city and the target


def test_search_prints_the_notes_in_its_preprocessing_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(tmp_path, _frame())
    db = tmp_path / "kb" / "kb.duckdb"
    args = [
        "search", str(path), "-a", "random_forest", "--budget", "1", "--method", "random",
        "--warm-start", "none", "--folds", "2", "--db", str(db),
    ]  # fmt: skip
    assert main(args) == 0
    out = " ".join(capsys.readouterr().out.split())  # rich may wrap
    assert (
        "preprocessing: column 'signup' holds dates: encoded as days since 1970-01-01; "
        "column 'customer_id' is id-like (a different value on every row): dropped; "
        "column 'review' is free text: dropped"
    ) in out
    assert main([*args, "--resume", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert len(found["column_notes"]) == 3


def test_recommend_file_says_so_on_stderr(
    tmp_path: Path, tiny_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "kb" / "kb.duckdb")
    assert main(["ingest", "published", str(tiny_data), "--db", db]) == 0
    capsys.readouterr()
    args = ["recommend", str(_csv(tmp_path, _frame())), "-a", "random_forest", "--method", "knn"]
    assert main([*args, "--min-configs", "2", "-k", "1", "--db", db]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "note: column 'review' is free text: dropped" in err
