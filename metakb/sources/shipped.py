"""The shipped meta-dataset: metakb's own sweep results, exported as Parquet and imported back.

``metakb sweep`` evaluates a design of configurations on many datasets and
writes evaluations with provenance ``sweep:<design>``. :func:`export_metadataset`
writes those evaluations and exactly the tasks, datasets, flows, configurations
and meta-features they reference as one zstd-compressed Parquet file per table,
in natural-key order, with a ``manifest.json`` (schema version, row counts,
sha256 of each file, metakb version, the command that made it). Columns that
describe the building machine rather than the runs are left out
(:data:`metakb.store.EXPORT_DROPPED`).

The folder ships inside the package (``metakb/_data/metadataset``, which the
repository also shows as ``data/metadataset``), so a fresh install has a
knowledge base to start from: :func:`import_metadataset` verifies every file
against the manifest, then upserts the rows through the typed writers in one
transaction (a second import adds nothing).
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from metakb._version import __version__
from metakb.datasets import file_hash
from metakb.errors import DataSourceError
from metakb.sources.published import (
    SOURCES,
    FileResult,
    ImportSummary,
    Progress,
    import_published,
)
from metakb.store import (
    SCHEMA_VERSION,
    Configs,
    Datasets,
    Evaluations,
    Flows,
    MetaFeatures,
    Rows,
    Store,
    Tasks,
    get_provenance_slice,
    put_rows,
    record_ingest_run,
    transaction,
)

log = logging.getLogger(__name__)

SOURCE = "metadataset"
"""The shipped meta-dataset's name among the sources of ``metakb ingest published``."""
ENV = "METAKB_METADATASET"
"""Environment variable naming a meta-dataset folder to use instead of the shipped one."""
MANIFEST = "manifest.json"
FORMAT = "metakb-metadataset"
FORMAT_VERSION = 1
SWEEP_PREFIX = "sweep:"
"""Provenance prefix of the sweep's evaluations, the ones exported by default."""

# Tables in the order they are written: a referenced row before the rows naming it.
RECORDS: tuple[type[Rows], ...] = (Datasets, Tasks, Flows, Configs, Evaluations, MetaFeatures)
# The files are written once and shipped in every wheel: zstd's slowest standard
# level (under half a second for 15,000 evaluations) is worth the few % it saves.
_ZSTD_LEVEL = 19
# Parquet integers read back as pandas' nullable integers (NumPy would make a
# column with nulls float, and 31 would come back as 31.0).
_NULLABLE_INTS: dict[pa.DataType, pd.api.extensions.ExtensionDtype] = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
}

__all__ = [
    "ENV",
    "MANIFEST",
    "SOURCE",
    "SWEEP_PREFIX",
    "MetadatasetFile",
    "MetadatasetManifest",
    "export_metadataset",
    "find_metadataset",
    "import_metadataset",
    "import_with_metadataset",
    "read_manifest",
    "shipped_metadataset_path",
]


@dataclass(frozen=True)
class MetadatasetFile:
    """One table's file in a meta-dataset folder: its name, row count and sha256."""

    table: str
    file: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class MetadatasetManifest:
    """What ``manifest.json`` says about a meta-dataset folder.

    Attributes
    ----------
    schema_version : int
        The knowledge-base schema the tables' columns follow.
    metakb_version : str
        The metakb that wrote the files.
    provenance_prefix : str
        The evaluations exported: those whose provenance starts with it.
    command : str
        The command that made the files (how to regenerate them).
    files : tuple of MetadatasetFile
        One per table, in write order.
    """

    schema_version: int
    metakb_version: str
    provenance_prefix: str
    command: str
    files: tuple[MetadatasetFile, ...]

    def rows(self) -> dict[str, int]:
        """Return the row count of each table."""
        return {f.table: f.rows for f in self.files}

    def to_json(self) -> str:
        """Return the manifest as ``manifest.json`` holds it (stable key order)."""
        body = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "schema_version": self.schema_version,
            "metakb_version": self.metakb_version,
            "provenance_prefix": self.provenance_prefix,
            "command": self.command,
            "compression": "zstd",
            "tables": {
                f.table: {"file": f.file, "rows": f.rows, "sha256": f.sha256} for f in self.files
            },
        }
        return json.dumps(body, indent=2) + "\n"


def shipped_metadataset_path() -> Path:
    """Return the folder of the meta-dataset metakb ships (``$METAKB_METADATASET`` overrides).

    The folder is package data (``metakb/_data/metadataset``), found through
    :mod:`importlib.resources` so an installed wheel finds its own copy. It may
    hold no meta-dataset (only its README) until one is built; see
    :func:`find_metadataset`.
    """
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser()
    # An installed wheel or a source checkout is a real folder; a zipped install
    # is not, and then no manifest is found there (find_metadataset says None).
    return Path(str(resources.files("metakb").joinpath("_data", "metadataset")))


