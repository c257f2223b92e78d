"""General (simple) meta-features, as OpenML's ``SimpleMetaFeatures`` defines them.

OpenML counts the target as an attribute: NumberOfFeatures is the number of
feature columns plus one, NumberOfSymbolicFeatures counts a nominal target and
NumberOfNumericFeatures a numeric one, and NumberOfBinaryFeatures counts a
two-class target. Percentages are in percent (0-100) of NumberOfFeatures (or
of NumberOfInstances / cells). NumberOfBinaryFeatures counts categorical
columns with exactly two *observed* values (OpenML counts nominal attributes
*declared* with two values). AutoCorrelation follows OpenML literally: for a
nominal target ``(n - 1 - changes) / (n - 1)`` where ``changes`` counts
consecutive rows with different classes; for a numeric target the sum of
consecutive differences ``y[i-1] - y[i]`` replaces ``changes``. Rows whose
target is missing were dropped before, so NumberOfInstances may be lower than
OpenML's.

MinorityClassPercentage is a *fraction* (0-1): OpenML's current code computes
a percentage, but every value stored for the 100 OpenML100 tasks in the
knowledge base is a fraction, and local values must sit in the same space.
MajorityClassPercentage is a percentage (89 of those 100 stored values are).
"""

from __future__ import annotations

import warnings

import numpy as np

from metakb.metafeatures._base import Family, Prepared, Sink

_COMMON = [
    "NumberOfInstances",
    "NumberOfFeatures",
    "NumberOfClasses",
    "Dimensionality",
    "NumberOfNumericFeatures",
    "NumberOfSymbolicFeatures",
    "NumberOfBinaryFeatures",
    "PercentageOfNumericFeatures",
    "PercentageOfSymbolicFeatures",
    "PercentageOfBinaryFeatures",
    "NumberOfMissingValues",
    "NumberOfInstancesWithMissingValues",
    "PercentageOfMissingValues",
    "PercentageOfInstancesWithMissingValues",
    "AutoCorrelation",
    "metakb.simple.NumberOfInfiniteValues",
    "metakb.simple.NumberOfConstantFeatures",
    "metakb.simple.LogNumberOfInstances",
    "metakb.simple.LogNumberOfFeatures",
]
_CLASS_ONLY = [
    "MajorityClassSize",
    "MinorityClassSize",
    "MajorityClassPercentage",
    "MinorityClassPercentage",
    "DefaultAccuracy",
    "metakb.simple.ClassImbalanceRatio",
]


def names(task_type: str) -> list[str]:
    """Return the names this family reports for a task type."""
    return _COMMON + _CLASS_ONLY


def compute(data: Prepared, sink: Sink) -> None:
    """Fill ``sink`` with the general meta-features of ``data``."""
    n = data.n
    target_nominal = data.classification
    n_attributes = data.n_features + 1
    n_num = data.num.shape[1] + (0 if target_nominal else 1)
    n_sym = data.cat.shape[1] + (1 if target_nominal else 0)
    n_bin = int((data.cat_levels == 2).sum()) + int(target_nominal and data.n_classes == 2)
    put = sink.put
    put("NumberOfInstances", n)
    put("NumberOfFeatures", n_attributes)
    put("NumberOfClasses", data.n_classes)
    put("Dimensionality", n_attributes / n if n else None, "no rows")
    put("NumberOfNumericFeatures", n_num)
    put("NumberOfSymbolicFeatures", n_sym)
    put("NumberOfBinaryFeatures", n_bin)
    put("PercentageOfNumericFeatures", 100.0 * n_num / n_attributes)
    put("PercentageOfSymbolicFeatures", 100.0 * n_sym / n_attributes)
    put("PercentageOfBinaryFeatures", 100.0 * n_bin / n_attributes)
    put("NumberOfMissingValues", data.n_missing)
    with_missing = int(data.row_has_missing.sum())
    put("NumberOfInstancesWithMissingValues", with_missing)
    cells = n * n_attributes
    put("PercentageOfMissingValues", 100.0 * data.n_missing / cells if cells else None, "no rows")
    put(
        "PercentageOfInstancesWithMissingValues", 100.0 * with_missing / n if n else None, "no rows"
    )
    if n > 1:
        if target_nominal:
            changes = float(np.count_nonzero(data.y[1:] != data.y[:-1]))
        else:
            changes = float(np.sum(data.y[:-1] - data.y[1:]))
        put("AutoCorrelation", (n - 1 - changes) / (n - 1))
    else:
        put("AutoCorrelation", None, "needs at least two rows")
    put("metakb.simple.NumberOfInfiniteValues", data.n_infinite)
    put("metakb.simple.NumberOfConstantFeatures", _constant_columns(data))
    put("metakb.simple.LogNumberOfInstances", np.log(n) if n else None, "no rows")
    put(
        "metakb.simple.LogNumberOfFeatures",
        np.log(data.n_features) if data.n_features else None,
        "no features",
    )
    if not target_nominal:
        sink.skip(_CLASS_ONLY, "not defined for a regression target")
        return
    counts = np.bincount(data.y, minlength=data.n_classes)
    counts = counts[counts > 0]
    if counts.size == 0:
        sink.skip(_CLASS_ONLY, "no rows")
        return
    major, minor = int(counts.max()), int(counts.min())
    put("MajorityClassSize", major)
    put("MinorityClassSize", minor)
    put("MajorityClassPercentage", 100.0 * major / n)
    # A fraction, not a percentage: every value OpenML stored for the OpenML100 tasks is.
    put("MinorityClassPercentage", minor / n)
    put("DefaultAccuracy", major / n)
    put("metakb.simple.ClassImbalanceRatio", major / minor)


def _constant_columns(data: Prepared) -> int:
    """Count feature columns with at most one distinct non-missing value."""
    num = data.num
    if num.shape[0]:
        # All-missing columns give NaN (counted constant); silence numpy's warning about it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanmin(num, axis=0), np.nanmax(num, axis=0)
    else:
        lo = hi = np.zeros(num.shape[1])
    constant_num = int(np.sum(~(hi > lo)))
    return constant_num + int(np.sum(data.cat_levels <= 1))


FAMILY = Family("simple", names, compute)
