import json
import warnings
from pathlib import Path

import pytest

from metakb.cli import main
from metakb.errors import MetakbError
from metakb.kb import (
    ExtrapolationWarning,
    Layout,
    extrapolation_notes,
    recommend,
    recommendations_json,
    train,
)
from metakb.models import Recommendation
from metakb.sources.published import import_published
from metakb.spaces import SPACES
from metakb.store import Store


@pytest.fixture
def kb(tiny_data: Path, store: Store) -> Store:
    import_published(store, tiny_data)
    return store


def test_train_saves_artifacts_next_to_the_knowledge_base(kb: Store) -> None:
    manifests = train(kb.path, ["random_forest", "lightgbm"], ["knn", "portfolio"], min_configs=2)
    assert {(m.space, m.method) for m in manifests} == {
        ("random_forest", "knn"),
        ("random_forest", "portfolio"),
        ("lightgbm", "knn"),
        ("lightgbm", "portfolio"),
    }
    assert (Layout(kb.path).artifact("random_forest", "knn") / "manifest.json").is_file()
    recs = recommend(
        {"NumberOfInstances": 5000.0}, algorithm="random_forest", k=2, method="knn", db=kb.path
    )
    assert 1 <= len(recs) <= 2
    assert all(SPACES["random_forest"].contains(r.config) for r in recs)


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
    with pytest.raises(MetakbError, match="metakb train"):
        recommend({}, algorithm="svc", method="knn", db=kb.path)
    with pytest.raises(MetakbError, match="no task"):
        recommend(algorithm="svc", task="999999", db=kb.path, min_configs=1)


def test_json_holds_estimator_kwargs() -> None:
    space = SPACES["adaboost"]
    from metakb.models import Recommendation

    result = recommendations_json(space, [Recommendation(space.default(), 0.5, ("openml:3",))])
    config = result["recommendations"][0]["config"]
    assert config["estimator"] == "sklearn.tree.DecisionTreeClassifier"
    assert config["estimator__max_depth"] == 1
    assert config["n_estimators"] == 50
    json.dumps(result)


def test_cli_train_and_recommend_json(kb: Store, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(kb.path)
    code = main(
        ["train", "-m", "knn", "-a", "lightgbm", "--min-configs", "2", "--db", db, "--json"]
    )
    assert code == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["artifacts"][0]["method"] == "knn"
    code = main(
        [
            "recommend",
            "--task",
            "3",
            "-a",
            "lightgbm",
            "-k",
            "2",
            "--method",
            "portfolio",
            "--min-configs",
            "2",
            "--db",
            db,
            "--json",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    recs = out["recommendations"]
    assert 1 <= len(recs) <= 2
    assert {"learning_rate", "num_leaves", "n_estimators"} <= set(recs[0]["config"])
    assert recs[0]["source_tasks"] == ["openml:2280"]


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


def test_python_api_is_exported() -> None:
    import metakb
    import metakb.kb

    assert metakb.recommend is metakb.kb.recommend
    assert metakb.KnowledgeBase is metakb.kb.KnowledgeBase


def test_cli_recommend_needs_file_or_task(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["recommend", "--db", str(tmp_path / "kb.duckdb")]) == 1
    assert "either" in capsys.readouterr().err


def test_cli_recommend_for_a_table_file(
    kb: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(kb.path)
    assert (
        main(["train", "-m", "knn", "-a", "random_forest", "--min-configs", "2", "--db", db]) == 0
    )
    capsys.readouterr()
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
    recs = json.loads(capsys.readouterr().out)["recommendations"]
    assert 1 <= len(recs) <= 2 and "max_features" in recs[0]["config"]
    assert main(argv) == 0
    assert "t.csv" in capsys.readouterr().out
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
    (manifest,) = train(kb.path, ["lightgbm"], ["knn"], min_configs=2)
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
        SPACES["lightgbm"], [Recommendation(ALGORITHMS["lightgbm"].library_config())]
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
        assert default["config"] == library and default["reason"].startswith("default: ")
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
