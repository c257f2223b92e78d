"""Frozen batches of rows for the knowledge base's tables: the only place that names columns.

A batch is columnar: each field is one column, given as a sequence (a list, a
NumPy array, a pandas Series or extension array) or as a single value that
every row shares. A bulk import of 100,000 evaluations is then one record of a
few arrays, not 100,000 Python objects, and reaches DuckDB as it did as a
DataFrame. A field left ``None`` is not written (the table's default, or what
is already stored, stands). When no field is a sequence the batch is one row.

Construction validates the batch: sequences of equal length, required fields
present and without nulls. A malformed batch raises :class:`ValueError` before
anything is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, TypeAlias, TypeVar

import numpy as np
import pandas as pd

Column: TypeAlias = Sequence[Any] | np.ndarray | pd.Series | pd.api.extensions.ExtensionArray
"""One column of a batch: its values, row by row."""
Values: TypeAlias = Column | str | int | float | bool | None
"""A field of a batch: a column, or one value shared by every row (``None``: not written)."""

_B = TypeVar("_B", bound="_Rows")

# How a column given as a Python list becomes an array: integer columns take
# pandas' nullable integers (a list with None would otherwise be an object column
# DuckDB cannot type), float columns NumPy floats (None becomes NaN, stored as NULL).
_INT, _FLOAT = "int", "float"


def _nulls(value: Any) -> np.ndarray:
    """Return where ``value`` (a column or one value) is null, as a boolean array."""
    return np.asarray(pd.isna(value))


def _is_column(value: object) -> bool:
    return isinstance(
        value, list | tuple | range | np.ndarray | pd.Series | pd.api.extensions.ExtensionArray
    )


@dataclass(frozen=True, kw_only=True, eq=False)
class _Rows:
    """Base of the batch records: validation, length and the frame the writer registers."""

    table: ClassVar[str]
    _required: ClassVar[tuple[str, ...]]
    _kinds: ClassVar[dict[str, str]] = {}
    _n: int = field(init=False, repr=False, default=0)

    def __post_init__(self) -> None:
        kind = type(self).__name__
        lengths = {
            f.name: len(getattr(self, f.name))
            for f in self._columns()
            if _is_column(getattr(self, f.name))
        }
        if len(set(lengths.values())) > 1:
            raise ValueError(f"{kind}: columns differ in length ({lengths})")
        n = next(iter(lengths.values())) if lengths else 1
        for name in self._required:
            value = getattr(self, name)
            if value is None:
                raise ValueError(f"{kind}.{name} is required")
            missing = _nulls(value)
            if missing.any():
                row = int(np.argmax(missing)) if missing.ndim else 0
                raise ValueError(f"{kind}.{name} must not be null (row {row})")
        object.__setattr__(self, "_n", n)

    @classmethod
    def _columns(cls) -> list[Any]:
        return [f for f in fields(cls) if not f.name.startswith("_")]

    def __len__(self) -> int:
        return self._n

    @classmethod
    def concat(cls: type[_B], batches: Sequence[_B]) -> _B:
        """Return one batch with the rows of ``batches``, in order."""
        if not batches:
            raise ValueError(f"{cls.__name__}.concat needs at least one batch")
        values: dict[str, Any] = {}
        for f in cls._columns():
            given = [getattr(b, f.name) for b in batches]
            if all(v is None for v in given):
                values[f.name] = None
                continue
            column: list[Any] = []
            for batch, value in zip(batches, given, strict=True):
                column.extend(list(value) if _is_column(value) else [value] * len(batch))
            values[f.name] = column
        return cls(**values)

    @classmethod
    def from_frame(cls: type[_B], frame: pd.DataFrame) -> _B:
        """Return a batch of ``frame``'s rows, whose columns are named and encoded as stored.

        The inverse of reading the table (an export of it, say): every column
        becomes a field, a column the frame lacks is not written.

        Raises
        ------
        ValueError
            A column the table does not have, or rows the batch refuses.
        """
        names = {f.name for f in cls._columns()}
        unknown = sorted(str(c) for c in frame.columns if c not in names)
        if unknown:
            raise ValueError(f"{cls.__name__} has no column(s) {unknown}")
        return cls(**{str(c): cls._decode(str(c), frame[c]) for c in frame.columns})

    @classmethod
    def _decode(cls, name: str, column: pd.Series) -> Any:
        """Return a stored column as the field takes it (the same, unless encoded on write)."""
        return column

    def _frame(self) -> pd.DataFrame:
        """Return the rows as a DataFrame named as the table's columns (for the writer)."""
        given = {f.name: getattr(self, f.name) for f in self._columns()}
        data: dict[str, Any] = {}
        broadcast = not any(_is_column(v) for v in given.values())
        for name, value in given.items():
            if value is None:
                continue
            if broadcast:
                value = [value]
            data[name] = self._column(name, value)
        return pd.DataFrame(data)

    def _column(self, name: str, value: Any) -> Any:
        if isinstance(value, pd.Series):
            # The values only: a Series' index would align, not position, the columns.
            return value.array
        if isinstance(value, list | tuple | range):
            kind = self._kinds.get(name)
            if kind == _INT:
                return pd.array(list(value), dtype="Int64")
            if kind == _FLOAT:
                return np.array(value, dtype=float)
        return value


