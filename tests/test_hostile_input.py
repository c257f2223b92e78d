"""Hostile and broken tables through every entry point that reads a user's table.

One table of cases (:data:`CASES`) drives both the command line (``metakb
featurize FILE --db KB``) and the Python API (``featurize_file``, i.e.
``load_table`` then ``extract``). A case either fails with a one-line error
(exit status 1 on the command line, :class:`DatasetError` in Python) or has a
documented outcome checked on the result; either way the knowledge base named
by ``--db`` is unchanged. Loader details already covered in
``tests/test_datasets.py`` are not repeated here beyond their end-to-end case.
Hypothesis then feeds arbitrary small tables and arbitrary bytes to the loader
and the extractor: only :class:`MetakbError` may come out.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import math
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import metakb
from metakb.cli import main
from metakb.datasets import DEFAULT_MAX_BYTES, load_table
from metakb.errors import DatasetError, MetakbError
from metakb.kb import KnowledgeBase, train
from metakb.metafeatures import extract, extract_table, featurize_all, featurize_file
from metakb.sources.published import import_published
from metakb.store import Datasets, Store, get_stats, put_datasets, transaction
from tests.conftest import write_tiny_data

RNG_ROWS = 40
APP = Path(__file__).resolve().parents[1] / "app"
LANDMARKER = "kNN1NErrRate"


def _frame(path: Path, frame: pd.DataFrame, **kwargs: Any) -> Path:
    frame.to_csv(path, index=False, **kwargs)
    return path


def _text(text: str) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / "t.csv"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def _numeric(**columns: Any) -> Callable[[Path], Path]:
    """A classification table with a random feature, two classes and ``columns``."""

    def write(folder: Path) -> Path:
        rng = np.random.default_rng(0)
        frame = pd.DataFrame({"x": rng.normal(size=RNG_ROWS), **columns})
        frame["target"] = np.arange(RNG_ROWS) % 2
        return _frame(folder / "t.csv", frame)

    return write


def _one_class(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=RNG_ROWS), "target": ["yes"] * RNG_ROWS})
    return _frame(folder / "t.csv", frame)


def _many_categories(folder: Path) -> Path:
    n = 10_000
    rng = np.random.default_rng(0)
    # One level repeated: a level on every row would be an id column, and dropped.
    frame = pd.DataFrame(
        {
            "code": [f"k{i}" for i in range(n)] + ["k0"],
            "x": rng.normal(size=n + 1),
            "target": np.arange(n + 1) % 3,
        }
    )
    return _frame(folder / "t.csv", frame)


def _non_utf8(folder: Path) -> Path:
    path = folder / "t.csv"
    path.write_bytes("name,target\ncaf\xe9,1\nth\xe9,0\n".encode("latin-1"))
    return path


def _oversized(folder: Path) -> Path:
    # A sparse file: one byte over the default limit without writing a gigabyte.
    path = folder / "t.csv"
    with open(path, "wb") as fh:
        fh.truncate(DEFAULT_MAX_BYTES + 1)
    return path


def _named(name: str, text: str = "a,target\n1,0\n2,1\n") -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        path = folder / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


def _directory(folder: Path) -> Path:
    path = folder / "t.csv"
    path.mkdir()
    return path


def _fifo(folder: Path) -> Path:
    # Opening a FIFO for reading blocks until a writer comes: it must be refused unopened.
    path = folder / "t.csv"
    os.mkfifo(path)
    return path


def _device(folder: Path) -> Path:
    path = folder / "t.csv"
    path.symlink_to("/dev/zero")
    return path


def _bad_gzip(folder: Path) -> Path:
    path = folder / "t.csv.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage")
    return path


def _bad_parquet(folder: Path) -> Path:
    path = folder / "t.parquet"
    path.write_bytes(b"PAR1 not really PAR1")
    return path


@dataclass(frozen=True)
class Case:
    """One hostile input: how to write it, extra arguments, and what must happen.

    ``error`` is a fragment of the one-line error; None means the table loads and
    ``check`` is run on the JSON result (``meta_features``, ``skipped``).
    ``search_error`` is the one-line error of a search on a table that loads
    but cannot be cross-validated (:func:`metakb.kb._search.check_searchable`).
    """

    id: str
    write: Callable[[Path], Path]
    error: str | None = None
    target: str | None = None
    check: Callable[[dict[str, Any]], None] | None = None
    search_error: str | None = None


def _landmarkers_skipped(reason: str) -> Callable[[dict[str, Any]], None]:
    def check(result: dict[str, Any]) -> None:
        assert result["meta_features"][LANDMARKER] is None
        assert result["skipped"][LANDMARKER] == reason

    return check


def _value(name: str, expected: float) -> Callable[[dict[str, Any]], None]:
    def check(result: dict[str, Any]) -> None:
        assert result["meta_features"][name] == expected

    return check


def _all(*checks: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def check(result: dict[str, Any]) -> None:
        for one in checks:
            one(result)

    return check


CASES = [
    Case("empty file", _text(""), error="the file is empty"),
    Case("header only", _text("a,b,target\n"), error="a header but no rows"),
    Case(
        "one row",
        _text("a,b,target\n1.5,x,0\n"),
        check=_all(
            _value("NumberOfInstances", 1), _landmarkers_skipped("needs at least two classes")
        ),
        search_error="1 row(s) cannot be split into 2 folds",
    ),
    Case("one class", _one_class, check=_landmarkers_skipped("needs at least two classes")),
    Case(
        "all-missing column",
        _numeric(empty=[None] * RNG_ROWS),
        check=_value("NumberOfMissingValues", RNG_ROWS),
    ),
    Case(
        "constant columns",
        _numeric(c=[3.25] * RNG_ROWS, s=["k"] * RNG_ROWS),
        check=_value("metakb.simple.NumberOfConstantFeatures", 2),
    ),
    Case(
        "10,000-category column",
        _many_categories,
        check=_value("MaxNominalAttDistinctValues", 10_000),
    ),
    Case(
        "infinities",
        _numeric(v=[math.inf, -math.inf] + [float(i) + 0.5 for i in range(RNG_ROWS - 2)]),
        check=_value("metakb.simple.NumberOfInfiniteValues", 2),
        search_error="infinite values in column(s) v",
    ),
    Case(
        # Numbers and words in one column: read as text, i.e. a categorical feature.
        "mixed-type column",
        _numeric(m=[1, "x", 2.5, None, True] * (RNG_ROWS // 5)),
        check=_value("NumberOfSymbolicFeatures", 2),
    ),
    Case("wrong delimiter", _text("a;b;target\n1;2;0\n3;4;1\n"), error="delimiter"),
    Case("non-UTF-8 bytes", _non_utf8, error="not UTF-8"),
    Case("unknown target", _numeric(), target="nope", error="no target column 'nope'"),
    Case("missing target", _text("a,b\n1,2\n3,4\n"), error="say which is the target"),
    Case(
        # Rows whose target is missing are dropped (and counted); the rest is featurized.
        "target with missing values",
        _text("a,target\n1.5,0\n2.5,\n3.5,1\n4.5,?\n5.5,1\n6.5,0\n"),
        check=_value("NumberOfInstances", 4),
    ),
    Case("target all missing", _text("a,target\n1,\n2,?\n"), error="has no values"),
    Case("duplicate column names", _text("a,a,target\n1,2,0\n3,4,1\n"), error="duplicate"),
    Case("ragged rows", _text("a,b,target\n1,2,0\n3,4,1,9,9\n"), error="cannot parse as csv"),
    Case(
        "carriage returns only",
        _text("a,target\r1.5,0\r2.5,1\r"),
        check=_value("NumberOfInstances", 2),
        search_error="no class has 2 rows",
    ),
    Case("over the size limit", _oversized, error="over the limit"),
    Case("unsupported extension", _named("t.xlsx"), error="unsupported file type"),
    Case("no extension", _named("passwd"), error="unsupported file type"),
    Case("directory", _directory, error="not a regular file"),
    Case("FIFO", _fifo, error="not a regular file"),
    Case("device behind a symlink", _device, error="not a regular file"),
    Case("missing file", lambda folder: folder / "absent.csv", error="no such file"),
    Case("corrupt gzip", _bad_gzip, error="cannot read"),
    Case("corrupt Parquet", _bad_parquet, error="cannot parse as parquet"),
]


@pytest.fixture
def kb(tmp_path: Path) -> Store:
    """A knowledge base with one dataset, to prove that featurizing a file leaves it alone."""
    store = Store(tmp_path / "kb.duckdb")
    with store.write() as con, transaction(con):
        put_datasets(con, Datasets(dataset_id="pmlb:x", source="test"))
    return store


def _counts(store: Store) -> dict[str, Any]:
    with store.read() as con:
        stats = get_stats(con)
    return {k: v for k, v in stats.items() if isinstance(v, int)}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line_error(code: int, captured: Any, error: str) -> None:
    """Exit status 1, ``error`` in one line on stderr, nothing on stdout."""
    assert code == 1
    assert error in captured.err
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    assert captured.out == ""


def _target(case: Case) -> list[str]:
    return ["--target", case.target] if case.target else []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_featurize(
    case: Case, tmp_path: Path, kb: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    path = case.write(folder)
    before, digest = _counts(kb), _digest(kb.path)
    code = main(["featurize", str(path), "--json", "--db", str(kb.path), *_target(case)])
    captured = capsys.readouterr()
    if case.error is not None:
        _one_line_error(code, captured, case.error)
    else:
        assert code == 0, captured.err
        assert case.check is not None
        case.check(json.loads(captured.out))
    assert _counts(kb) == before
    assert _digest(kb.path) == digest


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_python_api(case: Case, tmp_path: Path) -> None:
    path = case.write(tmp_path)
    if case.error is not None:
        with pytest.raises(DatasetError, match=case.error) as info:
            featurize_file(path, case.target)
        assert "\n" not in str(info.value)
        return
    _, result = featurize_file(path, case.target)
    assert case.check is not None
    case.check(json.loads(json.dumps(result.to_json())))


# -- recommend, search, the Python API and the app's upload on the same cases ---------------


@pytest.fixture(scope="module")
def trained_kb(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The tiny published data with a trained knn model of random_forest; no test may change it."""
    root = tmp_path_factory.mktemp("trained")
    store = Store(root / "kb" / "kb.duckdb")
    import_published(store, write_tiny_data(root / "data"))
    train(store.path, ["random_forest"], ["knn"], min_configs=2)
    return store


