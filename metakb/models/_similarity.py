"""Distances between datasets in meta-feature space, for browsing similar tasks."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.spatial.distance import cdist

from metakb.models._base import MetaFeatureScaler


def nearest_datasets(
    matrix: pd.DataFrame,
    query: Mapping[str, float],
    k: int = 10,
    *,
    metric: str = "euclidean",
    exclude: tuple[str, ...] = (),
    min_coverage: float = 0.5,
) -> pd.DataFrame:
    """Return the ``k`` datasets of ``matrix`` nearest to ``query``.

    Uses the same transform as the kNN warm starter (signed log, median
    imputation, standardization), over the meta-features that at least
    ``min_coverage`` of the datasets have and the query has too.

    Parameters
    ----------
    matrix : pandas.DataFrame
        One row per dataset (index: dataset id), one column per meta-feature.
    query : mapping
        The query dataset's meta-feature values.
    k : int
        How many neighbours.
    metric : str
        A :func:`scipy.spatial.distance.cdist` metric.
    exclude : tuple of str
        Dataset ids to leave out (the query itself).
    min_coverage : float
        Fraction of datasets that must have a meta-feature for it to count.

    Returns
    -------
    pandas.DataFrame
        ``dataset_id`` and ``distance``, nearest first; empty when nothing compares.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    pool = matrix.drop(index=[d for d in exclude if d in matrix.index])
    present = {n for n, v in query.items() if v is not None and np.isfinite(v)}
    names = [c for c in pool.columns if c in present and pool[c].notna().mean() >= min_coverage]
    if pool.empty or not names:
        return pd.DataFrame({"dataset_id": [], "distance": []})
    scaler = MetaFeatureScaler(names).fit(pool[names].to_numpy(dtype=float))
    z = scaler.transform(pool[names].to_numpy(dtype=float))
    distance = cdist(scaler.query(query)[None, :], z, metric=metric)[0] / np.sqrt(len(names))
    order = np.argsort(distance, kind="stable")[:k]
    return pd.DataFrame({"dataset_id": pool.index[order], "distance": distance[order]})
