"""The shipped meta-dataset: export, verified and idempotent import, where it is found."""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import metakb
from metakb.errors import DataSourceError
from metakb.sources.published import SOURCES, FileResult
from metakb.sources.shipped import (
    ENV,
    MANIFEST,
    SOURCE,
    export_metadataset,
    find_metadataset,
    import_metadataset,
    import_with_metadataset,
    read_manifest,
    shipped_metadataset_path,
)
from metakb.store import EXPORT_DROPPED, SCHEMA_VERSION, Store, get_provenance_slice, get_stats
from tests.conftest import TINY_COUNTS

REPO = Path(__file__).resolve().parents[2]
TABLES = tuple(EXPORT_DROPPED)


@pytest.fixture
def metadataset(sweep_store: Store, tmp_path: Path) -> Path:
    """The tiny sweep exported to tmp_path/metadataset."""
    folder = tmp_path / "metadataset"
    export_metadataset(sweep_store, folder, command="pytest")
    return folder


def _counts(store: Store) -> dict[str, int]:
    with store.read() as con:
        stats = get_stats(con)
    return {t: stats[t] for t in TABLES}


def _slice(store: Store) -> dict[str, pa.Table]:
    with store.read() as con:
        return get_provenance_slice(con, "sweep:")


def test_manifest_counts_and_hashes_the_files(metadataset: Path) -> None:
    manifest = read_manifest(metadataset)
    assert manifest.schema_version == SCHEMA_VERSION
    assert manifest.metakb_version == metakb.__version__ and manifest.command == "pytest"
    assert [f.table for f in manifest.files] == list(TABLES)
    assert manifest.rows()["evaluations"] == 72
    names = sorted(p.name for p in metadataset.iterdir())
    assert names == sorted([MANIFEST, *(f"{t}.parquet" for t in TABLES)])


def test_round_trip_gives_the_same_tables_without_the_dropped_columns(
    sweep_store: Store, metadataset: Path, store: Store
) -> None:
    summary = import_metadataset(store, metadataset)
    original, imported = _slice(sweep_store), _slice(store)
    for table in TABLES:
        assert imported[table].equals(original[table]), table
    # The imported knowledge base holds the slice and nothing else.
    assert summary.added() == _counts(store) == {t: original[t].num_rows for t in TABLES}
    with sweep_store.read() as con:
        had = con.execute("SELECT count(file_path) FROM datasets").fetchall()
    with store.read() as con:
        kept = con.execute(
            "SELECT count(file_path), count(*) FILTER (created_at IS NOT NULL) FROM datasets"
        ).fetchall()
        timings = con.execute("SELECT count(seconds) FROM meta_features").fetchall()
        failed = con.execute(
            "SELECT count(*) FILTER (value IS NULL AND error = 'boom'),"
            " count(fold_values), count(runtime_s) FROM evaluations"
        ).fetchall()
        sources = con.execute("SELECT DISTINCT source, provenance FROM evaluations").fetchall()
    assert had == [(4,)] and kept == [(0, 3)] and timings == [(0,)]
    assert failed == [(6, 66, 72)]
    assert sources == [("local", "sweep:standard")]


def test_the_same_knowledge_base_exports_to_the_same_bytes(
    sweep_store: Store, metadataset: Path, tmp_path: Path
) -> None:
    again = tmp_path / "again"
    export_metadataset(sweep_store, again, command="pytest")
    for path in metadataset.iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name


def test_a_real_sweep_round_trips(tmp_path: Path, store: Store) -> None:
    from metakb.kb import KnowledgeBase

    tables = tmp_path / "tables"
    tables.mkdir()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"]).assign(target=(x[:, 0] > 0).astype(int))
    frame.to_csv(tables / "binary.csv", index=False)
    swept = KnowledgeBase(tmp_path / "swept.duckdb")
    swept.sweep("lightgbm", str(tables), design="small", n_splits=2)
    manifest = swept.export_metadataset(tmp_path / "out")
    import_metadataset(store, tmp_path / "out")
    original, imported = _slice(swept.store), _slice(store)
    assert manifest.rows()["evaluations"] > 0 and manifest.rows()["meta_features"] > 0
    for table in TABLES:
        assert imported[table].equals(original[table]), table
    folds = imported["evaluations"].column("fold_values").to_pylist()
    assert all(len(json.loads(f)) == 2 for f in folds if f is not None)


def test_importing_twice_adds_nothing(metadataset: Path, store: Store) -> None:
    import_metadataset(store, metadataset)
    before = _counts(store)
    again = import_metadataset(store, metadataset)
    assert set(again.added().values()) == {0}
    assert _counts(store) == before


def test_importing_into_the_knowledge_base_it_came_from_adds_nothing(
    sweep_store: Store, metadataset: Path
) -> None:
    assert set(import_metadataset(sweep_store, metadataset).added().values()) == {0}


def _flip_a_byte(folder: Path) -> None:
    path = folder / "evaluations.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _edit_manifest(**changes: object) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        body = json.loads((folder / MANIFEST).read_text())
        body.update(changes)
        (folder / MANIFEST).write_text(json.dumps(body))

    return edit


