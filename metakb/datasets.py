"""Load a user's table into features, target and column kinds.

Supported files: CSV, TSV (either optionally gzip'd: ``.csv.gz``, ``.tsv.gz``),
Parquet and ARFF. Every problem a user can cause (a missing file, an empty
one, an unknown target, ...) raises :class:`~metakb.errors.DatasetError` with a
one-line message.

Paths
-----
metakb runs with its user's own permissions, so a path is read as the
operating system resolves it: relative to the working folder, through ``..``
and symbolic links, wherever it leads. Refusing paths outside some folder would
not protect anything a local user cannot already read; what is refused is what
would hang or exhaust memory: anything but a regular file (a directory, FIFO
or device such as ``/dev/zero``), an unsupported extension, and a file over
``max_bytes``, on disk or once decompressed (gzip, Parquet). The stored path is
the resolved absolute one. A server (the app) must never pass a path chosen by
a browser here.

Column kinds
------------
A column is ``"categorical"`` when the file says so: a string, boolean or
pandas ``category`` column, or an ARFF nominal attribute (ARFF declares every
type, so nothing is inferred for ARFF files). Otherwise a numeric column is
also ``"categorical"`` when all its values are integers and it has at most
:data:`MAX_INTEGER_CATEGORIES` (10) distinct values: PMLB, like many exported
tables, integer-encodes categorical features, and 10 keeps small ordinal codes
(grades 1-10, counts of children) categorical while ages, prices and pixel
intensities stay numeric. Everything else is ``"numeric"``. The rule is a
heuristic; pass ``kinds`` explicitly when you know better.

Dates, ids and free text
------------------------
Features no model can use as categories are found by narrow rules
(:func:`metakb._columns.detect_columns`, documented in its module): dates become
one numeric column, days since 1970-01-01; id-like columns (a different value
on every row) and free text are dropped. Each leaves a one-line note in
:attr:`Table.notes`. The meta-features and the models see the same transformed
table; the content hash stays the file's. ``detect_columns=False`` keeps every
column as read.

Task type
---------
Classification when the target is categorical by the file's type, or
integer-valued with at most :data:`MAX_CLASSES_INFERRED` (30) distinct values;
regression otherwise. Pass ``task_type`` to override (ordinal targets such as
PMLB's ``1027_ESL`` are ambiguous).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from metakb._columns import detect_columns as _detect_columns
from metakb._columns import encode_columns
from metakb.errors import DatasetError

log = logging.getLogger(__name__)

MAX_INTEGER_CATEGORIES = 10
MAX_CLASSES_INFERRED = 30
DEFAULT_MAX_BYTES = 1 << 30
DEFAULT_TARGETS = ("target", "class")
# '?' is ARFF's and UCI's missing-value marker; pandas' defaults cover NA, NaN, empty.
_NA_VALUES = ["?"]
_SUFFIXES = {
    ".csv": "csv",
    ".csv.gz": "csv",
    ".tsv": "tsv",
    ".tsv.gz": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".arff": "arff",
    ".arff.gz": "arff",
}


@dataclass(frozen=True, eq=False)
class Table:
    """A loaded table: features, target and what metakb inferred about them.

    Attributes
    ----------
    X : pandas.DataFrame
        Feature columns (the target removed), rows with a missing target dropped.
    y : pandas.Series
        The target.
    kinds : Mapping[str, str]
        ``"categorical"`` or ``"numeric"`` for every column of ``X`` and for the target.
    task_type : str
        ``"classification"`` or ``"regression"``.
    name : str
        The file name without its extensions.
    target : str
        The target column's name.
    content_hash : str
        SHA-256 of the file's bytes (hex); the same file gives the same hash.
    n_dropped : int
        Rows dropped because their target was missing.
    path : str or None
        The file's absolute path.
    notes : tuple of str
        One line per feature column encoded or dropped as a date, an id or
        free text (``column 'id' is id-like (...): dropped``), in column order.
    """

    X: pd.DataFrame
    y: pd.Series
    kinds: Mapping[str, str]
    task_type: str
    name: str
    target: str
    content_hash: str
    n_dropped: int = 0
    path: str | None = field(default=None)
    notes: tuple[str, ...] = ()


def file_format(path: str | Path) -> str:
    """Return ``"csv"``, ``"tsv"``, ``"parquet"`` or ``"arff"`` from a file name.

    Raises
    ------
    DatasetError
        For any other extension.
    """
    name = Path(path).name.lower()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return _SUFFIXES[suffix]
    supported = ", ".join(sorted(_SUFFIXES))
    raise DatasetError(f"{Path(path).name}: unsupported file type (supported: {supported})")


def file_hash(path: str | Path) -> str:
    """Return the SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def table_name(path: str | Path) -> str:
    """Return a file's name without its data extensions (``iris.csv.gz`` -> ``iris``)."""
    name = Path(path).name
    lowered = name.lower()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