def _snapshot(store: Store) -> tuple[dict[str, Any], dict[str, str]]:
    """Counts, and the bytes (hashed) of every file in the knowledge base's folder.

    The folder holds the database, the trained models and a search's resume logs.
    """
    folder = store.path.parent
    files = {str(p.relative_to(folder)): _digest(p) for p in folder.rglob("*") if p.is_file()}
    return _counts(store), files


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_cli_recommend(
    case: Case, tmp_path: Path, trained_kb: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    path = case.write(tmp_path)
    before = _snapshot(trained_kb)
    argv = ["recommend", str(path), "-a", "random_forest", "--method", "knn", "-k", "2"]
    code = main([*argv, "--json", "--db", str(trained_kb.path), *_target(case)])
    captured = capsys.readouterr()
    if case.error is not None:
        _one_line_error(code, captured, case.error)
    else:
        assert code == 0, captured.err
        recommendations = json.loads(captured.out)["recommendations"]
        assert 1 <= len(recommendations) <= 2
    assert _snapshot(trained_kb) == before


SEARCH = ["-a", "random_forest", "--budget", "2", "--method", "random", "--folds", "2", "--json"]
SLOW_SEARCH = {"10,000-category column"}  # 10,000 rows: seconds per trial


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.id in SLOW_SEARCH else [])
        for c in CASES
    ],
)
def test_cli_search(
    case: Case, tmp_path: Path, trained_kb: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    path = case.write(tmp_path)
    error = case.error or case.search_error
    if error is None:
        # A table a model can be fitted on: both trials run and are stored (in a fresh
        # knowledge base: the shared one must stay as it is).
        db = tmp_path / "kb" / "kb.duckdb"
        argv = ["search", str(path), *SEARCH, "--warm-start", "none", "--db", str(db)]
        code = main([*argv, *_target(case)])
        captured = capsys.readouterr()
        assert code == 0, captured.err
        assert [t["status"] for t in json.loads(captured.out)["trials"]] == ["ok", "ok"]
        assert _counts(Store(db))["evaluations"] == 2
        return
    before = _snapshot(trained_kb)
    argv = ["search", str(path), *SEARCH, "--warm-start", "knn", "--db", str(trained_kb.path)]
    code = main([*argv, *_target(case)])
    _one_line_error(code, capsys.readouterr(), error)
    assert _snapshot(trained_kb) == before


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.error or c.search_error], ids=lambda c: c.id
)
def test_python_search_table(case: Case, tmp_path: Path) -> None:
    path = case.write(tmp_path)
    db = tmp_path / "kb" / "kb.duckdb"
    with pytest.raises(MetakbError, match=re.escape(case.error or case.search_error or "")) as info:
        KnowledgeBase(db).search(
            path,
            target=case.target,
            algorithm="random_forest",
            budget=2,
            warm_start="none",
            n_splits=2,
        )
    assert "\n" not in str(info.value)
    assert not db.parent.exists()  # refused before the knowledge base was opened


