import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from metakb.cli import main
from metakb.configs import canonical_json
from metakb.datasets import kb_dataset_id, load_table
from metakb.errors import MetakbError, UsageError
from metakb.kb import (
    ExtrapolationWarning,
    Layout,
    ModelFittedWarning,
    extrapolation_notes,
    load_warm_starter,
    recommend,
    recommendations_json,
    train,
)
from metakb.metafeatures import extract, extract_table
from metakb.metafeatures import result_rows as meta_feature_rows
from metakb.models import Recommendation, TaskQuery
from metakb.search import TrialRecord
from metakb.sources.local import register_table, write_trials
from metakb.sources.published import import_published
from metakb.spaces import ALGORITHMS, SPACES
from metakb.store import Store
from tests.conftest import write_synthetic_table


@pytest.fixture
def kb(tiny_data: Path, store: Store) -> Store:
    import_published(store, tiny_data)
    return store


def test_train_saves_artifacts_next_to_the_knowledge_base(kb: Store) -> None:
    manifests = train(kb.path, ["random_forest", "lightgbm"], ["knn", "portfolio"], min_configs=2)
    # One model per task type with runs: the forest has none on regression tasks.
    assert {(m.space, m.task_type, m.method) for m in manifests} == {
        ("random_forest", "classification", "knn"),
        ("random_forest", "classification", "portfolio"),
        ("lightgbm", "classification", "knn"),
        ("lightgbm", "classification", "portfolio"),
        ("lightgbm", "regression", "knn"),
        ("lightgbm", "regression", "portfolio"),
    }
    by_type = {m.task_type: m.training_tasks for m in manifests if m.space == "lightgbm"}
    assert by_type == {"classification": ["openml:3"], "regression": ["openml:2280"]}
    assert (
        Layout(kb.path).artifact("random_forest", "knn", "classification") / "manifest.json"
    ).is_file()
    recs = recommend(
        {"NumberOfInstances": 5000.0}, algorithm="random_forest", k=2, method="knn", db=kb.path
    )
    assert 1 <= len(recs) <= 2
    # What users see is the estimator's keyword arguments; the flow's form stays at hand.
    space = SPACES["random_forest"]
    for r in recs:
        assert r.estimator == "sklearn.ensemble.RandomForestClassifier"
        assert r.config == ALGORITHMS["random_forest"].estimator_params(
            r.flow_params, "classification", 5000
        )
        assert space.to_flow_params(space.validate(r.flow_params)) == r.flow_params


@pytest.mark.parametrize("method", ["knn", "ensemble"])
def test_recommend_for_a_task_leaves_its_dataset_out(kb: Store, method: str) -> None:
    # Task 3's 3,196 rows are fewer than the one training task's: that is said too.
    with pytest.warns(ExtrapolationWarning, match="below every random_forest task"):
        recs = recommend(
            algorithm="random_forest", task="3", k=3, method=method, db=kb.path, min_configs=2
        )
    assert recs
    # Task 3's dataset is held out, so everything comes from task 6.
    assert {t for r in recs for t in r.source_tasks} == {"openml:6"}


def test_recommend_errors(kb: Store) -> None:
    with pytest.raises(MetakbError, match="unknown algorithm"):
        recommend({}, algorithm="xgboost", db=kb.path)
    # No trained model, and too few runs per task to fit one now.
    with pytest.raises(MetakbError, match=r"no trained model in .*none can be fitted instead"):
        recommend({}, algorithm="svc", method="knn", db=kb.path)
    with pytest.raises(MetakbError, match="no task"):
        recommend(algorithm="svc", task="999999", db=kb.path, min_configs=1)


