"""What every meta-feature family receives and returns.

:func:`prepare` turns a feature frame and a target into arrays once
(numeric matrix, integer codes of categorical columns, encoded target), so
that each family is a few vectorized numpy passes over them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from metakb.datasets import infer_kinds, infer_task_type


@dataclass(frozen=True, eq=False)
class Prepared:
    """Arrays derived once from ``(X, y)`` and shared by every family.

    Attributes
    ----------
    num : ndarray of shape (n, p_num)
        Numeric features as float64; infinities replaced by NaN.
    num_names, cat_names : list of str
        Column names of ``num`` and ``cat``.
    cat : ndarray of shape (n, p_cat)
        Categorical features as integer codes ``0..k-1`` (``-1`` = missing).
    cat_levels : ndarray of shape (p_cat,)
        Number of distinct observed values of each categorical column.
    y : ndarray
        Class codes ``0..K-1`` (classification) or float values (regression).
    classes : ndarray
        Class labels in code order (empty for regression).
    task_type : str
        ``"classification"`` or ``"regression"``.
    n_missing : int
        Missing cells in the features (infinities not counted).
    n_infinite : int
        Infinite cells in the numeric features.
    row_has_missing : ndarray of bool
        Rows with at least one missing feature.
    """

    num: np.ndarray
    num_names: list[str]
    cat: np.ndarray
    cat_names: list[str]
    cat_levels: np.ndarray
    y: np.ndarray
    classes: np.ndarray
    task_type: str
    n_missing: int
    n_infinite: int
    row_has_missing: np.ndarray

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.y.shape[0])

    @property
    def n_features(self) -> int:
        """Number of feature columns (the target excluded)."""
        return int(self.num.shape[1] + self.cat.shape[1])

    @property
    def classification(self) -> bool:
        """Whether the target is categorical."""
        return self.task_type == "classification"

    @property
    def n_classes(self) -> int:
        """Number of observed classes (0 for regression)."""
        return int(self.classes.shape[0])


def prepare(
    X: pd.DataFrame,
    y: pd.Series | np.ndarray,
    *,
    kinds: Mapping[str, str] | None = None,
    task_type: str | None = None,
) -> Prepared:
    """Encode a feature frame and its target for the families.

    Parameters
    ----------
    X : pandas.DataFrame
        Features.
    y : pandas.Series or ndarray
        Target, one value per row of ``X``; rows with a missing target must be
        dropped before (the loader does).
    kinds : mapping, optional
        ``"categorical"``/``"numeric"`` per column; inferred when absent (see
        :mod:`metakb.datasets`).
    task_type : str, optional
        Inferred from ``y`` when absent.
    """
    if not isinstance(X, pd.DataFrame):
        raise ValueError("X must be a pandas DataFrame")
    y = pd.Series(np.asarray(y) if not isinstance(y, pd.Series) else y.to_numpy())
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    if y.isna().any():
        raise ValueError("y has missing values; drop those rows first")
    X = X.reset_index(drop=True)
    X.columns = [str(c) for c in X.columns]
    if X.columns.duplicated().any():
        raise ValueError("X has duplicate column names")
    inferred = infer_kinds(X)
    if kinds is not None:
        odd = sorted({str(v) for v in kinds.values()} - {"categorical", "numeric"})
        if odd:
            # A column of another kind would silently drop out of every family.
            raise ValueError(f"kinds must be 'categorical' or 'numeric', not {odd}")
        inferred.update({k: v for k, v in kinds.items() if k in inferred})
    if task_type is None:
        target_kind = "categorical" if not pd.api.types.is_numeric_dtype(y) else "numeric"
        task_type = infer_task_type(y, target_kind)
    if task_type not in ("classification", "regression"):
        raise ValueError(f"task_type must be 'classification' or 'regression', not {task_type!r}")
    num_names = [c for c in X.columns if inferred[c] == "numeric"]
    cat_names = [c for c in X.columns if inferred[c] == "categorical"]
    n = len(X)
    num = np.empty((n, len(num_names)), dtype=np.float64)
    for j, name in enumerate(num_names):
        num[:, j] = pd.to_numeric(X[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    n_infinite = int(np.isinf(num).sum())
    num[np.isinf(num)] = np.nan
    cat = np.empty((n, len(cat_names)), dtype=np.int64)
    levels = np.zeros(len(cat_names), dtype=np.int64)
    for j, name in enumerate(cat_names):
        codes, uniques = _factorize(X[name])
        cat[:, j] = codes
        levels[j] = len(uniques)
    missing_cells = X.isna().to_numpy()
    if task_type == "classification":
        codes, classes = pd.factorize(y, sort=True)
        y_arr = codes.astype(np.int64)
        class_arr = np.asarray(classes)
    else:
        y_arr = pd.to_numeric(y, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        if not np.all(np.isfinite(y_arr)):
            raise ValueError("a regression target must be finite numbers")
        class_arr = np.empty(0)
    return Prepared(
        num=num,
        num_names=num_names,
        cat=cat,
        cat_names=cat_names,
        cat_levels=levels,
        y=y_arr,
        classes=class_arr,
        task_type=task_type,
        n_missing=int(missing_cells.sum()),
        n_infinite=n_infinite,
        row_has_missing=np.asarray(missing_cells.any(axis=1), dtype=bool).reshape(n),
    )


def _factorize(column: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (-1 = missing) of a column, sorted when its values are comparable."""
    try:
        codes, uniques = pd.factorize(column, sort=True, use_na_sentinel=True)
    except TypeError:  # mixed types (e.g. str and int) cannot be sorted
        as_text = column.map(lambda v: v if pd.isna(v) else str(v))
        codes, uniques = pd.factorize(as_text, sort=True, use_na_sentinel=True)
    return np.asarray(codes), pd.Index(uniques)


