import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from metakb.cli import main
from metakb.errors import DataSourceError
from metakb.kb import KnowledgeBase, Layout
from metakb.kb._quickstart import build_local_knowledge_base, example_table
from metakb.sources.openml import QUICKSTART_TASKS
from metakb.sources.shipped import export_metadataset
from metakb.store import Store
from tests.conftest import TINY_COUNTS
from tests.sources.fake_openml import Evaluation, FakeOpenML, Task


def _closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v1/xml"


@pytest.fixture
def fake() -> Iterator[FakeOpenML]:
    server = FakeOpenML().start()
    first = QUICKSTART_TASKS[0]
    server.catalog.tasks[first] = Task(first, 61, "class")
    server.catalog.evaluations.append(Evaluation(4001, first, 101, 6969, 0.5))
    yield server
    server.stop()


def test_openml_is_used_when_it_answers(store: Store, tiny_data: Path, fake: FakeOpenML) -> None:
    result = KnowledgeBase(store.path).quickstart(tiny_data, openml_server=fake.url)
    assert result.source == "openml" and result.detail == fake.url
    assert result.stats["evaluations"] == result.added["evaluations"] == 1


def test_published_data_when_openml_is_unreachable(store: Store, tiny_data: Path) -> None:
    url = _closed_url()
    result = KnowledgeBase(store.path).quickstart(tiny_data, openml_server=url)
    assert result.source == "published"
    assert f"OpenML unreachable at {url}" in result.detail
    assert result.stats["tasks"] == TINY_COUNTS["tasks"]


def test_no_source_at_all_is_one_clear_error(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("METAKB_DATA", raising=False)
    with pytest.raises(DataSourceError, match=r"OpenML unreachable.*METAKB_DATA") as info:
        KnowledgeBase(store.path).quickstart(openml_server=_closed_url())
    assert "\n" not in str(info.value)
    assert not store.exists()  # nothing was written


def test_cli_quickstart_offline(
    capsys: pytest.CaptureFixture[str], tiny_data: Path, tmp_path: Path
) -> None:
    code = main(
        [
            "quickstart",
            "--offline",
            "--no-search",
            "--data-dir",
            str(tiny_data),
            "--db",
            str(tmp_path / "kb.duckdb"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "source: published" in out and "OpenML not tried" in out


def test_local_knowledge_base_from_scikit_learn_datasets(store: Store) -> None:
    added = build_local_knowledge_base(
        store, Layout(store.path), datasets=("iris",), n_configs=2, n_splits=2
    )
    assert added == {"evaluations": 2}
    with store.read() as con:
        sources = con.execute("SELECT DISTINCT source FROM evaluations").fetchall()
        n_features = con.execute("SELECT count(*) FROM meta_features").fetchone()
    assert sources == [("local",)] and n_features is not None and n_features[0] > 10
    again = build_local_knowledge_base(
        store, Layout(store.path), datasets=("iris",), n_configs=2, n_splits=2
    )
    assert again == {"evaluations": 0}


def test_compare_searches_gives_best_so_far_curves(store: Store, tmp_path: Path) -> None:
    frame_path = example_table(tmp_path, "iris")
    result = KnowledgeBase(store.path).compare_searches(
        budget=2, warm_start="none", n_splits=2, example=frame_path
    )
    assert result.example == "iris" and len(result.warm) == len(result.cold) == 2
    for curve in (result.warm, result.cold):
        values = [v for v in curve if v is not None]
        assert values == sorted(values) and all(0 < v <= 1 for v in values)


@pytest.fixture
def shipped(sweep_store: Store, tmp_path: Path) -> Path:
    """The tiny sweep exported as a meta-dataset folder."""
    folder = tmp_path / "shipped"
    export_metadataset(sweep_store, folder)
    return folder


def test_a_fresh_install_starts_from_the_shipped_meta_dataset(
    store: Store, shipped: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("METAKB_DATA", raising=False)
    kb = KnowledgeBase(store.path)
    result = kb.quickstart(use_openml=False, metadataset_dir=shipped)
    assert result.source == "metadataset" and str(shipped) in result.detail
    assert result.added["evaluations"] == result.stats["evaluations"] == 72
    # What the quickstart then offers works on it: train, recommend, a warm search.
    (manifest,) = kb.train(["random_forest"], ["knn"])
    assert len(manifest.training_tasks) == 3
    recommended = kb.recommend(
        {"NumberOfInstances": 150, "NumberOfFeatures": 4},
        algorithm="random_forest",
        method="knn",
        k=3,
    )
    assert len(recommended) == 3
    comparison = kb.compare_searches(
        budget=2, warm_start="knn", n_splits=2, example=example_table(tmp_path, "iris")
    )
    assert len(comparison.warm) == 2 and comparison.warm[-1] is not None


def test_the_shipped_meta_dataset_follows_the_published_data(
    store: Store, shipped: Path, tiny_data: Path
) -> None:
    result = KnowledgeBase(store.path).quickstart(
        tiny_data, use_openml=False, metadataset_dir=shipped
    )
    assert result.source == "published" and f"+ meta-dataset {shipped}" in result.detail
    assert result.stats["evaluations"] == TINY_COUNTS["evaluations"] + 72


def test_a_shipped_folder_without_a_meta_dataset_changes_nothing(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("METAKB_DATA", raising=False)
    empty = tmp_path / "shipped"
    empty.mkdir()
    (empty / "README.md").write_text("template")
    with pytest.raises(DataSourceError, match=r"no shipped meta-dataset"):
        KnowledgeBase(store.path).quickstart(use_openml=False, metadataset_dir=empty)
    assert not store.exists()


def test_cli_quickstart_finds_the_shipped_folder_through_the_environment(
    capsys: pytest.CaptureFixture[str],
    shipped: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("METAKB_DATA", raising=False)
    monkeypatch.setenv("METAKB_METADATASET", str(shipped))
    code = main(["quickstart", "--offline", "--no-search", "--db", str(tmp_path / "kb.duckdb")])
    out = capsys.readouterr().out
    assert code == 0 and "source: metadataset" in out and "72 evaluations" in out
