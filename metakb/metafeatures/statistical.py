"""Statistical meta-features after OpenML's ``Statistical``, ``Cardinality`` and more.

Definitions follow OpenML's ``Statistical``, ``Cardinality`` and
``NominalAttDistinctValues`` characterizers:

- ``<Stat><Moment>OfNumericAtts``: Min, Max, Mean and Quartile1-3 over numeric
  attributes of each attribute's mean, standard deviation (``n - 1``),
  skewness and excess kurtosis, both bias-corrected as Apache Commons Math
  computes them (pandas' ``skew``/``kurt``); missing values ignored; an
  attribute whose moment is undefined (constant, too few values) is left out.
  As in OpenML a numeric (regression) target is one of the attributes.
- Quartiles use Commons Math's default percentile (position ``p (n + 1)``,
  numpy's ``method="weibull"``).
- Cardinalities count distinct non-missing values of every attribute,
  target included; ``CardinalityAtK`` is the product of the K largest
  cardinalities (each at least 1).
- ``*NominalAttDistinctValues``: over categorical attributes, class included.
- Sentinels as OpenML stored them for the OpenML100 tasks (so local values sit
  in the same space): every ``*OfNumericAtts`` is 0 when there is no numeric
  attribute, every ``*NominalAttDistinctValues`` is -1 when no feature (the
  target aside) is categorical.
- ``metakb.stat.*`` extras: mean/max absolute Pearson correlation between
  numeric features and the fraction of principal components needed for 95 %
  of the variance (on at most :data:`MAX_ROWS_CORRELATION` rows).
"""

from __future__ import annotations

import math

import numpy as np

from metakb.metafeatures._base import Family, Prepared, Sink, subsample_rows, summary, take_rows

MAX_ROWS_CORRELATION = 10_000
_MOMENTS = ("Means", "StdDev", "Skewness", "Kurtosis")
_STATS = ("Min", "Max", "Mean", "Quartile1", "Quartile2", "Quartile3")
_CARD = [
    "MeanCardinalityOfNumericAttributes",
    "StdevCardinalityOfNumericAttributes",
    "MinCardinalityOfNumericAttributes",
    "MaxCardinalityOfNumericAttributes",
    "MeanCardinalityOfNominalAttributes",
    "StdevCardinalityOfNominalAttributes",
    "MinCardinalityOfNominalAttributes",
    "MaxCardinalityOfNominalAttributes",
    "CardinalityAtTwo",
    "CardinalityAtThree",
    "CardinalityAtFour",
]
_DISTINCT = [
    "MaxNominalAttDistinctValues",
    "MinNominalAttDistinctValues",
    "MeanNominalAttDistinctValues",
    "StdvNominalAttDistinctValues",
]
_EXTRA = [
    "metakb.stat.MeanAbsCorrelation",
    "metakb.stat.MaxAbsCorrelation",
    "metakb.stat.PCAFractionOfComponents95",
]


def names(task_type: str) -> list[str]:
    """Return the names this family reports for a task type."""
    moments = [f"{s}{m}OfNumericAtts" for m in _MOMENTS for s in _STATS]
    return moments + _CARD + _DISTINCT + _EXTRA