def _point_outside(folder: Path) -> None:
    body = json.loads((folder / MANIFEST).read_text())
    body["tables"]["configs"]["file"] = "../configs.parquet"
    (folder / MANIFEST).write_text(json.dumps(body))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (_flip_a_byte, r"evaluations\.parquet is corrupt: its sha256 differs"),
        (lambda f: (f / "configs.parquet").unlink(), r"configs\.parquet is missing"),
        (lambda f: (f / MANIFEST).unlink(), r"manifest\.json is missing"),
        (lambda f: (f / MANIFEST).write_text("{not json"), r"manifest\.json is malformed"),
        (_edit_manifest(schema_version=SCHEMA_VERSION + 1), r"newer than this metakb's"),
        (_edit_manifest(format_version=99), r"format version 99, newer"),
        (_point_outside, r"unexpected entry 'configs'"),
    ],
)
def test_a_damaged_folder_is_one_line_and_writes_nothing(
    metadataset: Path, store: Store, damage: Callable[[Path], None], message: str
) -> None:
    damage(metadataset)
    with pytest.raises(DataSourceError, match=message) as info:
        import_metadataset(store, metadataset)
    assert "\n" not in str(info.value)
    assert not store.exists()


def test_exporting_a_knowledge_base_without_a_sweep_is_refused(
    store: Store, tiny_data: Path, tmp_path: Path
) -> None:
    from metakb.sources.published import import_published

    import_published(store, tiny_data)
    with pytest.raises(DataSourceError, match=r"no evaluations with provenance 'sweep:'"):
        export_metadataset(store, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_shipped_folder_is_package_data_and_env_overrides_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV)
    package = Path(metakb.__file__).parent / "_data" / "metadataset"
    assert shipped_metadataset_path() == package
    monkeypatch.setenv(ENV, str(tmp_path))
    assert shipped_metadataset_path() == tmp_path
    (tmp_path / "README.md").write_text("no meta-dataset yet")
    assert find_metadataset() is None  # a folder without a manifest counts as absent


def test_the_wheel_and_the_repository_carry_every_exported_file(metadataset: Path) -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["metakb"]
    for name in [p.name for p in metadataset.iterdir()] + ["README.md"]:
        assert any(fnmatch.fnmatch(f"_data/metadataset/{name}", p) for p in patterns), name
    # data/metadataset in the repository is the package's folder.
    assert (REPO / "data" / "metadataset").resolve() == (
        REPO / "metakb" / "_data" / "metadataset"
    ).resolve()
    assert (REPO / "data" / "metadataset" / "README.md").is_file()


def _files(results: Sequence[FileResult]) -> list[str]:
    return [f"{f.source}/{Path(f.file).name}" for f in results]


def test_a_fresh_install_imports_the_shipped_meta_dataset_alone(
    metadataset: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("METAKB_DATA", raising=False)
    summary = import_with_metadataset(store, metadataset_dir=metadataset)
    assert summary.data_dir == str(metadataset)
    assert _files(summary.files) == [f"{SOURCE}/{t}.parquet" for t in TABLES]


def test_published_files_come_first_then_the_shipped_ones(
    metadataset: Path, store: Store, tiny_data: Path
) -> None:
    summary = import_with_metadataset(store, tiny_data, metadataset_dir=metadataset)
    sources = [f.source for f in summary.files]
    first_shipped = sources.index(SOURCE)
    assert set(sources[:first_shipped]) == set(SOURCES)
    assert set(sources[first_shipped:]) == {SOURCE}
    counts = _counts(store)
    assert counts["evaluations"] == TINY_COUNTS["evaluations"] + 72
    assert counts["tasks"] == TINY_COUNTS["tasks"] + 3


def test_sources_choose_between_published_and_shipped(
    metadataset: Path, store: Store, tiny_data: Path, tmp_path: Path
) -> None:
    only_pmlb = import_with_metadataset(
        store, tiny_data, sources=("pmlb_datasets",), metadataset_dir=metadataset
    )
    assert {f.source for f in only_pmlb.files} == {"pmlb_datasets"}
    only_shipped = import_with_metadataset(
        store, tiny_data, sources=(SOURCE,), metadataset_dir=metadataset
    )
    assert {f.source for f in only_shipped.files} == {SOURCE}
    with pytest.raises(DataSourceError, match=r"no meta-dataset in .*no manifest\.json"):
        import_with_metadataset(store, sources=(SOURCE,), metadataset_dir=tmp_path / "absent")


def test_without_data_folder_or_shipped_meta_dataset_the_error_is_as_before(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("METAKB_DATA", raising=False)
    with pytest.raises(DataSourceError, match=r"no data folder given"):
        import_with_metadataset(store)


def test_the_pipeline_writes_the_folder_and_records_its_command(
    sweep_store: Store, tmp_path: Path
) -> None:
    spec = importlib.util.spec_from_file_location(
        "build_metadataset", REPO / "pipelines" / "build_metadataset.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "out"
    assert module.main(["--db", str(sweep_store.path), "--out", str(out)]) == 0
    manifest = read_manifest(out)
    assert manifest.command.startswith("python pipelines/build_metadataset.py --db ")
    assert manifest.rows()["evaluations"] == 72
    assert module.main(["--db", str(tmp_path / "none.duckdb"), "--out", str(out)]) == 1
