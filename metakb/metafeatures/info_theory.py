"""Information-theoretic meta-features, as OpenML's ``AttributeEntropy`` defines them.

OpenML computes these for a nominal target only, and over the *nominal*
non-target attributes only: numeric attributes are not discretized, they are
left out. Entropies are in bits:

- ClassEntropy: entropy of the class distribution.
- ``*AttributeEntropy``: entropy of each nominal attribute's values.
- ``*MutualInformation``: information gain ``H(C) - H(C | A)`` of each nominal
  attribute (rounded to 1e-14 as OpenML does).
- EquivalentNumberOfAtts = ClassEntropy / MeanMutualInformation and
  MeanNoiseToSignalRatio = (MeanAttributeEntropy - MeanMutualInformation) /
  MeanMutualInformation, both undefined when the mean mutual information is 0.
- MeanAttributeEntropy is -1 when there is no nominal attribute (OpenML's
  sentinel, kept so local values sit next to the stored ones); the other
  attribute statistics are then NaN.

Missing values of an attribute are left out of that attribute's entropy and
information gain (OpenML's Weka code counts them as the attribute's first
value).

Because PMLB-style tables carry many numeric columns, ``metakb.info.*``
repeats the attribute statistics over *all* attributes, numeric ones
discretized into :data:`N_BINS` equal-frequency bins.
"""

from __future__ import annotations

import math

import numpy as np

from metakb.metafeatures._base import Family, Prepared, Sink, entropy_bits, summary

N_BINS = 10
_STATS = ("Min", "Max", "Mean", "Quartile1", "Quartile2", "Quartile3")
_OPENML = (
    ["ClassEntropy", "EquivalentNumberOfAtts", "MeanNoiseToSignalRatio"]
    + [f"{s}AttributeEntropy" for s in _STATS]
    + [f"{s}MutualInformation" for s in _STATS]
)
_EXTRA = [
    "metakb.info.MeanAttributeEntropyAll",
    "metakb.info.MaxAttributeEntropyAll",
    "metakb.info.MeanMutualInformationAll",
    "metakb.info.MaxMutualInformationAll",
    "metakb.info.EquivalentNumberOfAttsAll",
    "metakb.info.MeanNoiseToSignalRatioAll",
]


def names(task_type: str) -> list[str]:
    """Return the names this family reports for a task type."""
    return _OPENML + _EXTRA


def entropies(
    codes: np.ndarray, levels: np.ndarray, y: np.ndarray, n_classes: int
) -> tuple[np.ndarray, np.ndarray]:
    """Attribute entropy and information gain of every column of ``codes`` (bits).

    One ``bincount`` builds every attribute-by-class contingency table at once.

    Parameters
    ----------
    codes : ndarray of shape (n, p)
        Integer codes ``0..levels[j]-1``; ``-1`` marks a missing value.
    levels : ndarray of shape (p,)
        Number of codes of each column.
    y : ndarray of shape (n,)
        Class codes ``0..n_classes-1``.
    n_classes : int
        Number of classes.
    """
    p = codes.shape[1]
    if p == 0:
        return np.zeros(0), np.zeros(0)
    # Values of all columns laid end to end: column j owns rows start[j]..start[j]+width[j]-1
    # of one (sum of widths) x n_classes table, so thousands of categories cost no padding.
    width = np.maximum(levels, 1).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(width)[:-1]])
    valid = codes >= 0
    flat = (start[None, :] + np.where(valid, codes, 0)) * n_classes + y[:, None]
    table = np.bincount(flat[valid], minlength=int(width.sum()) * n_classes)
    table = table.reshape(-1, n_classes).astype(float)
    column = np.repeat(np.arange(p), width)
    per_value = table.sum(axis=1)
    total = np.bincount(column, weights=per_value, minlength=p)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total[column] > 0, per_value / total[column], 0.0)
        h_attr = -np.bincount(
            column,
            weights=np.where(share > 0, share * np.log2(np.where(share > 0, share, 1)), 0),
            minlength=p,
        )
        class_counts = np.add.reduceat(table, start, axis=0)  # (p, n_classes)
        h_class = entropy_bits(class_counts, axis=1)
        h_cond = np.bincount(column, weights=per_value * entropy_bits(table, axis=1), minlength=p)
        gain = np.where(total > 0, h_class - h_cond / total, np.nan)
    gain = np.round(gain, 14)
    return np.where(total > 0, h_attr, np.nan), gain


