from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from metakb.sources.published import import_published
from metakb.store import Store

HOME = str(Path(__file__).resolve().parents[2] / "app" / "Home.py")


@pytest.fixture
def kb(tmp_path: Path, tiny_data: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "kb.duckdb"
    import_published(Store(path), tiny_data)
    monkeypatch.setenv("METAKB_DB", str(path))
    return path


def _app() -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=30)
    at.run()
    return at


def _text(at: AppTest) -> str:
    parts = (
        [m.value for m in at.markdown]
        + [t.value for t in at.title]
        + [c.value for c in at.caption]
        + [s.value for s in at.subheader]
    )
    return "\n".join(str(p) for p in parts)


def test_overview_shows_counts(kb: Path) -> None:
    at = _app()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tasks"] == "3" and metrics["Evaluations"] == "27"
    assert "Evaluations by flow and metric" in _text(at)


def test_tasks_page_filters(kb: Path) -> None:
    at = _app()
    at.switch_page("pages/tasks.py").run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 3
    at.text_input[0].input("kr-vs").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["task_id"]) == ["openml:3"]
    assert "best openml:6969 predictive_accuracy" in table.columns


def test_task_page_shows_evaluations_and_meta_features(kb: Path) -> None:
    at = _app()
    at.session_state["task_id"] = "openml:3"
    at.switch_page("pages/task.py").run()
    assert not at.exception
    text = _text(at)
    assert "kr-vs-kp" in text and "Best configurations" in text
    assert "Meta-features against the knowledge base" in text
    assert "Nearest tasks" in text
    # Switch to another flow and metric: the page redraws without error.
    at.selectbox[1].select(at.selectbox[1].options[-1]).run()
    assert not at.exception


def test_missing_knowledge_base_is_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METAKB_DB", str(tmp_path / "absent.duckdb"))
    at = _app()
    assert not at.exception
    assert "no knowledge base" in at.error[0].value


def test_empty_knowledge_base_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "empty.duckdb"
    with Store(path).write():
        pass
    monkeypatch.setenv("METAKB_DB", str(path))
    at = _app()
    assert not at.exception
    assert "quickstart" in at.info[0].value


def tables_of(at: AppTest) -> list[Any]:
    """The recommendation tables of the Recommend page."""
    return [d.value for d in at.dataframe if "why" in d.value.columns]


def test_recommend_page_on_a_knowledge_base_dataset(kb: Path) -> None:
    from metakb.kb import train

    train(kb, ["random_forest"], ["knn", "portfolio"], min_configs=2)
    at = _app()
    at.switch_page("pages/recommend.py").run()
    assert not at.exception
    at.radio[0].set_value("A dataset of the knowledge base").run()
    algorithm = next(s for s in at.selectbox if s.label == "Algorithm")
    algorithm.set_value("random_forest").run()
    assert not at.exception
    text = _text(at)
    assert "Recommendations for random_forest" in text
    assert "**knn**" in text and "**portfolio**" in text
    # Untrained methods too thin to fit for the page say why instead of failing.
    assert any("no trained model" in w.value and "fitted" in w.value for w in at.warning)
    # The 3-row table is smaller than both training tasks: said once, above the tables.
    assert at.warning[0].value.startswith("NumberOfInstances 3 is below every random_forest task")
    assert sum("NumberOfInstances" in w.value for w in at.warning) == 1
    # "Use it" is Python that runs as it is (None, not null), in st.code with its copy button.
    (snippet,) = [c.value for c in at.code if "RandomForestClassifier(" in c.value]
    assert "max_depth=None" in snippet and "null" not in snippet
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)  # the page's own output
    assert namespace["model"].get_params()["randomforestclassifier__max_depth"] is None
    assert "cost ×default" in tables_of(at)[0].columns
    # Every method's table says how each pick compares with the library default, and why.
    tables = tables_of(at)
    assert len(tables) == 2
    for table in tables:
        assert "default" in set(table["gain over default"])
        assert table["why"].str.len().gt(0).all()


def test_recommend_page_names_capped_values_as_the_estimator_does(kb: Path) -> None:
    from metakb.kb import train

    train(kb, ["lightgbm"], ["knn"], min_configs=2)
    at = _app()
    at.switch_page("pages/recommend.py").run()
    at.radio[0].set_value("A dataset of the knowledge base").run()
    algorithm = next(s for s in at.selectbox if s.label == "Algorithm")
    algorithm.set_value("lightgbm").run()
    assert not at.exception
    # The 3-row table is too small for any leaf size LightGBM's runs used.
    (note,) = [c.value for c in at.caption if c.value.startswith("Adapted to the table's")]
    assert "min_child_samples" in note and "min_data_in_leaf" not in note


def test_recommend_page_shows_a_broken_file_as_a_message(kb: Path, tiny_data: Path) -> None:
    broken = tiny_data / "pmlb_datasets" / "datasets" / "tiny_new.tsv.gz"
    broken.write_bytes(b"\x1f\x8b not really gzip")
    at = _app()
    at.switch_page("pages/recommend.py").run()
    assert "50 MB" in _text(at)  # the upload limit is stated on the page
    at.radio[0].set_value("A dataset of the knowledge base").run()
    dataset = next(s for s in at.selectbox if s.label == "Dataset")
    dataset.set_value(str(broken.resolve())).run()
    assert not at.exception
    assert at.error and "tiny_new" in at.error[0].value


def test_benchmarks_page_lists_reports(kb: Path) -> None:
    at = _app()
    at.switch_page("pages/benchmarks.py").run()
    assert not at.exception
    assert at.selectbox[0].options  # docs/benchmarks holds at least one report


def test_search_page_runs_warm_and_cold_and_writes_back(kb: Path, tmp_path: Path) -> None:
    from sklearn.datasets import load_iris

    from metakb.kb import train
    from metakb.store import Datasets, put_datasets, transaction

    iris = load_iris(as_frame=True).frame.rename(columns={"target": "target"})
    csv = tmp_path / "iris.csv"
    iris.to_csv(csv, index=False)
    with Store(kb).write() as con, transaction(con):
        put_datasets(
            con, Datasets(dataset_id="pmlb:iris", name="iris", file_path=str(csv), source="test")
        )
    train(kb, ["random_forest"], ["knn"], min_configs=2)
    at = _app()
    at.switch_page("pages/search.py").run()
    assert not at.exception
    at.radio[0].set_value("A dataset of the knowledge base").run()
    next(s for s in at.selectbox if s.label == "Dataset").set_value(str(csv)).run()
    next(s for s in at.selectbox if s.label == "Algorithm").set_value("random_forest").run()
    next(s for s in at.selectbox if s.label == "Warm start").set_value("knn").run()
    next(s for s in at.selectbox if s.label == "Optimizer").set_value("random").run()
    at.slider[0].set_value(4).run()
    at.button[0].click().run(timeout=180)
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    headers = [h.value for h in at.subheader]
    assert headers == ["warm (knn)", "cold"]
    assert sum("evaluations written" in str(m.value) for m in at.markdown) == 2
    with Store(kb).read() as con:
        local = con.execute("SELECT count(*) FROM evaluations WHERE source = 'local'").fetchall()
    assert local[0][0] == 8