@dataclass(frozen=True, kw_only=True, eq=False)
class Datasets(_Rows):
    """Rows of ``datasets``: one per dataset, keyed by ``dataset_id``.

    Attributes
    ----------
    dataset_id : Values
        ``openml:<did>``, ``pmlb:<name>``, ``local:<content hash>``... (required).
    source : Values
        Where the row came from (required).
    openml_dataset_id, name, task_type, n_rows, n_features, n_classes : Values, optional
        Filled in later when first written empty, as are the next three.
    target, file_path, content_hash : Values, optional
        The target column's name, the local file and its content hash.
    """

    table: ClassVar[str] = "datasets"
    _required: ClassVar[tuple[str, ...]] = ("dataset_id", "source")
    _kinds: ClassVar[dict[str, str]] = {
        "openml_dataset_id": _INT,
        "n_rows": _INT,
        "n_features": _INT,
        "n_classes": _INT,
    }

    dataset_id: Values
    source: Values
    openml_dataset_id: Values = None
    name: Values = None
    task_type: Values = None
    n_rows: Values = None
    n_features: Values = None
    n_classes: Values = None
    target: Values = None
    file_path: Values = None
    content_hash: Values = None


@dataclass(frozen=True, kw_only=True, eq=False)
class Tasks(_Rows):
    """Rows of ``tasks``: one per task, keyed by ``task_id``.

    Attributes
    ----------
    task_id : Values
        ``openml:<tid>``, ``local:<hash>:<target>``... (required).
    source : Values
        Where the row came from (required).
    openml_task_id, dataset_id, name, task_type, target : Values, optional
        Filled in later when first written empty, as are the next two.
    estimation_procedure, metric : Values, optional
        How the task is evaluated (``'10-fold Crossvalidation'``) and its metric.
    """

    table: ClassVar[str] = "tasks"
    _required: ClassVar[tuple[str, ...]] = ("task_id", "source")
    _kinds: ClassVar[dict[str, str]] = {"openml_task_id": _INT}

    task_id: Values
    source: Values
    openml_task_id: Values = None
    dataset_id: Values = None
    name: Values = None
    task_type: Values = None
    target: Values = None
    estimation_procedure: Values = None
    metric: Values = None


@dataclass(frozen=True, kw_only=True, eq=False)
class Flows(_Rows):
    """Rows of ``flows``: an algorithm's implementation and the parameter names of its configs.

    Attributes
    ----------
    flow_id, name, algorithm, source : Values
        Required; ``algorithm`` is the name of a :mod:`metakb.spaces` space when there is one.
    parameters : sequence of sequences of str, optional
        Per flow, the parameter names its configurations are keyed by (stored
        sorted, as a JSON list; ``None`` for a flow without them).
    openml_flow_id : Values, optional
        The OpenML flow id when the flow is one.
    """

    table: ClassVar[str] = "flows"
    _required: ClassVar[tuple[str, ...]] = ("flow_id", "name", "algorithm", "source")
    _kinds: ClassVar[dict[str, str]] = {"openml_flow_id": _INT}

    flow_id: Values
    name: Values
    algorithm: Values
    source: Values
    parameters: Sequence[Sequence[str] | None] | None = None
    openml_flow_id: Values = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.parameters is not None and any(isinstance(p, str) for p in self.parameters):
            raise ValueError("Flows.parameters holds one sequence of names per flow, not names")

    @classmethod
    def _decode(cls, name: str, column: pd.Series) -> Any:
        if name == "parameters":
            return [None if pd.isna(text) else json.loads(text) for text in column]
        return super()._decode(name, column)

    def _column(self, name: str, value: Any) -> Any:
        if name == "parameters":
            return [None if names is None else json.dumps(sorted(names)) for names in value]
        return super()._column(name, value)


