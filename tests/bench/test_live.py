import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.base import clone
from sklearn.datasets import make_classification

from metakb.bench.live import (
    TITLE,
    LiveSettings,
    LiveTask,
    load_task,
    normalized_scores,
    plot_report,
    render_markdown,
    run_live,
    select_datasets,
    win_record,
)
from metakb.bench.peers import flaml_missing
from metakb.bench.render import fill_page
from metakb.kb import ExtrapolationWarning, Layout
from metakb.kb._artifacts import save_model
from metakb.models import WARM_STARTERS
from metakb.models._synthetic import synthetic_meta_dataset

SEARCHES = ("optuna_tpe", "metakb_warm_bo")


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A knowledge-base folder with trained LightGBM warm starters (no database needed)."""
    root = tmp_path_factory.mktemp("kb")
    data = synthetic_meta_dataset(n_tasks=6, n_configs=12, space="lightgbm")
    for name in ("transfer", "knn"):
        model = WARM_STARTERS[name](seed=0).fit(data)
        folder = Layout(root / "kb.duckdb").artifact(data.space.name, name, "classification")
        save_model(
            model, data, folder, method=name, task_type="classification", params={}, fit_seconds=0.0
        )
    return root / "kb.duckdb"


def _task(name: str, n: int, classes: int, seed: int) -> LiveTask:
    x, y = make_classification(
        n, 4, n_informative=3, n_redundant=0, n_classes=classes, random_state=seed
    )
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(4)])
    return LiveTask(name, frame, pd.Series(y), {c: "numeric" for c in frame})


def test_live_smoke_every_method_on_a_tiny_table(kb: Path, tmp_path: Path) -> None:
    skip_flaml = flaml_missing()  # FLAML is optional: without it the rest still runs
    opts = LiveSettings(
        budget=3, n_splits=2, other_methods=("knn",), flaml=skip_flaml is None, max_rounds=20
    )
    rare = _task("rare", 40, 2, 2)
    # One row of a class cannot fill two stratified folds: skipped, with a reason.
    rare = LiveTask("rare", rare.x, pd.Series([0] * 39 + [1]), rare.kinds)
    tasks = [_task("three", 60, 3, 1), rare]
    # 60 rows: fewer than any task of the fixture knowledge base, and said so.
    with pytest.warns(ExtrapolationWarning, match="NumberOfInstances 60 is below"):
        report = run_live(tasks, kb, opts)
    expected = {
        "lgbm_default",
        "metakb_top1",
        "metakb_best5",
        "metakb_top1_knn",
        *SEARCHES,
        *(() if skip_flaml else ("flaml_zeroshot",)),
    }
    assert set(report["methods"]) == expected
    assert [r["name"] for r in report["datasets"]] == ["three"]
    assert "rare" in report["skipped"]
    for row in report["datasets"]:
        assert set(row["methods"]) == expected
        for name, entry in row["methods"].items():
            assert 0.0 <= entry["score"] <= 1.0, name  # ROC AUC
            assert entry["seconds"] > 0.0, name
        assert row["methods"]["optuna_tpe"]["fits"] == 3
        assert row["methods"]["metakb_warm_bo"]["fits"] == 3
        m = row["methods"]
        # Best of five includes the first, and its time includes the first's.
        assert m["metakb_best5"]["score"] >= m["metakb_top1"]["score"]
        assert m["metakb_best5"]["seconds"] >= m["metakb_top1"]["seconds"]
    summary = report["summary"]
    assert summary["datasets"] == 1
    for p in summary["per_method"].values():
        assert 0.0 <= p["mean_normalized"] <= 1.0
        assert 1.0 <= p["mean_rank"] <= len(expected)
    assert "warm_bo_vs_optuna_mean_score" in summary["targets"]
    assert ("win_rate_top1_vs_flaml" in summary["targets"]) is (skip_flaml is None)
    page = tmp_path / "live_pmlb.md"
    generated = render_markdown(report, "python pipelines/bench_live.py --db x", load="test")
    fill_page(page, generated, title=TITLE)
    text = page.read_text()
    assert text.startswith(f"# {TITLE}") and "(machine load: test)" in text
    for name in expected:
        assert f"| {name} |" in text
    pytest.importorskip("matplotlib")
    plot_report(report, tmp_path / "live.png")
    assert (tmp_path / "live.png").stat().st_size > 0


def test_flaml_estimator_keeps_its_suggestion_through_clone() -> None:
    if (why := flaml_missing()) is not None:
        pytest.skip(why)
    import lightgbm

    from metakb.bench.peers import FlamlZeroShot

    x, y = make_classification(120, 6, random_state=0)
    model = clone(FlamlZeroShot(seed=0)).fit(x, y)
    suggested = model.model_.get_params()
    defaults = lightgbm.LGBMClassifier().get_params()
    keys = ("n_estimators", "num_leaves", "learning_rate", "min_child_samples")
    assert any(suggested[k] != defaults[k] for k in keys)
    assert model.predict_proba(x).shape == (120, 2)


def _manifest() -> pd.DataFrame:
    rows = [
        ("kr_vs_kp", 3196, 36, 2, 3.0),  # same OpenML id as a KB task
        ("Yeast", 1479, 8, 10, None),  # same name, ids unknown
        ("german", 1000, 20, 2, None),  # credit-g under another name: same shape
        ("tiny", 50, 4, 2, None),  # too small to learn from
        ("least", 120, 4, 2, None),
        ("small", 300, 8, 3, None),
        ("mid", 900, 12, 2, None),
        ("big", 9000, 30, 2, None),
        ("rare", 700, 5, 9, None),  # a class of 3 rows: cannot fill 5 stratified folds
        ("wide", 600, 100, 3, None),  # 500 rows x 100 features x 3 trees per round
        ("housing", 500, 13, None, None),  # regression
    ]
    frame = pd.DataFrame(
        rows, columns=["name", "n_rows", "n_features", "n_classes", "openml_dataset_id"]
    )
    frame["task_type"] = np.where(frame["n_classes"].notna(), "classification", "regression")
    frame["min_class_rows"] = np.where(frame["name"] == "rare", 3, 10)
    frame["file"] = "datasets/" + frame["name"] + ".tsv.gz"
    return frame


def _kb_tasks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "name": ["kr-vs-kp", "yeast", "credit-g"],
            "openml_dataset_id": [3, 181, 31],
            "n_rows": [3196, 1484, 1000],
            "n_features": [36, 8, 20],
            "n_classes": [2, 10, 2],
        }
    )


def test_selection_leaves_out_knowledge_base_datasets_and_spreads_the_rest() -> None:
    chosen, selection = select_datasets(_manifest(), _kb_tasks())
    assert selection["left_out"] == {
        "name": ["Yeast"],
        "openml_id": ["kr_vs_kp"],
        "shape": ["german"],
        "under_min_rows": ["tiny"],
        "class_under_n_splits_rows": ["rare"],
        "over_max_work": ["wide"],
    }
    assert list(chosen["name"]) == ["least", "small", "mid", "big"]
    assert selection["eligible"] == 4 and selection["classification"] == 10
    chosen, _ = select_datasets(_manifest(), _kb_tasks(), max_datasets=2)
    assert list(chosen["name"]) == ["least", "big"]  # the smallest and the largest
    with pytest.raises(ValueError):
        select_datasets(_manifest(), _kb_tasks(), max_datasets=0)


def test_load_task_caps_rows_stratified(tmp_path: Path) -> None:
    y = np.array([0] * 300 + [1] * 100)
    frame = pd.DataFrame({"a": np.arange(400) * 0.5, "target": y})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    task = load_task(path, max_rows=100, seed=0, openml_dataset_id=7)
    assert len(task.x) == 100 and task.info["rows_in_file"] == 400
    assert task.info["openml_dataset_id"] == 7
    assert task.y.value_counts().to_dict() == {0: 75, 1: 25}


scores_frames = arrays(
    float, st.tuples(st.integers(1, 6), st.integers(1, 5)), elements=st.floats(0, 1)
)


@settings(max_examples=60, deadline=None)
@given(values=scores_frames, holes=st.integers(0, 3))
def test_normalized_scores_lie_in_unit_interval_with_a_best_of_one(values, holes) -> None:
    frame = pd.DataFrame(values)
    frame.iat[0, 0] = np.nan if holes else frame.iat[0, 0]
    norm = normalized_scores(frame)
    assert ((norm >= 0) & (norm <= 1)).all().all()
    # Every dataset with a finished method has a best method at 1.
    has_score = frame.notna().any(axis=1)
    assert np.allclose(norm[has_score].max(axis=1), 1.0)
    assert (norm[frame.isna()].fillna(0) == 0).all().all()


@settings(max_examples=60, deadline=None)
@given(
    a=st.lists(st.one_of(st.floats(0, 1), st.just(math.nan)), min_size=1, max_size=8),
    data=st.data(),
)
def test_win_record_is_antisymmetric(a, data) -> None:
    b = data.draw(
        st.lists(st.one_of(st.floats(0, 1), st.just(math.nan)), min_size=len(a), max_size=len(a))
    )
    ab, ba = win_record(pd.Series(a), pd.Series(b)), win_record(pd.Series(b), pd.Series(a))
    assert ab["wins"] == ba["losses"] and ab["ties"] == ba["ties"]
    assert ab["wins"] + ab["ties"] + ab["losses"] == len(a)
    assert 0 <= ab["win_rate"] <= 1


def test_committed_page_keeps_its_prose_when_rerendered(tmp_path):
    """Re-rendering the committed report changes only the generated blocks of its page."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "benchmarks"
    report = json.loads((docs / "live_pmlb.json").read_text())
    page = tmp_path / "live_pmlb.md"
    page.write_text((docs / "live_pmlb.md").read_text())
    fill_page(page, render_markdown(report, report["command"], load=report["load"]), title=TITLE)
    text = page.read_text()
    assert text == (docs / "live_pmlb.md").read_text()
    assert "Wins are strict (a tie within 1e-9 is not a win)." in text
    assert "| metakb_warm_bo |" in text