def column_moments(values: np.ndarray) -> dict[str, np.ndarray]:
    """Mean, sample std, bias-corrected skewness and excess kurtosis of each column.

    Missing values (NaN) are ignored; a moment that is undefined for a column
    (fewer than 2/3/4 values, or zero variance for skewness and kurtosis) is NaN.
    """
    valid = ~np.isnan(values)
    n = valid.sum(axis=0).astype(float)
    filled = np.where(valid, values, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = filled.sum(axis=0) / n
        dev = np.where(valid, values - mean, 0.0)
        m2 = (dev**2).sum(axis=0)
        m3 = (dev**3).sum(axis=0)
        m4 = (dev**4).sum(axis=0)
        var = m2 / (n - 1)
        std = np.sqrt(var)
        # Commons Math: skew = n / ((n-1)(n-2)) * sum(d^3) / s^3
        skew = n / ((n - 1) * (n - 2)) * m3 / std**3
        # Commons Math: kurt = n(n+1)/((n-1)(n-2)(n-3)) * sum(d^4)/s^4 - 3(n-1)^2/((n-2)(n-3))
        kurt = (n * (n + 1)) / ((n - 1) * (n - 2) * (n - 3)) * m4 / var**2 - 3 * (n - 1) ** 2 / (
            (n - 2) * (n - 3)
        )
    # A column with (numerically) no spread has no defined shape.
    flat = ~(var > 1e-12 * np.maximum(1.0, mean**2))
    skew = np.where((n > 2) & ~flat, skew, np.nan)
    kurt = np.where((n > 3) & ~flat, kurt, np.nan)
    std = np.where(n > 1, std, np.where(n == 1, 0.0, np.nan))
    return {"Means": mean, "StdDev": std, "Skewness": skew, "Kurtosis": kurt}


def distinct_counts(values: np.ndarray) -> np.ndarray:
    """Count the distinct non-missing values of each column of a float matrix."""
    if values.shape[0] == 0:
        return np.zeros(values.shape[1], dtype=np.int64)
    ordered = np.sort(values, axis=0)  # NaN sorts last
    valid = ~np.isnan(ordered)
    changes = (ordered[1:] != ordered[:-1]) & valid[1:]
    return valid[0].astype(np.int64) + changes.sum(axis=0)


def compute(data: Prepared, sink: Sink) -> None:
    """Fill ``sink`` with the statistical meta-features of ``data``."""
    num = data.num
    if not data.classification:
        num = np.column_stack([num, data.y.astype(float)])
    if num.shape[1] == 0:
        # OpenML stored 0 for all of these when there is no numeric attribute.
        for name in names(data.task_type)[: len(_MOMENTS) * len(_STATS)]:
            sink.put(name, 0.0)
    else:
        moments = column_moments(num)
        for moment in _MOMENTS:
            summary(sink, moment, "OfNumericAtts", moments[moment], f"{moment} undefined")

    num_card = distinct_counts(num).astype(float)
    nom_card = data.cat_levels.astype(float)
    if data.classification:
        nom_card = np.append(nom_card, float(data.n_classes))
    _card_stats(sink, "Numeric", num_card)
    _card_stats(sink, "Nominal", nom_card)
    everything = np.sort(np.concatenate([num_card, nom_card]))[::-1]
    for k, word in ((2, "Two"), (3, "Three"), (4, "Four")):
        if everything.size >= k:
            head = np.maximum(everything[:k], 1.0)
            head[0] = everything[0]
            sink.put(f"CardinalityAt{word}", float(np.prod(head)))
        else:
            sink.put(f"CardinalityAt{word}", None, f"fewer than {k} attributes")
    if data.cat.shape[1] == 0:
        # OpenML stored -1 when no feature (the target aside) is nominal.
        for name in _DISTINCT:
            sink.put(name, -1.0)
    elif nom_card.size:
        sink.put("MaxNominalAttDistinctValues", nom_card.max())
        sink.put("MinNominalAttDistinctValues", nom_card.min())
        sink.put("MeanNominalAttDistinctValues", nom_card.mean())
        sink.put(
            "StdvNominalAttDistinctValues", _sample_std(nom_card), "needs two nominal attributes"
        )
    else:
        sink.skip(_DISTINCT, "no nominal attributes")
    sink.check_budget()
    _correlation(data, sink)


def _sample_std(values: np.ndarray) -> float:
    # Commons Math returns 0 for a single value, NaN for none.
    if values.size == 0:
        return math.nan
    return float(values.std(ddof=1)) if values.size > 1 else 0.0


def _card_stats(sink: Sink, kind: str, card: np.ndarray) -> None:
    names = [f"{s}CardinalityOf{kind}Attributes" for s in ("Mean", "Stdev", "Min", "Max")]
    if card.size == 0:
        sink.skip(names, f"no {kind.lower()} attributes")
        return
    sink.put(names[0], card.mean())
    sink.put(names[1], _sample_std(card))
    sink.put(names[2], card.min())
    sink.put(names[3], card.max())


def _impute_mean(num: np.ndarray) -> np.ndarray:
    """Replace NaN by the column mean (0 for an all-missing column)."""
    valid = ~np.isnan(num)
    count = np.maximum(valid.sum(axis=0), 1)
    mean = np.where(valid, num, 0.0).sum(axis=0) / count
    return np.where(valid, num, mean)


def _correlation(data: Prepared, sink: Sink) -> None:
    rows = subsample_rows(data, MAX_ROWS_CORRELATION, sink.rng)
    num = take_rows(data, rows).num
    if num.shape[1]:
        num = _impute_mean(num)
        spread = num.std(axis=0)
        num = num[:, spread > 0]
    if num.shape[1] < 2 or num.shape[0] < 3:
        sink.skip(_EXTRA, "needs two non-constant numeric features")
        return
    z = (num - num.mean(axis=0)) / num.std(axis=0)
    corr = (z.T @ z) / z.shape[0]
    upper = np.abs(corr[np.triu_indices_from(corr, k=1)])
    sink.put("metakb.stat.MeanAbsCorrelation", upper.mean())
    sink.put("metakb.stat.MaxAbsCorrelation", upper.max())
    eig = np.clip(np.linalg.eigvalsh(corr)[::-1], 0, None)
    share = np.cumsum(eig) / eig.sum()
    needed = int(np.searchsorted(share, 0.95) + 1)
    sink.put("metakb.stat.PCAFractionOfComponents95", needed / num.shape[1])


FAMILY = Family("statistical", names, compute)
