import json

import pytest

from metakb.kb._artifacts import (
    MANIFEST_FILE,
    MODEL_FILE,
    PENDING_MODEL_FILE,
    ArtifactError,
    load_model,
    save_model,
)
from metakb.models import WARM_STARTERS, TaskQuery
from metakb.models._base import SIZE_META_FEATURES
from metakb.models._synthetic import synthetic_meta_dataset


@pytest.fixture(scope="module")
def data():
    return synthetic_meta_dataset(n_tasks=6, n_configs=10)


@pytest.mark.parametrize("name", sorted(WARM_STARTERS))
def test_save_load_round_trip(tmp_path, data, name):
    model = WARM_STARTERS[name](seed=0).fit(data)
    manifest = save_model(
        model,
        data,
        tmp_path / data.space.name / name,
        method=name,
        task_type="classification",
        params={"seed": 0},
        fit_seconds=0.1,
    )
    folder = tmp_path / data.space.name / name
    assert json.loads((folder / MANIFEST_FILE).read_text())["sha256"] == manifest.sha256
    assert manifest.training_tasks == list(data.task_ids)
    assert manifest.meta_feature_names == list(data.meta_feature_names)
    assert manifest.meta_feature_ranges == {
        name: list(r) for name, r in data.feature_ranges(SIZE_META_FEATURES).items()
    }
    assert "NumberOfInstances" in manifest.meta_feature_ranges
    loaded, read = load_model(folder)
    assert read == manifest
    query = TaskQuery(meta_features=data.meta_features_of(data.task_ids[0]))
    assert loaded.recommend(query, 3) == model.recommend(query, 3)
    # Surrogates are not pickled; refitted with the same seed they give the same answer.
    query = TaskQuery(query.meta_features, candidates=data.tasks[0].configs)
    assert loaded.recommend(query, 3) == model.recommend(query, 3)


def test_tampered_model_is_refused(tmp_path, data):
    model = WARM_STARTERS["knn"](seed=0).fit(data)
    save_model(
        model,
        data,
        tmp_path / data.space.name / "knn",
        method="knn",
        task_type="classification",
        params={},
        fit_seconds=0.0,
    )
    folder = tmp_path / data.space.name / "knn"
    (folder / MODEL_FILE).write_bytes(b"not our pickle")
    with pytest.raises(ArtifactError, match="hash"):
        load_model(folder)


def test_other_version_is_refused(tmp_path, data):
    model = WARM_STARTERS["knn"](seed=0).fit(data)
    save_model(
        model,
        data,
        tmp_path / data.space.name / "knn",
        method="knn",
        task_type="classification",
        params={},
        fit_seconds=0.0,
    )
    folder = tmp_path / data.space.name / "knn"
    raw = json.loads((folder / MANIFEST_FILE).read_text())
    raw["artifact_version"] = 999
    (folder / MANIFEST_FILE).write_text(json.dumps(raw))
    with pytest.raises(ArtifactError, match="version"):
        load_model(folder)


def test_missing_artifact_says_train(tmp_path):
    with pytest.raises(ArtifactError, match="metakb train"):
        load_model(tmp_path / "nothing")


def test_a_stray_pending_pickle_is_never_unpickled(tmp_path, data):
    # save_model leaves model.pkl.tmp behind only when killed; only a hash match loads it.
    model = WARM_STARTERS["knn"](seed=0).fit(data)
    save_model(
        model,
        data,
        tmp_path / data.space.name / "knn",
        method="knn",
        task_type="classification",
        params={},
        fit_seconds=0.0,
    )
    folder = tmp_path / data.space.name / "knn"
    (folder / PENDING_MODEL_FILE).write_bytes(b"not a pickle: unpickling it would raise")
    loaded, _ = load_model(folder)
    query = TaskQuery(meta_features=data.meta_features_of(data.task_ids[0]))
    assert loaded.recommend(query, 3) == model.recommend(query, 3)
    (folder / MODEL_FILE).unlink()
    with pytest.raises(ArtifactError, match="does not match the hash"):
        load_model(folder)


def test_cached_load_unpickles_once_and_notices_a_new_model(tmp_path, data):
    from metakb.kb._artifacts import clear_model_cache

    clear_model_cache()
    save_model(
        WARM_STARTERS["knn"](seed=0).fit(data),
        data,
        tmp_path / data.space.name / "knn",
        method="knn",
        task_type="classification",
        params={},
        fit_seconds=0.0,
    )
    folder = tmp_path / data.space.name / "knn"
    first, _ = load_model(folder, cached=True)
    again, _ = load_model(folder, cached=True)
    assert again is first
    assert load_model(folder)[0] is not first  # uncached loads always unpickle
    # Retrained: a new file and manifest, so the cache must not answer.
    retrained = WARM_STARTERS["knn"](seed=0, n_neighbors=2).fit(data)
    save_model(
        retrained,
        data,
        tmp_path / data.space.name / "knn",
        method="knn",
        task_type="classification",
        params={},
        fit_seconds=0.0,
    )
    fresh, _ = load_model(folder, cached=True)
    assert fresh is not first and fresh.n_neighbors == 2
    # Tampered after caching: the file changed, so it is hash-checked again and refused.
    (folder / MODEL_FILE).write_bytes(b"not our pickle")
    with pytest.raises(ArtifactError, match="hash"):
        load_model(folder, cached=True)
    clear_model_cache()


def test_a_manifest_without_size_ranges_still_loads(tmp_path, data):
    # Manifests written before the ranges were recorded: no range, so no extrapolation check.
    model = WARM_STARTERS["portfolio"](seed=0).fit(data)
    save_model(
        model,
        data,
        tmp_path / data.space.name / "portfolio",
        method="portfolio",
        task_type="classification",
        params={},
        fit_seconds=0.0,
    )
    path = (tmp_path / data.space.name / "portfolio") / MANIFEST_FILE
    raw = json.loads(path.read_text())
    del raw["meta_feature_ranges"]
    path.write_text(json.dumps(raw))
    _, read = load_model(path.parent)
    assert read.meta_feature_ranges == {}