class BudgetExceededError(Exception):
    """Raised inside a family when its time budget has run out."""


@dataclass
class Sink:
    """Collects one family's values and the reasons for those it could not compute."""

    budget_s: float
    rng: np.random.Generator
    values: dict[str, float] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    rows_used: int | None = None
    started: float = field(default_factory=time.perf_counter)

    def put(self, name: str, value: float | None, reason: str = "not finite") -> None:
        """Store ``value``; a None or non-finite value is stored as NaN with ``reason``."""
        value = float(value) if value is not None else math.nan
        if math.isfinite(value):
            self.values[name] = value
            self.skipped.pop(name, None)
        else:
            self.values[name] = math.nan
            self.skipped[name] = reason

    def skip(self, names: Iterable[str], reason: str) -> None:
        """Store every name in ``names`` as NaN with ``reason``."""
        for name in names:
            self.put(name, None, reason)

    def check_budget(self) -> None:
        """Raise :class:`BudgetExceededError` once the family has used its budget."""
        if time.perf_counter() - self.started > self.budget_s:
            raise BudgetExceededError(f"time budget of {self.budget_s:g} s exceeded")


@dataclass(frozen=True)
class Family:
    """One family of meta-features.

    Attributes
    ----------
    name : str
        Registry key, stored as ``meta_features.family``.
    names : callable
        ``names(task_type) -> list[str]``: every name the family reports for
        that task type (values it cannot compute are NaN with a reason).
    compute : callable
        ``compute(data, sink)``: fills the sink; may raise, the caller records
        the exception as the reason for the names left unfilled.
    """

    name: str
    names: Callable[[str], list[str]]
    compute: Callable[[Prepared, Sink], None]


def quantile(values: np.ndarray, q: float) -> float:
    """Percentile as Apache Commons Math computes it for OpenML (position ``q * (n + 1)``)."""
    if values.size == 0:
        return math.nan
    return float(np.quantile(values, q, method="weibull"))


def summary(sink: Sink, prefix: str, suffix: str, values: np.ndarray, reason: str) -> None:
    """Put Min/Max/Mean/Quartile1-3 of ``values`` as ``<Stat><prefix><suffix>``-style names."""
    values = values[np.isfinite(values)]
    stats = {
        "Min": lambda v: float(v.min()),
        "Max": lambda v: float(v.max()),
        "Mean": lambda v: float(v.mean()),
        "Quartile1": lambda v: quantile(v, 0.25),
        "Quartile2": lambda v: quantile(v, 0.50),
        "Quartile3": lambda v: quantile(v, 0.75),
    }
    for stat, fn in stats.items():
        name = f"{stat}{prefix}{suffix}"
        if values.size:
            sink.put(name, fn(values))
        else:
            sink.put(name, None, reason)


def entropy_bits(counts: np.ndarray, axis: int = -1) -> np.ndarray:
    """Shannon entropy in bits of count vectors along ``axis`` (0 counts contribute 0)."""
    counts = np.asarray(counts, dtype=float)
    total = counts.sum(axis=axis, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(total > 0, counts / total, 0.0)
        logs = np.where(p > 0, np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return np.asarray(-(p * logs).sum(axis=axis))


def subsample_rows(data: Prepared, max_rows: int, rng: np.random.Generator) -> np.ndarray:
    """Return sorted row indices: all rows, or a class-stratified sample of ``max_rows``."""
    n = data.n
    if n <= max_rows:
        return np.arange(n)
    if not data.classification:
        return np.sort(rng.choice(n, size=max_rows, replace=False))
    chosen: list[np.ndarray] = []
    counts = np.bincount(data.y, minlength=data.n_classes)
    # Largest remainder allocation keeps every class with at least one row.
    share = counts * (max_rows / n)
    take = np.maximum(np.floor(share).astype(int), 1)
    take = np.minimum(take, counts)
    for cls in range(data.n_classes):
        rows = np.flatnonzero(data.y == cls)
        chosen.append(rng.choice(rows, size=int(take[cls]), replace=False))
    return np.sort(np.concatenate(chosen))


def take_rows(data: Prepared, rows: np.ndarray) -> Prepared:
    """Return ``data`` restricted to ``rows`` (class codes kept)."""
    return Prepared(
        num=data.num[rows],
        num_names=data.num_names,
        cat=data.cat[rows],
        cat_names=data.cat_names,
        cat_levels=data.cat_levels,
        y=data.y[rows],
        classes=data.classes,
        task_type=data.task_type,
        n_missing=data.n_missing,
        n_infinite=data.n_infinite,
        row_has_missing=data.row_has_missing[rows],
    )