@pytest.mark.parametrize(
    ("task_type", "ensemble", "tree"),
    [
        ("classification", "AdaBoostClassifier", "DecisionTreeClassifier"),
        ("regression", "AdaBoostRegressor", "DecisionTreeRegressor"),
    ],
)
def test_json_holds_estimator_kwargs(task_type: str, ensemble: str, tree: str) -> None:
    algorithm = ALGORITHMS["adaboost"]
    from metakb.models import Recommendation

    recs = [Recommendation(algorithm.space.default(), 0.5, ("openml:3",))]
    result = recommendations_json(algorithm, recs, task_type)
    assert result["task_type"] == task_type
    assert result["estimator"] == f"sklearn.ensemble.{ensemble}"
    config = result["recommendations"][0]["config"]
    assert config["estimator"] == f"sklearn.tree.{tree}"
    assert config["estimator__max_depth"] == 1
    assert config["n_estimators"] == 50
    json.dumps(result)


def test_json_of_a_regression_forest_says_squared_error() -> None:
    from metakb.models import Recommendation

    forest = ALGORITHMS["random_forest"]
    recs = [Recommendation(forest.space.default(), None, ())]
    result = recommendations_json(forest, recs, "regression")
    (shown,) = result["recommendations"]
    assert result["estimator"] == "sklearn.ensemble.RandomForestRegressor"
    assert shown["config"]["criterion"] == "squared_error"
    # The configuration itself stays the OpenML flow's, criterion and all.
    assert shown["flow_params"]["randomforestclassifier__criterion"] == "gini"


def test_json_caps_leaf_sizes_for_the_tables_rows_and_says_so() -> None:
    lightgbm = ALGORITHMS["lightgbm"]
    space = lightgbm.space
    from metakb.models import Recommendation

    config = {**space.default(), "min_data_in_leaf": 60, "num_leaves": 255}
    recs = [Recommendation(config, 0.5, ("openml:3",))]
    small = recommendations_json(lightgbm, recs, "classification", n_rows=60)
    entry = small["recommendations"][0]
    assert small["n_rows"] == 60
    assert (entry["config"]["min_child_samples"], entry["config"]["num_leaves"]) == (15, 4)
    assert entry["adapted"] == {
        "min_child_samples": {"from": 60, "to": 15},
        "num_leaves": {"from": 255, "to": 4},
    }
    # The knowledge base's configuration is unchanged.
    assert entry["flow_params"] == space.to_flow_params(config)
    for large in (
        recommendations_json(lightgbm, recs, "classification", n_rows=5000),
        recommendations_json(lightgbm, recs, "classification"),
    ):
        entry = large["recommendations"][0]
        assert entry["adapted"] == {} and entry["config"]["min_child_samples"] == 60
    json.dumps(small)


def test_cli_train_and_recommend_json(kb: Store, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(kb.path)
    code = main(
        ["train", "-m", "knn", "-a", "lightgbm", "--min-configs", "2", "--db", db, "--json"]
    )
    assert code == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["artifacts"][0]["method"] == "knn"
    args = ["recommend", "-a", "lightgbm", "-k", "2", "--min-configs", "2", "--db", db, "--json"]
    path = kb.path.parent / "mf.json"
    path.write_text(json.dumps({"NumberOfInstances": 3196, "NumberOfFeatures": 37}))
    meta = ["--meta-features", str(path), "--task-type", "regression", "--method", "knn"]
    assert main([*args, *meta]) == 0
    out = json.loads(capsys.readouterr().out)
    recs = out["recommendations"]
    assert 1 <= len(recs) <= 2
    assert {"learning_rate", "num_leaves", "n_estimators"} <= set(recs[0]["config"])
    assert out["estimator"] == "lightgbm.LGBMRegressor"
    assert {t for r in recs for t in r["source_tasks"]} == {"openml:2280"}
    # Task 3 is LightGBM's only classification task: held out, nothing of its task
    # type is left to learn from (the regression task is never used instead).
    assert main([*args, "--task", "3", "--method", "portfolio"]) == 1
    err = capsys.readouterr().err
    assert "no training task left once openml:3 is held out" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("method", ["knn", "ensemble"])
def test_cli_recommend_from_meta_features_file(
    kb: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str], method: str
) -> None:
    db = str(kb.path)
    train_cmd = ["train", "-m", method, "-a", "lightgbm", "--min-configs", "2", "--db", db]
    assert main(train_cmd) == 0
    capsys.readouterr()
    features = tmp_path / "mf.json"
    features.write_text(json.dumps({"NumberOfInstances": 3000, "NumberOfClasses": 2}))
    code = main(
        [
            "recommend",
            "--meta-features",
            str(features),
            "-a",
            "lightgbm",
            "-k",
            "2",
            "--method",
            method,
            "--db",
            db,
            "--json",
        ]
    )
    assert code == 0
    recs = json.loads(capsys.readouterr().out)["recommendations"]
    assert 1 <= len(recs) <= 2
    # knn predicts no score; the ensemble passes on its other members' scores.
    scored = [r["predicted_score"] is not None for r in recs]
    assert any(scored) if method == "ensemble" else not any(scored)
    features.write_text("[1, 2]")
    assert main(["recommend", "--meta-features", str(features), "--db", db]) == 1
    assert "meta-feature" in capsys.readouterr().err