def discretize(num: np.ndarray, n_bins: int = N_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Equal-frequency bin codes of every numeric column (``-1`` = missing) and bin counts."""
    n, p = num.shape
    codes = np.full((n, p), -1, dtype=np.int64)
    levels = np.zeros(p, dtype=np.int64)
    qs = np.linspace(0, 1, n_bins + 1)[1:-1]
    for j in range(p):
        column = num[:, j]
        valid = ~np.isnan(column)
        if not valid.any():
            continue
        edges = np.unique(np.quantile(column[valid], qs))
        codes[valid, j] = np.searchsorted(edges, column[valid], side="right")
        levels[j] = edges.size + 1
    return codes, levels


def compute(data: Prepared, sink: Sink) -> None:
    """Fill ``sink`` with the information-theoretic meta-features of ``data``."""
    if not data.classification:
        sink.skip(names(data.task_type), "not defined for a regression target")
        return
    if data.n == 0:
        sink.skip(names(data.task_type), "no rows")
        return
    k = data.n_classes
    class_entropy = float(entropy_bits(np.bincount(data.y, minlength=k)))
    sink.put("ClassEntropy", class_entropy)
    h_attr, gain = entropies(data.cat, data.cat_levels, data.y, k)
    if h_attr.size == 0:
        # OpenML stores -1 for the mean when there is no nominal attribute.
        sink.put("MeanAttributeEntropy", -1.0)
        missing = [n for n in _OPENML if n not in ("ClassEntropy", "MeanAttributeEntropy")]
        sink.skip(missing, "no nominal attributes")
    else:
        summary(sink, "", "AttributeEntropy", h_attr, "no nominal attribute with values")
        summary(sink, "", "MutualInformation", gain, "no nominal attribute with values")
        _ratios(sink, "", class_entropy, h_attr, gain)
    sink.check_budget()
    bins, bin_levels = discretize(data.num)
    all_codes = np.column_stack([data.cat, bins])
    all_levels = np.concatenate([data.cat_levels, bin_levels])
    h_all, gain_all = entropies(all_codes, all_levels, data.y, k)
    if h_all.size == 0:
        sink.skip(_EXTRA, "no attributes")
        return
    h_all, gain_all = h_all[np.isfinite(h_all)], gain_all[np.isfinite(gain_all)]
    sink.put("metakb.info.MeanAttributeEntropyAll", h_all.mean() if h_all.size else None)
    sink.put("metakb.info.MaxAttributeEntropyAll", h_all.max() if h_all.size else None)
    sink.put("metakb.info.MeanMutualInformationAll", gain_all.mean() if gain_all.size else None)
    sink.put("metakb.info.MaxMutualInformationAll", gain_all.max() if gain_all.size else None)
    _ratios(sink, "All", class_entropy, h_all, gain_all, prefix="metakb.info.")


def _ratios(
    sink: Sink,
    suffix: str,
    class_entropy: float,
    h_attr: np.ndarray,
    gain: np.ndarray,
    prefix: str = "",
) -> None:
    h_attr, gain = h_attr[np.isfinite(h_attr)], gain[np.isfinite(gain)]
    mean_gain = float(gain.mean()) if gain.size else math.nan
    mean_h = float(h_attr.mean()) if h_attr.size else math.nan
    ena, nsr = f"{prefix}EquivalentNumberOfAtts{suffix}", f"{prefix}MeanNoiseToSignalRatio{suffix}"
    if not mean_gain > 0:
        sink.skip([ena, nsr], "mean mutual information is 0")
        return
    sink.put(ena, class_entropy / mean_gain)
    sink.put(nsr, (mean_h - mean_gain) / mean_gain)


FAMILY = Family("info_theory", names, compute)