@pytest.mark.parametrize(
    ("meta_features", "error"),
    [
        ({}, None),
        ({"NumberOfInstances": math.nan}, None),
        ({"NumberOfInstances": math.inf, "NumberOfFeatures": -math.inf}, None),
        ({"x'); DROP TABLE tasks; --": 1.0, "NumberOfFeatures": 1e308}, None),
        ({"NumberOfInstances": "many"}, "'NumberOfInstances' is 'many', not a number"),
        ({"NumberOfInstances": None}, "'NumberOfInstances' is None, not a number"),
    ],
)
def test_python_recommend_meta_features(
    trained_kb: Store, meta_features: dict[str, Any], error: str | None
) -> None:
    before = _snapshot(trained_kb)
    call = functools.partial(
        metakb.recommend, meta_features, algorithm="random_forest", method="knn", k=2
    )
    if error is not None:
        with pytest.raises(ValueError, match=re.escape(error)):
            call(db=trained_kb.path)
    else:
        recommendations = call(db=trained_kb.path)
        assert recommendations and all(r.source_tasks for r in recommendations)
    assert _snapshot(trained_kb) == before


class _Upload:
    """What ``st.file_uploader`` returns, read lazily (the size limit is checked first)."""

    def __init__(self, path: Path, name: str) -> None:
        self.path, self.name, self.size = path, name, path.stat().st_size

    def getvalue(self) -> bytes:
        return self.path.read_bytes()