def test_cli_recommend_shows_the_leaf_sizes_of_a_small_table(
    kb: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(kb.path)
    assert main(["train", "-m", "knn", "-a", "lightgbm", "--min-configs", "2", "--db", db]) == 0
    features = tmp_path / "mf.json"
    features.write_text(json.dumps({"NumberOfInstances": 60, "NumberOfClasses": 2}))
    argv = ["recommend", "--meta-features", str(features), "-a", "lightgbm", "--method", "knn"]
    capsys.readouterr()
    assert main([*argv, "-k", "3", "--db", db, "--json"]) == 0
    recs = json.loads(capsys.readouterr().out)["recommendations"]
    assert all(r["config"]["min_child_samples"] <= 60 // 4 for r in recs)
    assert any(r["adapted"] for r in recs)  # the default leaf, 20 rows, is one of them
    assert main([*argv, "-k", "3", "--db", db]) == 0
    printed = capsys.readouterr().out
    assert "adapted to the table's 60 rows, so every tree can split" in printed
    # The note names the capped values as the configuration shows them.
    assert "min_child_samples 20 -> 15" in printed and "min_data_in_leaf" not in printed
    # The table shows the estimator's keyword arguments, capped for the table's rows.
    assert "min_child_samples=" in printed and "min_child_samples=20" not in printed


def test_python_api_is_exported() -> None:
    import metakb
    import metakb.kb

    assert metakb.recommend is metakb.kb.recommend
    assert metakb.KnowledgeBase is metakb.kb.KnowledgeBase
    assert metakb.load_warm_starter is metakb.kb.load_warm_starter
    assert metakb.metafeatures.extract is extract


@pytest.mark.parametrize("task_type", ["classification", "regression"])
def test_recommend_takes_extracts_result_and_its_task_type(
    kb: Store, tmp_path: Path, task_type: str
) -> None:
    train(kb.path, ["lightgbm"], ["knn"], min_configs=2)
    table = load_table(write_synthetic_table(tmp_path / "t.csv", task_type), "y")
    result = extract(table.X, table.y, families=["simple"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExtrapolationWarning)
        recs = recommend(result, algorithm="lightgbm", method="knn", k=2, db=kb.path)
    source = "openml:2280" if task_type == "regression" else "openml:3"
    assert recs and source in {t for r in recs for t in r.source_tasks}
    other = "classification" if task_type == "regression" else "regression"
    with pytest.raises(MetakbError, match=f"of a {task_type} table, not {other}"):
        recommend(result, algorithm="lightgbm", method="knn", task_type=other, db=kb.path)


def test_load_warm_starter_loads_the_trained_model(kb: Store) -> None:
    # The tiny base has too few configurations per task to fit a model without
    # train's min_configs=2: what loads is the saved one.
    with pytest.raises(MetakbError, match="run `metakb train` first"):
        load_warm_starter("lightgbm", "knn", db=kb.path)
    train(kb.path, ["lightgbm"], ["knn"], min_configs=2)
    starter = load_warm_starter("lightgbm", "knn", db=kb.path, task_type="regression")
    recs = starter.recommend(TaskQuery({"NumberOfInstances": 3196.0}), 3)
    assert {t for r in recs for t in r.source_tasks} == {"openml:2280"}
    with pytest.raises(MetakbError, match="unknown method 'foo'"):
        load_warm_starter("lightgbm", "foo", db=kb.path)


def test_load_warm_starter_fits_one_when_none_is_saved(sweep_store: Store) -> None:
    starter = load_warm_starter("lightgbm", "knn", db=sweep_store.path)
    recs = starter.recommend(TaskQuery({"NumberOfInstances": 100.0}), 2)
    assert recs and all(t.startswith("local:") for r in recs for t in r.source_tasks)
    assert not Layout(sweep_store.path).artifacts.exists()  # fitted, not saved


def test_cli_recommend_needs_file_or_task(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["recommend", "--db", str(tmp_path / "kb.duckdb")]) == 1
    assert "either" in capsys.readouterr().err


def _cli_train_knn(capsys: pytest.CaptureFixture[str], kb: Store, algorithm: str) -> str:
    """Train knn for ``algorithm`` through the command line; return the --db argument."""
    db = str(kb.path)
    assert main(["train", "-m", "knn", "-a", algorithm, "--min-configs", "2", "--db", db]) == 0
    capsys.readouterr()
    return db


def test_cli_recommend_for_a_table_file(
    kb: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _cli_train_knn(capsys, kb, "random_forest")
    table = tmp_path / "t.csv"
    table.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    argv = [
        "recommend",
        str(table),
        "--target",
        "y",
        "-a",
        "random_forest",
        "-k",
        "2",
        "--method",
        "knn",
        "--db",
        db,
    ]
    assert main([*argv, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    recs = result["recommendations"]
    assert 1 <= len(recs) <= 2 and "max_features" in recs[0]["config"]
    # Fitted to the table's 40 rows (25 distinct ones in a bootstrap sample): four leaves fit.
    assert result["n_rows"] == 40
    assert all(
        4 * r["config"]["min_samples_leaf"] <= (25 if r["config"]["bootstrap"] else 40)
        for r in recs
    )
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "t.csv" in printed
    adapted = any(r["adapted"] for r in recs)
    assert ("adapted to the table's 40 rows" in printed) == adapted
    # A wrong target is one line and a non-zero exit.
    assert main([*argv[:3], "nope", *argv[4:]]) == 1
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_extrapolation_notes_name_the_feature_and_the_side() -> None:
    ranges = {"NumberOfInstances": [690.0, 581012.0], "NumberOfClasses": [2.0, 10.0]}
    notes = extrapolation_notes(
        {"NumberOfInstances": 128.0, "NumberOfClasses": 26.0, "NumberOfFeatures": 1e9},
        ranges,
        "lightgbm",
    )
    assert notes == [
        "NumberOfInstances 128 is below every lightgbm task the model learned from "
        "(690 to 581,012): its recommendations extrapolate",
        "NumberOfClasses 26 is above every lightgbm task the model learned from "
        "(2 to 10): its recommendations extrapolate",
    ]
    (huge,) = extrapolation_notes({"NumberOfClasses": 1e300}, ranges, "lightgbm")
    assert huge.startswith("NumberOfClasses 1e+300 is above")
    inside = {"NumberOfInstances": 690.0, "NumberOfClasses": float("nan")}
    assert extrapolation_notes(inside, ranges, "lightgbm") == []


def test_recommend_warns_only_outside_the_training_sizes(kb: Store) -> None:
    manifests = train(kb.path, ["lightgbm"], ["knn"], min_configs=2)
    (manifest,) = [m for m in manifests if m.task_type == "classification"]
    lo, hi = manifest.meta_feature_ranges["NumberOfInstances"]
    with pytest.warns(ExtrapolationWarning, match="NumberOfInstances 5 is below every lightgbm"):
        recommend({"NumberOfInstances": 5.0}, algorithm="lightgbm", method="knn", db=kb.path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)
        middle = {"NumberOfInstances": (lo + hi) / 2}
        assert recommend(middle, algorithm="lightgbm", method="knn", k=1, db=kb.path)


def test_cli_recommend_prints_the_extrapolation_on_stderr(
    kb: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(kb.path)
    assert main(["train", "-m", "knn", "-a", "lightgbm", "--min-configs", "2", "--db", db]) == 0
    capsys.readouterr()
    features = tmp_path / "mf.json"
    features.write_text(json.dumps({"NumberOfInstances": 5}))
    args = ["recommend", "--meta-features", str(features), "--method", "knn", "--db", db]
    assert main([*args, "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["recommendations"]  # stdout stays pure JSON
    assert "warning: NumberOfInstances 5 is below every lightgbm task" in captured.err


# --- task types: each model learns from one task type's tasks -----------------------


def _recommend_json(
    capsys: pytest.CaptureFixture[str], db: Path, *args: str
) -> tuple[int, dict[str, Any] | None, str]:
    code = main(["recommend", *args, "-k", "2", "--method", "knn", "--db", str(db), "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out) if code == 0 else None, captured.err


@pytest.mark.parametrize(
    ("task_type", "estimator", "source"),
    [
        ("regression", "lightgbm.LGBMRegressor", "openml:2280"),
        ("classification", "lightgbm.LGBMClassifier", "openml:3"),
    ],
)
def test_cli_recommend_answers_a_table_from_its_task_types_runs(
    kb: Store,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    task_type: str,
    estimator: str,
    source: str,
) -> None:
    db = str(kb.path)
    assert main(["train", "-m", "knn", "-a", "lightgbm", "--min-configs", "2", "--db", db]) == 0
    trained = capsys.readouterr().out
    assert "classification" in trained and "regression" in trained  # one model each
    table = write_synthetic_table(tmp_path / "my.csv", task_type)
    code, out, err = _recommend_json(capsys, kb.path, str(table), "--target", "y", "-a", "lightgbm")
    assert code == 0, err
    assert out is not None and out["estimator"] == estimator and out["task_type"] == task_type
    assert {t for r in out["recommendations"] for t in r["source_tasks"]} == {source}
    assert main(["recommend", str(table), "--target", "y", "--method", "knn", "--db", db]) == 0
    assert f"{estimator} ({task_type}) via knn" in capsys.readouterr().out


def test_a_copy_of_a_knowledge_base_table_is_named_and_left_out(
    kb: Store, tiny_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _cli_train_knn(capsys, kb, "random_forest")
    # The published PMLB copy of OpenML dataset 3, whose file the knowledge base knows.
    copy = str(tiny_data / "pmlb_datasets" / "datasets" / "kr-vs-kp.tsv.gz")
    args = [copy, "--target", "target", "-a", "random_forest", "--min-configs", "2"]
    code, out, err = _recommend_json(capsys, kb.path, *args)
    assert code == 0, err
    assert (
        "note: this table is openml:3 (kr-vs-kp, OpenML 3) in the knowledge base "
        "(same file; task openml:3): left out of its recommendation" in err
    )
    assert out is not None
    assert {t for r in out["recommendations"] for t in r["source_tasks"]} == {"openml:6"}
    # Without the leave-out the saved model answers, task 3 among its sources.
    recs = recommend({"NumberOfInstances": 3196.0}, algorithm="random_forest", method="knn", db=db)
    assert "openml:3" in {t for r in recs for t in r.source_tasks}


def test_no_runs_on_the_task_type_is_a_one_line_error(
    kb: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The forest supports regression, but the knowledge base has classification runs only.
    _cli_train_knn(capsys, kb, "random_forest")
    table = write_synthetic_table(tmp_path / "my.csv", "regression")
    code, _, err = _recommend_json(
        capsys, kb.path, str(table), "--target", "y", "-a", "random_forest"
    )
    message = "holds no regression tasks with runs of random_forest"
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1
    with pytest.raises(MetakbError, match=message):
        recommend({}, algorithm="random_forest", task_type="regression", method="knn", db=kb.path)
    # A regression task of the knowledge base: the same, from the model fitted afresh.
    with pytest.raises(MetakbError, match=message):
        recommend(algorithm="random_forest", task="2280", method="knn", db=kb.path, min_configs=1)


def test_a_task_of_another_task_type_than_asked_is_refused(kb: Store) -> None:
    with pytest.raises(MetakbError, match="openml:3 is a classification task, not regression"):
        recommend(algorithm="lightgbm", task="3", task_type="regression", db=kb.path)


def _local_regression_task(
    store: Store, path: Path, seed: int, task_type: str = "regression", metric: str = "neg_rmse"
) -> str:
    """Register a synthetic table with four LightGBM trials of made-up scores (RMSE by default)."""
    table = load_table(write_synthetic_table(path, task_type, seed=seed), "y")
    space = SPACES["lightgbm"]
    features = meta_feature_rows(kb_dataset_id(table), extract_table(table, families=["simple"]))
    _, task_id = register_table(store, table, features, space, metric)
    best = -1.0 if metric == "neg_rmse" else 0.9
    records = [
        TrialRecord(i, config, 1.0, best - 0.1 * ((i * (seed + 2)) % 5), 0.1, "ok")
        for i, config in enumerate(space.sample(4, seed=1))
    ]
    write_trials(store, records, space=space, task_id=task_id, metric=metric, provenance="t")
    return task_id


def test_recommend_for_a_regression_task_learns_from_regression_tasks_only(
    kb: Store, tmp_path: Path
) -> None:
    held = _local_regression_task(kb, tmp_path / "one.csv", seed=1)
    other = _local_regression_task(kb, tmp_path / "two.csv", seed=2)
    recs = recommend(algorithm="lightgbm", task=held, k=3, method="knn", db=kb.path, min_configs=2)
    # The classification task 3 is never a source; the regression task 2280 is, though
    # its runs are of another metric (TabRepo's error): each task is read in its own.
    sources = {t for r in recs for t in r.source_tasks}
    assert recs and sources <= {other, "openml:2280"} and other in sources


def test_an_algorithm_without_the_tables_task_type_is_one_line(
    kb: Store,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    only_task_type: Callable[[str, str], None],
) -> None:
    only_task_type("adaboost", "classification")
    only_task_type("lightgbm", "regression")
    for task_type, algorithm, message in (
        ("regression", "adaboost", "adaboost supports classification only, not 'regression'"),
        ("classification", "lightgbm", "lightgbm supports regression only, not 'classification'"),
    ):
        table = write_synthetic_table(tmp_path / f"{task_type}.csv", task_type)
        code, _, err = _recommend_json(
            capsys, kb.path, str(table), "--target", "y", "-a", algorithm
        )
        assert code == 1 and message in err, err
        assert f"for a {task_type} target" in err and len(err.strip().splitlines()) == 1


def test_every_method_weighs_its_picks_against_the_library_default(
    kb: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from metakb.models import WARM_STARTERS
    from metakb.spaces import ALGORITHMS

    db = str(kb.path)
    assert main(["train", "-a", "lightgbm", "--min-configs", "2", "--db", db]) == 0
    capsys.readouterr()
    features = tmp_path / "mf.json"
    features.write_text(json.dumps({"NumberOfInstances": 5000, "NumberOfClasses": 2}))
    library = recommendations_json(
        ALGORITHMS["lightgbm"],
        [Recommendation(ALGORITHMS["lightgbm"].library_config())],
        "classification",
        5000,
    )["recommendations"][0]["config"]
    for method in sorted(WARM_STARTERS):
        # Three configurations in the tiny TabRepo table, and the default.
        args = ["recommend", "--meta-features", str(features), "-k", "4", "--method", method]
        assert main([*args, "--db", db, "--json"]) == 0
        recs = json.loads(capsys.readouterr().out)["recommendations"]
        assert len(recs) == 4, method
        for rec in recs:
            assert isinstance(rec["predicted_gain"], float), method
            assert isinstance(rec["gain_sd"], float) and rec["gain_sd"] >= 0, method
            assert isinstance(rec["reason"], str) and rec["reason"], method
            ahead = rec["predicted_gain"] > rec["gain_sd"]
            assert rec["reason"].startswith("predicted +") or not ahead, method
        (default,) = [r for r in recs if r["is_default"]]
        assert default["config"] == library, (default["config"], library)
        assert "default: " in default["reason"]
        assert main([*args, "--db", db]) == 0
        table = capsys.readouterr().out
        assert "why" in table and "default" in table


def test_an_extrapolating_recommendation_says_so_in_its_reason(kb: Store) -> None:
    train(kb.path, ["lightgbm"], ["portfolio"], min_configs=2)
    with pytest.warns(ExtrapolationWarning):
        recs = recommend(
            {"NumberOfInstances": 5.0}, algorithm="lightgbm", method="portfolio", db=kb.path
        )
    assert any(r.is_default for r in recs)
    for rec in recs:
        assert rec.reason is not None
        assert rec.reason.startswith(
            "extrapolating (NumberOfInstances 5 below the training range), judged across all "
        )


def test_recommendations_carry_their_cost_relative_to_the_default(
    kb: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lightgbm = ALGORITHMS["lightgbm"]
    space = lightgbm.space
    default = lightgbm.library_config()
    slow = {**default, "learning_rate": 0.01}  # 1,000 rounds instead of 100
    quick = {**default, "num_leaves": 16}
    # Timed fits on task 3 (in its declared metric, so the model learns from these three).
    timed = [(default, 0.90, 1.0), (slow, 0.97, 10.0), (quick, 0.95, 0.5)]
    records = [TrialRecord(i, c, 1.0, v, s, "ok") for i, (c, v, s) in enumerate(timed)]
    write_trials(kb, records, space=space, task_id="openml:3", metric="accuracy", provenance="t")
    train(kb.path, ["lightgbm"], ["knn"], min_configs=2)
    features = {"NumberOfInstances": 3196.0, "NumberOfFeatures": 37.0, "NumberOfClasses": 2.0}
    recs = recommend(features, algorithm="lightgbm", method="knn", k=3, db=kb.path)
    costs = {canonical_json(space.validate(r.flow_params)): r.relative_cost for r in recs}
    assert costs == {
        canonical_json(space.validate(default)): 1.0,
        canonical_json(space.validate(slow)): pytest.approx(10.0),
        canonical_json(space.validate(quick)): pytest.approx(0.5),
    }
    assert {r.cost_basis for r in recs} == {"the default", "measured on 1 task"}
    # A bound on the cost leaves out what is predicted to take longer.
    bounded = recommend(
        features, algorithm="lightgbm", method="knn", k=3, db=kb.path, max_relative_cost=2.0
    )
    assert len(bounded) == 2 and all(r.relative_cost <= 2.0 for r in bounded)
    (cheapest,) = recommend(
        features, algorithm="lightgbm", method="knn", k=3, db=kb.path, max_relative_cost=0.6
    )
    assert cheapest.config["num_leaves"] == 16
    # The command line: a column, a JSON field and the option.
    path = tmp_path / "mf.json"
    path.write_text(json.dumps(features))
    argv = ["recommend", "--meta-features", str(path), "-a", "lightgbm", "--method", "knn"]
    argv += ["-k", "3"]
    capsys.readouterr()
    assert main([*argv, "--db", str(kb.path), "--json", "--max-relative-cost", "2"]) == 0
    shown = json.loads(capsys.readouterr().out)["recommendations"]
    assert sorted(r["relative_cost"] for r in shown) == pytest.approx([0.5, 1.0])
    assert main([*argv, "--db", str(kb.path)]) == 0
    printed = capsys.readouterr().out
    assert "cost ×default" in printed and "pred. score (0-1)" in printed
    assert "cost ×10 (measured on 1 task)" in printed
    assert main([*argv, "--db", str(kb.path), "--max-relative-cost", "0.1"]) == 0
    assert "no configuration is predicted to fit within x0.1 the default" in capsys.readouterr().out


# --- metrics: a model learns from one metric per task ---------------------------------


def test_a_metric_the_saved_model_learned_from_uses_it(kb: Store) -> None:
    train(kb.path, ["random_forest"], ["knn"], min_configs=2)  # tasks 3 and 6: accuracy
    query = {"NumberOfInstances": 5000.0}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelFittedWarning)
        recs = recommend(
            query, algorithm="random_forest", method="knn", metric="accuracy", db=kb.path
        )
    plain = recommend(query, algorithm="random_forest", method="knn", db=kb.path)
    assert [r.flow_params for r in recs] == [r.flow_params for r in plain]


def test_another_metric_than_the_saved_models_fits_one_for_it(kb: Store, tmp_path: Path) -> None:
    train(kb.path, ["lightgbm"], ["knn"], min_configs=2)  # task 3 only, in TabRepo's error
    local = [
        _local_regression_task(kb, tmp_path / f"{i}.csv", i, "classification", "roc_auc")
        for i in (1, 2)
    ]
    options: dict[str, Any] = {"algorithm": "lightgbm", "method": "knn", "db": kb.path}
    message = r"learned from metric_error, not roc_auc \(area_under_roc_curve\): fitted knn"
    with pytest.warns(ModelFittedWarning, match=message):
        recs = recommend({"NumberOfInstances": 80.0}, metric="roc_auc", min_configs=2, **options)
    # Only the tasks scored by ROC AUC are learned from, not task 3.
    assert recs and {t for r in recs for t in r.source_tasks} <= set(local)
    held = recommend(task=local[0], metric="roc_auc", min_configs=2, **options)
    assert {t for r in held for t in r.source_tasks} == {local[1]}
    # Without a metric the saved model answers, from task 3.
    recs = recommend({"NumberOfInstances": 3196.0}, **options)
    assert {t for r in recs for t in r.source_tasks} == {"openml:3"}


def test_a_metric_without_runs_or_of_another_task_type_is_refused(kb: Store) -> None:
    options: dict[str, Any] = {"algorithm": "lightgbm", "method": "knn", "db": kb.path}
    thin = "too few runs of lightgbm on classification tasks scored by accuracy"
    with pytest.raises(MetakbError, match=thin) as error:
        recommend({}, metric="accuracy", min_configs=2, **options)
    assert "\n" not in str(error.value)
    with pytest.raises(MetakbError, match=thin):
        recommend(task="3", metric="accuracy", min_configs=1, **options)
    with pytest.raises(UsageError, match="r2 does not score a classification target"):
        recommend({}, metric="r2", **options)
    with pytest.raises(UsageError, match="accuracy does not score a regression target"):
        recommend(task="2280", metric="accuracy", **options)
    with pytest.raises(UsageError, match="unknown metric 'f1'; known: accuracy"):
        recommend({}, metric="f1", **options)