def find_metadataset(folder: str | Path | None = None) -> Path | None:
    """Return the meta-dataset folder if it holds a manifest, else None (absent or empty).

    Parameters
    ----------
    folder : str or Path, optional
        The folder; defaults to :func:`shipped_metadataset_path`.
    """
    path = Path(folder).expanduser() if folder is not None else shipped_metadataset_path()
    return path if (path / MANIFEST).is_file() else None


def export_metadataset(
    store: Store,
    folder: str | Path,
    *,
    provenance_prefix: str = SWEEP_PREFIX,
    command: str = "",
) -> MetadatasetManifest:
    """Write a knowledge base's sweep results to ``folder`` as a meta-dataset.

    Parameters
    ----------
    store : Store
        The knowledge base to read.
    folder : str or Path
        Where the Parquet files and ``manifest.json`` go (created if missing;
        files of the same names are replaced, anything else is left alone).
    provenance_prefix : str
        The evaluations exported: those whose provenance starts with it.
    command : str
        The command that made the files, recorded in the manifest.

    Returns
    -------
    MetadatasetManifest
        What was written. The files depend only on the rows (and the pyarrow
        version): the same knowledge base exports to the same bytes.

    Raises
    ------
    DataSourceError
        No evaluation has that provenance prefix.
    """
    with store.read() as con:
        tables = get_provenance_slice(con, provenance_prefix)
    if tables[Evaluations.table].num_rows == 0:
        raise DataSourceError(
            f"{store.path} has no evaluations with provenance {provenance_prefix!r}...; "
            "run `metakb sweep` first"
        )
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    files = tuple(_write_parquet(tables[r.table], out, r.table) for r in RECORDS)
    manifest = MetadatasetManifest(
        schema_version=SCHEMA_VERSION,
        metakb_version=__version__,
        provenance_prefix=provenance_prefix,
        command=command,
        files=files,
    )
    _replace(out / MANIFEST, manifest.to_json().encode())
    log.info("exported %s to %s", manifest.rows(), out)
    return manifest


def _write_parquet(table: pa.Table, folder: Path, name: str) -> MetadatasetFile:
    path = folder / f"{name}.parquet"
    tmp = path.with_name(path.name + ".tmp")
    # One row group and no schema metadata: the bytes follow from the rows alone.
    pq.write_table(
        table.replace_schema_metadata(None),
        tmp,
        compression="zstd",
        compression_level=_ZSTD_LEVEL,
        row_group_size=max(table.num_rows, 1),
    )
    os.replace(tmp, path)
    return MetadatasetFile(name, path.name, table.num_rows, file_hash(path))


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def read_manifest(folder: str | Path) -> MetadatasetManifest:
    """Read and check a meta-dataset folder's ``manifest.json``.

    Raises
    ------
    DataSourceError
        The manifest is missing or malformed, or its format or schema is newer than
        this metakb's.
    """
    path = Path(folder) / MANIFEST
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        if body.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} manifest")
        if int(body["format_version"]) > FORMAT_VERSION:
            raise DataSourceError(
                f"{path} has format version {body['format_version']}, newer than this "
                f"metakb reads ({FORMAT_VERSION}); upgrade metakb"
            )
        tables: dict[str, Any] = body["tables"]
        manifest = MetadatasetManifest(
            schema_version=int(body["schema_version"]),
            metakb_version=str(body["metakb_version"]),
            provenance_prefix=str(body["provenance_prefix"]),
            command=str(body.get("command", "")),
            files=tuple(
                MetadatasetFile(table, str(e["file"]), int(e["rows"]), str(e["sha256"]))
                for table, e in tables.items()
            ),
        )
    except FileNotFoundError:
        raise DataSourceError(f"{path} is missing: not a metakb meta-dataset folder") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataSourceError(f"{path} is malformed ({type(exc).__name__}: {exc})") from None
    if manifest.schema_version > SCHEMA_VERSION:
        raise DataSourceError(
            f"{path}: the meta-dataset has schema version {manifest.schema_version}, newer "
            f"than this metakb's ({SCHEMA_VERSION}); upgrade metakb"
        )
    known = {r.table for r in RECORDS}
    for entry in manifest.files:
        # A bare file name in the folder: a manifest must not point elsewhere.
        if entry.table not in known or Path(entry.file).name != entry.file:
            raise DataSourceError(f"{path}: unexpected entry {entry.table!r}: {entry.file!r}")
    return manifest


