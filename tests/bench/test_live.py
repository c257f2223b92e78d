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
from sklearn.datasets import make_classification, make_regression

from metakb.bench.commands.live import main as live_main
from metakb.bench.holdout import LIVE_CLASSIFICATION, LIVE_REGRESSION
from metakb.bench.live import (
    TITLE,
    LiveSettings,
    LiveTask,
    ResultLog,
    Starters,
    holdout_tasks,
    load_task,
    method_names,
    normalized_scores,
    plot_report,
    render_markdown,
    run_live,
    summarize,
    win_record,
)
from metakb.bench.peers import flaml_missing
from metakb.bench.render import fill_page
from metakb.kb import KnowledgeBase, Layout
from metakb.kb._artifacts import save_model
from metakb.models import DEFAULT_RECOMMENDER, DEFAULT_WARM_STARTER, WARM_STARTERS, TaskQuery
from metakb.models._synthetic import synthetic_meta_dataset

METHODS = ("transfer+default", "knn")
TINY = {"budget": 2, "tpe_budget": 3, "n_splits": 2, "methods": METHODS, "max_rounds": 10}


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A knowledge-base folder with trained LightGBM warm starters of both task types."""
    root = tmp_path_factory.mktemp("kb")
    data = synthetic_meta_dataset(n_tasks=6, n_configs=12, space="lightgbm")
    for task_type in ("classification", "regression"):
        for name in ("transfer", "knn"):
            model = WARM_STARTERS[name](seed=0).fit(data)
            folder = Layout(root / "kb.duckdb").artifact(data.space.name, name, task_type)
            save_model(
                model, data, folder, method=name, task_type=task_type, params={}, fit_seconds=0.0
            )
    return root / "kb.duckdb"


def _task(name: str, n: int, classes: int, seed: int) -> LiveTask:
    x, y = make_classification(
        n, 4, n_informative=3, n_redundant=0, n_classes=classes, random_state=seed
    )
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(4)])
    return LiveTask(name, frame, pd.Series(y), {c: "numeric" for c in frame})


def _regression_task(name: str, n: int, seed: int) -> LiveTask:
    x, y = make_regression(n, 3, noise=5.0, random_state=seed)
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    return LiveTask(name, frame, pd.Series(y), {c: "numeric" for c in frame})


def _check_report(report: dict, opts: LiveSettings, names: list[str]) -> None:
    expected = method_names(opts)
    assert report["methods"] == expected
    assert [r["name"] for r in report["datasets"]] == names
    for row in report["datasets"]:
        m = row["methods"]
        assert list(m) == expected
        for name, entry in m.items():
            assert entry["score"] is not None and entry["seconds"] > 0.0, name
        assert m["optuna_tpe"]["fits"] == opts.tpe_budget
        assert m["metakb_warm_bo"]["fits"] == opts.budget
        # Best of five includes the first method's first pick, and its time.
        top1 = m[f"metakb_top1_{opts.primary}"]
        assert m["metakb_best5"]["score"] >= top1["score"]
        assert m["metakb_best5"]["seconds"] >= top1["seconds"]
    summary = report["summary"]
    assert summary["datasets"] == len(names)
    for p in summary["per_method"].values():
        assert 0.0 <= p["mean_normalized"] <= 1.0
        assert 1.0 <= p["mean_rank"] <= len(expected)
    assert "warm_bo_vs_optuna_mean_score" in summary["targets"]


def test_live_classification_on_two_toy_tables(kb: Path, tmp_path: Path) -> None:
    skip_flaml = flaml_missing()  # FLAML is optional: without it the rest still runs
    opts = LiveSettings(**TINY, flaml=skip_flaml is None)
    rare = _task("rare", 40, 2, 2)
    # One row of a class cannot fill two stratified folds: skipped, with a reason.
    rare = LiveTask("rare", rare.x, pd.Series([0] * 39 + [1]), rare.kinds)
    tasks = [_task("three", 60, 3, 1), _task("two", 50, 2, 3), rare]
    report = run_live(tasks, kb, opts)
    _check_report(report, opts, ["three", "two"])
    assert "rare" in report["skipped"]
    for row in report["datasets"]:
        for name, entry in row["methods"].items():
            assert 0.0 <= entry["score"] <= 1.0, name  # ROC AUC
    targets = report["summary"]["targets"]
    assert ("top1_vs_flaml" in targets) is (skip_flaml is None)
    assert "transfer+default" in targets["top1_vs_default"]["text"]
    page = tmp_path / "live_pmlb.md"
    generated = render_markdown(report, "python pipelines/bench_live.py --db x", load="test")
    fill_page(page, generated, title=TITLE)
    text = page.read_text()
    assert text.startswith(f"# {TITLE}") and "(machine load: test)" in text
    for name in report["methods"]:
        assert f"| {name} |" in text
    pytest.importorskip("matplotlib")
    plot_report(report, tmp_path / "live.png")
    assert (tmp_path / "live.png").stat().st_size > 0


def test_live_regression_on_two_toy_tables_reports_rmse_relative_to_the_default(
    kb: Path,
) -> None:
    opts = LiveSettings(**TINY, task_type="regression", flaml=False)
    report = run_live([_regression_task("r1", 50, 0), _regression_task("r2", 40, 1)], kb, opts)
    _check_report(report, opts, ["r1", "r2"])
    assert report["settings"]["metric"] == "neg_rmse"
    for row in report["datasets"]:
        assert all(e["score"] < 0 for e in row["methods"].values())  # negative RMSEs
        assert row["n_classes"] is None
    per = report["summary"]["per_method"]
    assert per["lgbm_default"]["mean_relative_rmse"] == 1.0
    warm = report["summary"]["targets"]["warm_bo_vs_optuna_mean_score"]
    assert warm["value"] == per["metakb_warm_bo"]["mean_relative_rmse"]
    text = render_markdown(report, "cmd")["results"]
    assert "mean RMSE / default" in text and "classes" not in text
    default_rmse = -report["datasets"][0]["methods"]["lgbm_default"]["score"]
    assert "| r1 | 50 | 3 | " in text and f"{default_rmse:.4g}; " in text


def test_default_aware_top1_is_what_metakb_recommend_gives(kb: Path) -> None:
    meta = {"f1": 0.3, "f2": -0.2, "NumberOfInstances": 500.0}
    starters = Starters(KnowledgeBase(kb), "classification", seed=0)
    mine = starters.recommend("transfer+default", TaskQuery(meta), 5)
    theirs = KnowledgeBase(kb).recommend(meta, algorithm="lightgbm", k=5, method="transfer")
    assert mine == [r.flow_params for r in theirs]
    plain = starters.recommend("transfer", TaskQuery(meta), 5)
    assert plain == [r.config for r in starters.get("transfer").model.recommend(TaskQuery(meta), 5)]


def test_a_rerun_skips_what_is_logged_and_measures_what_changed(kb: Path, tmp_path: Path) -> None:
    log = ResultLog(tmp_path / "live.jsonl")
    opts = LiveSettings(**TINY, task_type="regression", flaml=False)
    tasks = [_regression_task("r1", 40, 0)]
    first = run_live(tasks, kb, opts, results=log)
    lines = log.path.read_text().splitlines()
    assert first["reused"] == 0 and len(lines) == len(first["methods"])
    again = run_live(tasks, kb, opts, results=log)
    assert again["reused"] == len(first["methods"])
    assert again["datasets"] == first["datasets"]
    assert log.path.read_text().splitlines() == lines  # nothing appended
    # A larger TPE budget measures TPE alone again; a line cut short by a kill is ignored.
    log.path.write_text(log.path.read_text() + '{"table": "r1", "meth')
    more = run_live(
        tasks,
        kb,
        LiveSettings(**{**TINY, "tpe_budget": 4}, task_type="regression", flaml=False),
        results=log,
    )
    assert more["reused"] == len(first["methods"]) - 1
    assert more["datasets"][0]["methods"]["optuna_tpe"]["fits"] == 4
    assert len(log.load()) == len(first["methods"]) + 1


def _rows(scores: dict[str, list[float | None]]) -> list[dict]:
    n = len(next(iter(scores.values())))
    return [
        {
            "name": f"t{i}",
            "methods": {m: {"score": v[i], "seconds": 1.0} for m, v in scores.items()},
        }
        for i in range(n)
    ]


def test_summary_arithmetic_on_hand_made_rows() -> None:
    top1 = "metakb_top1_transfer+default"
    rows = _rows(
        {
            top1: [0.9, 0.8, 0.7, 0.6],
            "metakb_warm_bo": [0.95, 0.8, 0.7, 0.6],
            "optuna_tpe": [0.9, 0.8, 0.75, 0.6],
            "lgbm_default": [0.8, 0.8, 0.6, 0.7],
            "flaml_zeroshot": [0.7, 0.9, None, 0.5],
        }
    )
    summary = summarize(rows, primary="transfer+default")
    assert summary["wins"][f"{top1} vs lgbm_default"] == {
        "wins": 2,
        "ties": 1,
        "losses": 1,
        "n": 4,
        "win_rate": 0.5,
    }
    # A failed FLAML fit is a loss for FLAML.
    assert summary["wins"][f"{top1} vs flaml_zeroshot"]["wins"] == 3
    targets = summary["targets"]
    assert targets["top1_vs_default"]["value"] == 0.5 and not targets["top1_vs_default"]["met"]
    assert targets["top1_vs_flaml"]["value"] == 0.75 and targets["top1_vs_flaml"]["met"]
    warm = targets["warm_bo_vs_optuna_mean_score"]
    assert warm["value"] == pytest.approx(0.7625) and warm["target"] == pytest.approx(0.7625)
    assert warm["met"]  # equal means meet ">="
    assert summary["per_method"]["flaml_zeroshot"]["failures"] == 1


def test_regression_summary_compares_rmse_ratios_not_raw_rmse() -> None:
    top1 = "metakb_top1_knn"
    # Table t1 has RMSEs near 100, t0 near 1: raw means would be ruled by t1.
    rows = _rows(
        {
            top1: [-0.5, -110.0],
            "metakb_warm_bo": [-0.5, -100.0],
            "optuna_tpe": [-1.0, -90.0],
            "lgbm_default": [-1.0, -100.0],
        }
    )
    summary = summarize(rows, primary="knn", task_type="regression")
    per = summary["per_method"]
    assert per[top1]["mean_relative_rmse"] == pytest.approx((0.5 + 1.1) / 2)
    assert per["metakb_warm_bo"]["mean_relative_rmse"] == pytest.approx(0.75)
    assert per["optuna_tpe"]["mean_relative_rmse"] == pytest.approx(0.95)
    warm = summary["targets"]["warm_bo_vs_optuna_mean_score"]
    assert warm["met"]  # 0.75 <= 0.95, though TPE's raw mean RMSE is lower
    assert per["optuna_tpe"]["mean_score"] > per["metakb_warm_bo"]["mean_score"]
    assert summary["wins"][f"{top1} vs lgbm_default"]["wins"] == 1


def test_settings_refuse_unknown_methods_and_bad_budgets() -> None:
    with pytest.raises(ValueError, match="unknown method"):
        LiveSettings(methods=("transfer+defualt",))
    with pytest.raises(ValueError):
        LiveSettings(tpe_budget=0)
    with pytest.raises(ValueError):
        LiveSettings(task_type="ranking")  # type: ignore[arg-type]
    # What `metakb recommend` and `metakb search` do by default.
    assert LiveSettings().primary == f"{DEFAULT_RECOMMENDER}+default"
    assert LiveSettings(methods=("knn",)).warm_starter == DEFAULT_WARM_STARTER
    assert LiveSettings().tpe_budget == 50 and LiveSettings().budget == 20


def _pmlb(tmp_path: Path) -> Path:
    folder = tmp_path / "pmlb_datasets"
    (folder / "datasets").mkdir(parents=True)
    rng = np.random.default_rng(0)
    rows = []
    for name, task_type in (
        (LIVE_CLASSIFICATION[0], "classification"),
        (LIVE_REGRESSION[0], "regression"),
    ):
        frame = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
        frame["target"] = (
            (frame["a"] > 0).astype(int) if task_type == "classification" else frame["a"] * 2
        )
        frame.to_csv(folder / "datasets" / f"{name}.tsv.gz", sep="\t", index=False)
        rows.append(
            (name, task_type, f"datasets/{name}.tsv.gz", 7 if task_type == "regression" else None)
        )
    pd.DataFrame(rows, columns=["name", "task_type", "file", "openml_dataset_id"]).to_csv(
        folder / "manifest.csv", index=False
    )
    return folder


def test_holdout_tasks_load_only_the_frozen_lists(tmp_path: Path) -> None:
    folder = _pmlb(tmp_path)
    tasks = list(holdout_tasks(folder, LiveSettings(task_type="regression"), [LIVE_REGRESSION[0]]))
    assert [t.name for t in tasks] == [LIVE_REGRESSION[0]]
    assert tasks[0].info["openml_dataset_id"] == 7 and len(tasks[0].x) == 80
    with pytest.raises(ValueError, match="not held-out"):
        list(holdout_tasks(folder, LiveSettings(), ["iris"]))
    with pytest.raises(ValueError, match="manifest"):
        list(holdout_tasks(folder, LiveSettings(), [LIVE_CLASSIFICATION[1]]))


def test_command_runs_both_task_types_and_resumes(kb: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    _pmlb(data)
    out = tmp_path / "out"
    argv = [
        "--db", str(kb), "--out", str(out), "--data", str(data),
        "--tables", LIVE_CLASSIFICATION[0], LIVE_REGRESSION[0],
        "--methods", "knn+default", "--budget", "2", "--tpe-budget", "2",
        "--max-rounds", "10", "--no-flaml",
    ]  # fmt: skip
    assert live_main(argv) == 0
    for page in ("live_pmlb", "live_pmlb_regression"):
        report = json.loads((out / f"{page}.json").read_text())
        assert report["settings"]["primary"] == "knn+default"
        assert "metakb_top1_knn+default" in (out / f"{page}.md").read_text()
    assert live_main(argv) == 0
    report = json.loads((out / "live_pmlb_regression.json").read_text())
    assert report["reused"] == len(report["methods"])


def test_load_task_caps_rows_stratified(tmp_path: Path) -> None:
    y = np.array([0] * 300 + [1] * 100)
    frame = pd.DataFrame({"a": np.arange(400) * 0.5, "target": y})
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    task = load_task(path, max_rows=100, seed=0, openml_dataset_id=7)
    assert len(task.x) == 100 and task.info["rows_in_file"] == 400
    assert task.info["openml_dataset_id"] == 7
    assert task.y.value_counts().to_dict() == {0: 75, 1: 25}


def test_flaml_estimators_keep_their_suggestion_through_clone() -> None:
    if (why := flaml_missing()) is not None:
        pytest.skip(why)
    import lightgbm

    from metakb.bench.peers import flaml_zeroshot

    x, y = make_classification(120, 6, random_state=0)
    model = clone(flaml_zeroshot("classification", seed=0)).fit(x, y)
    suggested = model.model_.get_params()
    defaults = lightgbm.LGBMClassifier().get_params()
    keys = ("n_estimators", "num_leaves", "learning_rate", "min_child_samples")
    assert any(suggested[k] != defaults[k] for k in keys)
    assert model.predict_proba(x).shape == (120, 2)
    xr, yr = make_regression(120, 6, random_state=0)
    reg = clone(flaml_zeroshot("regression", seed=0)).fit(xr, yr)
    suggested = reg.model_.get_params()
    defaults = lightgbm.LGBMRegressor().get_params()
    assert any(suggested[k] != defaults[k] for k in keys)
    assert reg.predict(xr).shape == (120,)


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