def load_table(
    path: str | Path,
    target: str | None = None,
    *,
    task_type: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    duplicate_columns: str = "error",
    detect_columns: bool = True,
) -> Table:
    """Read a table file and split it into features and target.

    Parameters
    ----------
    path : str or Path
        A CSV, TSV, Parquet or ARFF file (CSV/TSV/ARFF may be gzip'd).
    target : str, optional
        The target column; by default a column named ``target`` or ``class``
        (case-insensitive).
    task_type : {"classification", "regression"}, optional
        Overrides the inferred task type.
    max_bytes : int
        Refuse files larger than this, on disk or decompressed (default 1 GiB).
    duplicate_columns : {"error", "rename"}
        What to do with repeated column names: refuse the file, or keep the
        first and rename later ones ``name.1``, ``name.2``, ... as pandas does
        (some published files, e.g. PMLB's ``schizo``, repeat ``target``).
    detect_columns : bool
        Encode date columns and drop id-like and free-text ones, each with a
        note in :attr:`Table.notes` (module doc); False keeps every column.

    Returns
    -------
    Table

    Raises
    ------
    DatasetError
        Missing, empty, oversized (on disk or decompressed), non-UTF-8 or
        malformed files, and paths that are not regular files; a single column
        (wrong delimiter); duplicate column names; an unknown target or one
        that is entirely missing; an unsupported extension; no feature left
        once dates, ids and free text are handled.
    """
    path = Path(path)
    fmt = file_format(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file")
    if not path.is_file():
        # A directory, FIFO or device (/dev/zero) would fail late, hang, or never end.
        raise DatasetError(f"{path}: not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise DatasetError(f"{path}: the file is empty")
    if size > max_bytes:
        raise DatasetError(f"{path}: {size} bytes is over the limit of {max_bytes} bytes")
    if task_type is not None and task_type not in ("classification", "regression"):
        raise ValueError(f"task_type must be 'classification' or 'regression', not {task_type!r}")
    if duplicate_columns not in ("error", "rename"):
        raise ValueError(
            f"duplicate_columns must be 'error' or 'rename', not {duplicate_columns!r}"
        )

    frame, nominal = _read(path, fmt, strict=duplicate_columns == "error", max_bytes=max_bytes)
    if frame.shape[1] == 0:
        raise DatasetError(f"{path}: no columns found")
    duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
    if duplicated and duplicate_columns == "error":
        raise DatasetError(f"{path}: duplicate column name(s) {', '.join(duplicated)}")
    frame.columns = _dedupe([str(c) for c in frame.columns])
    if frame.shape[1] == 1:
        # In a CSV/TSV one column usually means the wrong delimiter; ARFF/Parquet have none.
        hint = (
            f"; is the delimiter right ({'tab' if fmt == 'tsv' else 'comma'} expected for .{fmt})?"
            if fmt in ("csv", "tsv")
            else ": a target and at least one feature are needed"
        )
        raise DatasetError(f"{path}: only one column found{hint}")
    if len(frame) == 0:
        raise DatasetError(f"{path}: the file has a header but no rows")

    target = _pick_target(frame, target, path)
    y = frame[target]
    missing = y.isna().to_numpy()
    if missing.all():
        raise DatasetError(f"{path}: target column {target!r} has no values")
    n_dropped = int(missing.sum())
    if n_dropped:
        log.info("%s: dropped %d rows whose target is missing", path, n_dropped)
        frame = frame.loc[~missing].reset_index(drop=True)
    X = frame.drop(columns=[target])
    y = frame[target]
    if fmt == "arff":
        # ARFF declares every attribute's type: nothing to infer.
        kinds = {
            c: "categorical"
            if c in nominal or not pd.api.types.is_numeric_dtype(frame[c])
            else "numeric"
            for c in frame.columns
        }
    else:
        kinds = infer_kinds(frame, nominal=nominal)
    notes: list[str] = []
    if detect_columns:
        X, kinds, notes = encode_columns(X, kinds, _detect_columns(X, declared=nominal))
        for note in notes:
            log.info("%s: %s", path, note)
        if X.shape[1] == 0:
            raise DatasetError(f"{path}: no feature column left: {'; '.join(notes)}")
    if task_type is None:
        task_type = infer_task_type(y, kinds[target])
    if task_type == "classification":
        kinds[target] = "categorical"
    elif not pd.api.types.is_numeric_dtype(y):
        raise DatasetError(f"{path}: target {target!r} is not numeric, so it cannot be regressed")
    elif np.isinf(y.to_numpy(dtype=float, na_value=np.nan)).any():
        raise DatasetError(
            f"{path}: target {target!r} has infinite values, so it cannot be regressed"
        )
    else:
        kinds[target] = "numeric"
    return Table(
        X=X,
        y=y,
        kinds=kinds,
        task_type=task_type,
        name=table_name(path),
        target=target,
        content_hash=file_hash(path),
        n_dropped=n_dropped,
        path=str(path.resolve()),
        notes=tuple(notes),
    )


def infer_kinds(frame: pd.DataFrame, *, nominal: Sequence[str] = ()) -> dict[str, str]:
    """Return ``"categorical"`` or ``"numeric"`` for every column (rule in the module doc).

    Parameters
    ----------
    frame : pandas.DataFrame
        The columns to classify.
    nominal : sequence of str
        Columns the file declares categorical (ARFF nominal attributes).
    """
    declared = set(nominal)
    kinds: dict[str, str] = {}
    for name in frame.columns:
        column = frame[name]
        kinds[str(name)] = (
            "categorical" if name in declared or _is_categorical(column) else "numeric"
        )
    return kinds


def _is_categorical(column: pd.Series) -> bool:
    if isinstance(column.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(column):
        return True
    if not pd.api.types.is_numeric_dtype(column):
        return True
    values = column.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(values).any():  # infinities only make sense on a numeric scale
        return False
    values = values[np.isfinite(values)]
    if values.size == 0:
        return False
    if not np.all(values == np.round(values)):
        return False
    return bool(np.unique(values).size <= MAX_INTEGER_CATEGORIES)


def infer_task_type(y: pd.Series, kind: str) -> str:
    """Return ``"classification"`` or ``"regression"`` for a target (rule in the module doc)."""
    if kind == "categorical" and not pd.api.types.is_numeric_dtype(y):
        return "classification"
    if isinstance(y.dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(y):
        return "classification"
    values = y.to_numpy(dtype=float, na_value=np.nan)
    values = values[np.isfinite(values)]
    integer = values.size > 0 and bool(np.all(values == np.round(values)))
    if integer and np.unique(values).size <= MAX_CLASSES_INFERRED:
        return "classification"
    return "regression"


def _pick_target(frame: pd.DataFrame, target: str | None, path: Path) -> str:
    columns = list(frame.columns)
    if target is not None:
        if target not in columns:
            shown = ", ".join(columns[:8]) + (", ..." if len(columns) > 8 else "")
            raise DatasetError(f"{path}: no target column {target!r} (columns: {shown})")
        return target
    lowered = {c.lower(): c for c in columns}
    for name in DEFAULT_TARGETS:
        if name in lowered:
            return lowered[name]
    raise DatasetError(f"{path}: no column named 'target' or 'class'; say which is the target")


def _dedupe(columns: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    out = []
    for name in columns:
        out.append(name if not seen[name] else f"{name}.{seen[name]}")
        seen[name] += 1
    return out


def _read(path: Path, fmt: str, *, strict: bool, max_bytes: int) -> tuple[pd.DataFrame, list[str]]:
    try:
        if fmt == "parquet":
            _check_parquet_size(path, max_bytes)
            return pd.read_parquet(path), []
        text = _read_text(path, max_bytes)
        if not text.strip():
            raise DatasetError(f"{path}: the file is empty")
        if fmt == "arff":
            return _parse_arff(text, path, strict=strict)
        sep = "\t" if fmt == "tsv" else ","
        # newline="" lets csv see a quoted line break, or a CR-only file, as the data it is.
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=sep), [])
        dup = sorted(name for name, count in Counter(header).items() if count > 1)
        if dup and strict:
            raise DatasetError(f"{path}: duplicate column name(s) {', '.join(dup)}")
        return pd.read_csv(io.StringIO(text), sep=sep, na_values=_NA_VALUES), []
    except DatasetError:
        raise
    except (pd.errors.ParserError, csv.Error, ValueError, OSError, ImportError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatasetError(f"{path}: cannot parse as {fmt}: {first}") from exc


def _read_text(path: Path, max_bytes: int) -> str:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            # The limit holds for what a gzip'd file expands to, too (a "zip bomb").
            raw = fh.read(max_bytes + 1)
    except (OSError, EOFError) as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from exc
    if len(raw) > max_bytes:
        raise DatasetError(f"{path}: decompresses to over the limit of {max_bytes} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"{path}: not UTF-8 text (byte {exc.start}); re-save the file as UTF-8"
        ) from exc


def _check_parquet_size(path: Path, max_bytes: int) -> None:
    """Refuse a Parquet file whose table would take more than ``max_bytes`` once read."""
    import pyarrow.parquet as pq

    metadata = pq.ParquetFile(path).metadata
    # Dictionary/RLE pages can be far smaller than the table; in memory every cell
    # takes at least 8 bytes (a float, an integer or a pointer to a string).
    pages = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    size = max(pages, metadata.num_rows * metadata.num_columns * 8)
    if size > max_bytes:
        raise DatasetError(f"{path}: decompresses to over the limit of {max_bytes} bytes")


def _parse_arff(text: str, path: Path, *, strict: bool) -> tuple[pd.DataFrame, list[str]]:
    """Parse a dense ARFF file; nominal attributes become string columns."""
    names: list[str] = []
    nominal: list[int] = []
    numeric: list[int] = []
    lines = text.splitlines()
    start = None
    for number, line in enumerate(lines):
        stripped = line.strip()
        lowered = stripped.lower()
        if not stripped or stripped.startswith("%"):
            continue
        if lowered.startswith("@attribute"):
            rest = stripped[len("@attribute") :].strip()
            name, spec = _split_attribute(rest)
            if spec.startswith("{"):
                nominal.append(len(names))
            elif spec.lower().split()[:1] in (["numeric"], ["real"], ["integer"]):
                numeric.append(len(names))
            names.append(name)
        elif lowered.startswith("@data"):
            start = number + 1
            break
    if start is None or not names:
        raise DatasetError(f"{path}: not an ARFF file (no @attribute/@data section)")
    body = "\n".join(
        line for line in lines[start:] if line.strip() and not line.lstrip().startswith("%")
    )
    if body.lstrip().startswith("{"):
        raise DatasetError(f"{path}: sparse ARFF is not supported")
    rows = list(csv.reader(io.StringIO(body), quotechar="'", skipinitialspace=True))
    if any(len(row) != len(names) for row in rows):
        raise DatasetError(f"{path}: ARFF rows do not have {len(names)} values each")
    dup = sorted(name for name, count in Counter(names).items() if count > 1)
    if dup and strict:
        raise DatasetError(f"{path}: duplicate column name(s) {', '.join(dup)}")
    names = _dedupe(names)
    frame = pd.DataFrame(rows, columns=names, dtype=object)
    frame = frame.replace({"?": None})
    for i in numeric:
        frame[names[i]] = pd.to_numeric(frame[names[i]], errors="raise")
    for i in nominal:
        frame[names[i]] = frame[names[i]].astype("string")
    return frame, [names[i] for i in nominal]


def _split_attribute(rest: str) -> tuple[str, str]:
    if rest[:1] in ("'", '"'):
        quote = rest[0]
        end = rest.find(quote, 1)
        if end < 0:
            raise ValueError(f"unclosed quote in @attribute {rest[:40]}")
        return rest[1:end], rest[end + 1 :].strip()
    parts = rest.split(None, 1)
    if not parts:
        raise ValueError("an @attribute line without a name")
    return parts[0], (parts[1].strip() if len(parts) > 1 else "")


def kb_dataset_id(table: Table) -> str:
    """Return the knowledge-base key of a user's table: ``local:<content hash>``."""
    return f"local:{table.content_hash}"


def subsample_table(table: Table, max_rows: int, *, seed: int = 0) -> Table:
    """Return ``table`` cut to ``max_rows`` rows (stratified by class), or ``table`` if it fits.

    The cut table is a table of its own: its ``content_hash`` is derived from the
    file's hash, the cap and the seed, so its knowledge-base keys differ from
    the full table's and the same cut always gets the same keys.

    Parameters
    ----------
    table : Table
        A loaded table.
    max_rows : int
        The most rows to keep (at least 2).
    seed : int
        Seed of the draw.
    """
    if max_rows < 2:
        raise ValueError("max_rows must be at least 2")
    if len(table.X) <= max_rows:
        return table
    rng = np.random.default_rng(seed)
    y = table.y.reset_index(drop=True)
    if table.task_type == "classification":
        # Every class keeps its share and at least one row (a rare class stays present).
        picked = []
        for label in pd.unique(y):
            rows = np.flatnonzero((y == label).to_numpy())
            share = max(1, round(max_rows * len(rows) / len(y)))
            picked.append(rng.choice(rows, size=min(share, len(rows)), replace=False))
        keep = np.sort(np.concatenate(picked))
    else:
        keep = np.sort(rng.choice(len(y), size=max_rows, replace=False))
    digest = hashlib.sha256(f"{table.content_hash}:rows{max_rows}:seed{seed}".encode()).hexdigest()
    return Table(
        X=table.X.reset_index(drop=True).iloc[keep].reset_index(drop=True),
        y=y.iloc[keep].reset_index(drop=True),
        kinds=table.kinds,
        task_type=table.task_type,
        name=table.name,
        target=table.target,
        content_hash=digest,
        n_dropped=table.n_dropped,
        path=table.path,
        notes=table.notes,
    )