def import_metadataset(
    store: Store, folder: str | Path | None = None, *, progress: Progress | None = None
) -> ImportSummary:
    """Import a meta-dataset folder into the knowledge base (idempotent).

    Every file is checked against the manifest's sha256 and row count and
    turned into a batch before anything is written; the rows are then upserted
    in one transaction, evaluations with the source and provenance they were
    stored with.

    Parameters
    ----------
    store : Store
        The knowledge base (created if missing).
    folder : str or Path, optional
        The meta-dataset folder; defaults to :func:`shipped_metadataset_path`.
    progress : callable, optional
        ``progress(description, done, total)`` after each table.

    Returns
    -------
    ImportSummary
        One :class:`~metakb.sources.published.FileResult` per table file (source ``metadataset``).

    Raises
    ------
    DataSourceError
        A missing manifest or file, a file whose sha256 or row count differs
        from the manifest's, or rows the knowledge base refuses; nothing is
        written then.
    """
    start = time.perf_counter()
    root = Path(folder).expanduser() if folder is not None else shipped_metadataset_path()
    manifest = read_manifest(root)
    batches = [_read_table(root, entry) for entry in _in_write_order(manifest)]
    summary = ImportSummary(data_dir=str(root))
    report = progress or (lambda description, done, total: None)
    with store.write() as con, transaction(con):
        for done, (entry, rows) in enumerate(batches, start=1):
            t0 = time.perf_counter()
            try:
                added = put_rows(con, rows)
            except (ValueError, duckdb.Error) as exc:  # rolled back: nothing is written
                first = str(exc).strip().splitlines() or [type(exc).__name__]
                raise DataSourceError(f"{root / entry.file}: {first[0]}") from None
            summary.files.append(
                FileResult(
                    source=SOURCE,
                    file=str(root / entry.file),
                    rows=entry.rows,
                    added={entry.table: added},
                    seconds=time.perf_counter() - t0,
                )
            )
            report("importing the shipped meta-dataset", done, len(batches))
        record_ingest_run(
            con,
            f"{SOURCE}:{manifest.provenance_prefix}",
            source=SOURCE,
            status="done",
            selection={
                "folder": str(root),
                "metakb_version": manifest.metakb_version,
                "sha256": {f.table: f.sha256 for f in manifest.files},
            },
            rows_added=sum(n for f in summary.files for n in f.added.values()),
        )
    summary.seconds = time.perf_counter() - start
    log.info("imported the meta-dataset %s: %s", root, summary.added())
    return summary


def _in_write_order(manifest: MetadatasetManifest) -> list[MetadatasetFile]:
    by_table = {f.table: f for f in manifest.files}
    return [by_table[r.table] for r in RECORDS if r.table in by_table]


def _read_table(root: Path, entry: MetadatasetFile) -> tuple[MetadatasetFile, Rows]:
    path = root / entry.file
    if not path.is_file():
        raise DataSourceError(f"{path} is missing; the meta-dataset is incomplete")
    if file_hash(path) != entry.sha256:
        raise DataSourceError(
            f"{path} is corrupt: its sha256 differs from {MANIFEST}'s; reinstall metakb or "
            "rebuild it with pipelines/build_metadataset.py"
        )
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise DataSourceError(f"{path} cannot be read as Parquet: {exc}") from None
    if table.num_rows != entry.rows:
        raise DataSourceError(f"{path} has {table.num_rows} rows, {MANIFEST} says {entry.rows}")
    frame = table.to_pandas(types_mapper=_NULLABLE_INTS.get)
    record = next(r for r in RECORDS if r.table == entry.table)
    try:
        return entry, record.from_frame(frame)
    except ValueError as exc:
        raise DataSourceError(f"{path}: {exc}") from None


def import_with_metadataset(
    store: Store,
    data_dir: str | Path | None = None,
    *,
    sources: tuple[str, ...] | None = None,
    metadataset_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import the published meta-datasets, then the shipped one (what ``ingest published`` does).

    Parameters
    ----------
    store : Store
        The knowledge base.
    data_dir : str or Path, optional
        The published data folder (default ``$METAKB_DATA``). When neither is
        given and ``sources`` is not, only the shipped meta-dataset is imported
        (a fresh install).
    sources : tuple of str, optional
        Published sub-folders and/or :data:`SOURCE` (default: all of them).
    metadataset_dir : str or Path, optional
        The meta-dataset folder (default :func:`shipped_metadataset_path`);
        skipped when it holds none, unless :data:`SOURCE` was asked for by name.
    progress : callable, optional
        ``progress(description, done, total)``.

    Raises
    ------
    DataSourceError
        A missing or malformed folder or file (as :func:`import_published` and
        :func:`import_metadataset`), or nothing to import.
    """
    chosen = sources or (*SOURCES, SOURCE)
    published = tuple(s for s in chosen if s != SOURCE)
    shipped = find_metadataset(metadataset_dir) if SOURCE in chosen else None
    if SOURCE in (sources or ()) and shipped is None:
        where = metadataset_dir or shipped_metadataset_path()
        raise DataSourceError(f"no meta-dataset in {where} (no {MANIFEST})")
    # A fresh install: no published folder named anywhere, but a meta-dataset shipped.
    fresh = sources is None and data_dir is None and not os.environ.get("METAKB_DATA")
    if shipped is not None and (fresh or not published):
        return import_metadataset(store, shipped, progress=progress)
    summary = import_published(store, data_dir, sources=published, progress=progress)
    if shipped is not None:
        extra = import_metadataset(store, shipped, progress=progress)
        summary.files.extend(extra.files)
        summary.seconds += extra.seconds
    return summary
