from pathlib import Path

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