@dataclass(frozen=True, kw_only=True, eq=False)
class Configs(_Rows):
    """Rows of ``configs``: canonical parameter settings of a flow, keyed by ``config_id``.

    Attributes
    ----------
    config_id, flow_id, params : Values
        Required; ``config_id`` and ``params`` come from :func:`metakb.configs.config_id`
        and :func:`metakb.configs.canonical_json` (or their batch form).
    name : Values, optional
        A published name of the setting (TabRepo's configurations).
    """

    table: ClassVar[str] = "configs"
    _required: ClassVar[tuple[str, ...]] = ("config_id", "flow_id", "params")

    config_id: Values
    flow_id: Values
    params: Values
    name: Values = None


@dataclass(frozen=True, kw_only=True, eq=False)
class Evaluations(_Rows):
    """Rows of ``evaluations``: one value of one metric of one configuration on one task.

    The natural key is (task, config, metric, fidelity, source, provenance).

    Attributes
    ----------
    task_id, config_id, metric, source, provenance : Values
        Required.
    value : Values, optional
        The metric's value; null for a failed evaluation.
    fidelity : Values, optional
        Fraction of the full budget (1.0 when not given).
    runtime_s, infer_s : Values, optional
        Training and inference seconds.
    fold_values : Values, optional
        The per-fold values as a JSON list (cross-validated evaluations).
    error : Values, optional
        Why a failed evaluation failed (one line).
    """

    table: ClassVar[str] = "evaluations"
    _required: ClassVar[tuple[str, ...]] = (
        "task_id",
        "config_id",
        "metric",
        "source",
        "provenance",
    )
    _kinds: ClassVar[dict[str, str]] = {
        "value": _FLOAT,
        "fidelity": _FLOAT,
        "runtime_s": _FLOAT,
        "infer_s": _FLOAT,
    }

    task_id: Values
    config_id: Values
    metric: Values
    source: Values
    provenance: Values
    value: Values = None
    fidelity: Values = None
    runtime_s: Values = None
    infer_s: Values = None
    fold_values: Values = None
    error: Values = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fidelity is not None:
            missing = _nulls(self.fidelity)
            if missing.any():
                raise ValueError("Evaluations.fidelity must not be null (leave it out for 1.0)")


@dataclass(frozen=True, kw_only=True, eq=False)
class MetaFeatures(_Rows):
    """Rows of ``meta_features``: one value per (dataset, name, producer).

    Attributes
    ----------
    dataset_id, name, computed_by : Values
        Required; ``computed_by`` is ``'openml'`` or ``'metakb'``.
    value : Values, optional
        Null when it could not be computed (see ``reason``).
    family, version, reason : Values, optional
        The meta-feature's family, the producer's version, why a value is missing.
    seconds : Values, optional
        Seconds the family took.
    """

    table: ClassVar[str] = "meta_features"
    _required: ClassVar[tuple[str, ...]] = ("dataset_id", "name", "computed_by")
    _kinds: ClassVar[dict[str, str]] = {"value": _FLOAT, "seconds": _FLOAT}

    dataset_id: Values
    name: Values
    computed_by: Values
    value: Values = None
    family: Values = None
    version: Values = None
    seconds: Values = None
    reason: Values = None

    def n_missing(self) -> int:
        """Return how many rows have no value."""
        if self.value is None:
            return len(self)
        missing = _nulls(self.value)
        return int(missing.sum()) if missing.ndim else int(missing) * len(self)


Rows: TypeAlias = Datasets | Tasks | Flows | Configs | Evaluations | MetaFeatures
"""Any batch a writer takes."""
