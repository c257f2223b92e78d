import numpy as np
import pandas as pd
import pytest

from metakb.models import nearest_datasets


def _matrix() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "NumberOfInstances": [100, 110, 100000, 5000],
            "ClassEntropy": [1.0, 0.95, 3.0, np.nan],
            "Rare": [np.nan, np.nan, np.nan, 1.0],
        },
        index=["a", "b", "c", "d"],
    )


def test_nearest_first_and_self_excluded() -> None:
    found = nearest_datasets(
        _matrix(), {"NumberOfInstances": 100, "ClassEntropy": 1.0}, 3, exclude=("a",)
    )
    assert list(found["dataset_id"]) == ["b", "d", "c"]
    assert found["distance"].is_monotonic_increasing


def test_sparse_features_are_ignored() -> None:
    # "Rare" is known for one dataset in four: it does not pull "d" closer.
    query = {"NumberOfInstances": 5000, "ClassEntropy": 2.0}
    without = nearest_datasets(_matrix(), query, 4)
    with_rare = nearest_datasets(_matrix(), {**query, "Rare": 1.0}, 4)
    pd.testing.assert_frame_equal(without, with_rare)


def test_nothing_to_compare_and_bad_k() -> None:
    assert nearest_datasets(_matrix(), {"Unknown": 1.0}).empty
    with pytest.raises(ValueError):
        nearest_datasets(_matrix(), {"ClassEntropy": 1.0}, 0)