# An upload is bytes: a directory, FIFO, device or missing file cannot be one. In the
# app the target is picked from the table's own columns, so it cannot be unknown.
NOT_UPLOADS = {"directory", "FIFO", "device behind a symlink", "missing file", "unknown target"}
APP_ERRORS = {"over the size limit": "the limit is 50 MB"}  # refused before it is read


@pytest.mark.parametrize("case", [c for c in CASES if c.id not in NOT_UPLOADS], ids=lambda c: c.id)
def test_app_upload(
    case: Case, tmp_path: Path, trained_kb: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit
    from streamlit.testing.v1 import AppTest

    path = case.write(tmp_path)
    monkeypatch.setenv("METAKB_DB", str(trained_kb.path))
    monkeypatch.syspath_prepend(str(APP))
    import _common  # the app's shared module, as its pages import it

    monkeypatch.setattr(_common, "UPLOADS", tmp_path / "uploads")
    upload = _Upload(path, "../../" + path.name)  # a name that tries to leave the folder
    monkeypatch.setattr(streamlit, "file_uploader", lambda *args, **kwargs: upload)
    before = _snapshot(trained_kb)
    at = AppTest.from_file(str(APP / "Home.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/recommend.py").run()
    assert not at.exception
    error = APP_ERRORS.get(case.id, case.error)
    if error is not None:
        assert at.error and error in at.error[0].value
        assert not at.success
    else:
        assert not at.error and at.success and "rows" in at.success[0].value
    saved = list((tmp_path / "uploads").rglob("*"))
    assert all(p.is_relative_to(tmp_path / "uploads") for p in saved)
    assert [p.name for p in saved if p.is_file()] == ([] if case.id in APP_ERRORS else [path.name])
    assert _snapshot(trained_kb) == before


# `featurize --all` reads knowledge-base files leniently: repeated column names are
# renamed, and a stored target the file lacks falls back to `target`/`class`.
LENIENT = {"duplicate column names", "unknown target"}


def test_featurize_all_reports_each_hostile_file_and_stores_the_rest(tmp_path: Path) -> None:
    store = Store(tmp_path / "kb.duckdb")
    rows = []
    for i, case in enumerate(CASES):
        folder = tmp_path / f"case{i:02d}"
        folder.mkdir()
        rows.append((f"pmlb:{i:02d}", str(case.write(folder)), case.target, case.id))
    ids, paths, targets, names = (list(column) for column in zip(*rows, strict=True))
    datasets = Datasets(dataset_id=ids, file_path=paths, target=targets, name=names, source="test")
    with store.write() as con, transaction(con):
        put_datasets(con, datasets)
    summary = featurize_all(store, families=["simple"], n_jobs=1)
    expected = {
        f"pmlb:{i:02d}": case.error
        for i, case in enumerate(CASES)
        if case.error is not None and case.id not in LENIENT
    }
    assert summary.failed.keys() == expected.keys()
    for dataset_id, message in summary.failed.items():
        assert expected[dataset_id] in message and "\n" not in message
    assert summary.featurized == len(CASES) - len(expected)
    with store.read() as con:
        stored = {
            r[0] for r in con.execute("SELECT DISTINCT dataset_id FROM meta_features").fetchall()
        }
    assert stored == set(ids) - set(expected)


def test_gzip_bomb_is_refused_by_its_expanded_size(tmp_path: Path) -> None:
    path = tmp_path / "bomb.csv.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"a,target\n" + b"1,0\n" * 250_000)  # 1 MB of text, a few kB on disk
    assert path.stat().st_size < 10_000
    with pytest.raises(DatasetError, match="decompresses to over the limit"):
        load_table(path, max_bytes=100_000)
    assert len(load_table(path, max_bytes=2_000_000).X) == 250_000
    # The app's search page passes its upload limit the same way.
    db = tmp_path / "kb" / "kb.duckdb"
    with pytest.raises(DatasetError, match="decompresses to over the limit"):
        KnowledgeBase(db).search(path, target=None, algorithm="svc", budget=1, max_bytes=100_000)
    assert not db.parent.exists()


def test_parquet_is_refused_by_its_expanded_size(tmp_path: Path) -> None:
    path = tmp_path / "zeros.parquet"
    pd.DataFrame({"a": np.zeros(200_000), "target": np.zeros(200_000)}).to_parquet(path)
    assert path.stat().st_size < 100_000
    with pytest.raises(DatasetError, match="decompresses to over the limit"):
        load_table(path, max_bytes=path.stat().st_size * 4)


def test_paths_outside_the_working_folder_are_read_as_the_os_resolves_them(
    tmp_path: Path,
    trained_kb: Store,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The rule (metakb/datasets.py, docs/RELIABILITY.md): a local user may read any
    # regular file they can; `..` and symlinks are followed and the resolved path is kept.
    outside = tmp_path / "outside"
    outside.mkdir()
    real = _numeric()(outside)
    work = tmp_path / "work"
    work.mkdir()
    (work / "link.csv").symlink_to(real)
    monkeypatch.chdir(work)
    for given_path in ("../outside/t.csv", "link.csv"):
        table = load_table(given_path)
        assert table.path == str(real.resolve())
        code = main(["featurize", given_path, "--families", "simple", "--json"])
        assert code == 0
        assert json.loads(capsys.readouterr().out)["meta_features"]["NumberOfInstances"] == 40
        argv = ["recommend", given_path, "-a", "random_forest", "--method", "knn", "--json"]
        assert main([*argv, "--db", str(trained_kb.path)]) == 0
        assert json.loads(capsys.readouterr().out)["recommendations"]
    # A search stores the table's resolved path with the dataset it registers.
    db = tmp_path / "kb.duckdb"
    assert (
        main(["search", "../outside/t.csv", *SEARCH, "--warm-start", "none", "--db", str(db)]) == 0
    )
    with Store(db).read() as con:
        assert con.execute("SELECT file_path FROM datasets").fetchall() == [(str(real.resolve()),)]
    (work / "dangling.csv").symlink_to(outside / "gone.csv")
    with pytest.raises(DatasetError, match="no such file"):
        load_table("dangling.csv")


def test_arff_duplicate_or_nameless_attributes(tmp_path: Path) -> None:
    dup = tmp_path / "dup.arff"
    dup.write_text("@relation r\n@attribute a numeric\n@attribute a numeric\n@data\n1,2\n")
    with pytest.raises(DatasetError, match="duplicate column name"):
        load_table(dup, "a")
    table = load_table(dup, "a", duplicate_columns="rename")
    assert list(table.X.columns) == ["a.1"] and table.kinds["a.1"] == "numeric"
    nameless = tmp_path / "nameless.arff"
    nameless.write_text("@relation r\n@attribute\n@attribute class {x}\n@data\n1,x\n")
    with pytest.raises(DatasetError, match="without a name"):
        load_table(nameless)
    unclosed = tmp_path / "unclosed.arff"
    unclosed.write_text("@relation r\n@attribute 'a numeric\n@attribute class {x}\n@data\n1,x\n")
    with pytest.raises(DatasetError, match="unclosed quote"):
        load_table(unclosed)


def test_extract_refuses_an_unknown_column_kind() -> None:
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ValueError, match="kinds must be"):
        extract(X, pd.Series([0, 1, 0, 1]), kinds={"a": "ordinal"})


# -- property tests ----------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=5)  # any encodable text
NAMES = st.one_of(st.sampled_from(["target", "class", "Target", "a", "a", ""]), TEXT)
CELLS = st.one_of(
    TEXT,
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-3, 3),
    st.booleans(),
    st.none(),
    st.sampled_from(["?", "NA", "inf", "1e400", "'", '"', ",", "\n", "\r"]),
)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def small_tables(draw: st.DrawFn) -> pd.DataFrame:
    n_cols = draw(st.integers(1, 5))
    n_rows = draw(st.integers(1, 15))
    names = draw(st.lists(NAMES, min_size=n_cols, max_size=n_cols))
    if draw(st.integers(0, 3)):  # mostly with a target, so that extraction runs too
        names[-1] = "target"
    columns = [draw(st.lists(CELLS, min_size=n_rows, max_size=n_rows)) for _ in names]
    frame = pd.DataFrame(dict(enumerate(columns)), index=range(n_rows))
    frame.columns = pd.Index(names)
    return frame


def _load_and_extract(path: Path, task_type: str | None) -> None:
    """Load and featurize; only a MetakbError may escape, and every NaN has a reason."""
    try:
        table = load_table(path, task_type=task_type)
        result = extract_table(table)
    except MetakbError as exc:
        assert "\n" not in str(exc)
        event("refused: " + str(exc).split(": ", 1)[-1][:40])
        return
    event("featurized")
    for name, value in result.values.items():
        assert math.isfinite(value) or name in result.skipped, name
    # A family that raised would leave "<ExceptionType>: ..." as the reason.
    assert not [r for r in result.skipped.values() if "Error:" in r], result.skipped


@PROPERTY
@given(
    small_tables(),
    st.sampled_from([".csv", ".tsv", ".parquet"]),
    st.sampled_from([None, "classification", "regression"]),
)
def test_arbitrary_small_tables_load_and_featurize_or_fail_cleanly(
    frame: pd.DataFrame, suffix: str, task_type: str | None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"t{suffix}"
        if suffix == ".parquet":
            try:
                frame.astype(str).to_parquet(path)
            except ValueError:  # Parquet refuses duplicate column names
                return
        else:
            frame.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
        _load_and_extract(path, task_type)


@PROPERTY
@given(
    st.one_of(
        st.binary(max_size=120),
        st.text(
            alphabet=st.sampled_from(list(",;\t\n\r\"'?{}@% .-e019actrgslinf")), max_size=80
        ).map(str.encode),
    ),
    st.sampled_from([".csv", ".tsv", ".arff", ".csv.gz", ".parquet"]),
)
def test_arbitrary_bytes_load_or_fail_cleanly(raw: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"t{suffix}"
        path.write_bytes(gzip.compress(raw) if suffix == ".csv.gz" and raw[:1] != b"\x1f" else raw)
        _load_and_extract(path, None)


@st.composite
def arff_files(draw: st.DrawFn) -> str:
    n = draw(st.integers(2, 5))
    names = [f"a{i}" for i in range(n - 1)] + ["class"]
    if not draw(st.integers(0, 3)):  # now and then a hostile or repeated name
        names[draw(st.integers(0, n - 1))] = draw(st.sampled_from(["a0", "'x y'", "'open", ""]))
    kinds = st.sampled_from(["numeric", "real", "integer", "{u,v}", "{'p q',r}", "string", ""])
    specs = [*draw(st.lists(kinds, min_size=n - 1, max_size=n - 1)), "{u,v}"]
    numbers = st.sampled_from(["1", "2.5", "-3", "?", "inf", "1e400"])
    words = st.sampled_from(["u", "v", "'p q'", "r", "", "{", "'"])
    width = draw(st.sampled_from([n] * 6 + [n - 1, n + 1]))
    cells = st.lists(st.one_of(numbers, numbers, words), min_size=width - 1, max_size=width - 1)
    rows = [
        [*draw(cells), draw(st.sampled_from(["u", "v"]))] for _ in range(draw(st.integers(1, 8)))
    ]
    lines = ["@relation r", *(f"@attribute {a} {s}" for a, s in zip(names, specs, strict=True))]
    return "\n".join([*lines, "@data", *(",".join(row) for row in rows)]) + "\n"


@PROPERTY
@given(arff_files())
def test_arbitrary_arff_loads_or_fails_cleanly(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.arff"
        path.write_text(text, encoding="utf-8")
        _load_and_extract(path, None)
