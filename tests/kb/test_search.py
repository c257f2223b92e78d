"""KnowledgeBase.search and `metakb search`: end to end on a tiny table, write-back, resume."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier

from metakb.cli import _print_search, main
from metakb.configs import config_id
from metakb.datasets import load_table
from metakb.errors import MetakbError
from metakb.kb import KnowledgeBase, TableSearch, train
from metakb.kb import _search as searching
from metakb.kb._quickstart import example_table
from metakb.metafeatures import extract_table
from metakb.metafeatures import result_rows as meta_feature_rows
from metakb.search import SearchResult, SpaceEstimators, TrialRecord
from metakb.sources.local import register_table, write_trials
from metakb.sources.published import import_published
from metakb.spaces import ALGORITHMS, get_space
from metakb.store import Store
from tests.conftest import write_synthetic_table

FAST = {"n_splits": 2, "seed": 0}


def search_table(path: Path, *, db: Path, **options: Any) -> TableSearch:
    """`KnowledgeBase.search`, the verb under test, on the knowledge base at ``db``."""
    return KnowledgeBase(db).search(path, **options)


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 rows and 5 features of breast_cancer: each forest trial takes well under a second."""
    frame = load_breast_cancer(as_frame=True).frame
    columns = [*frame.columns[:5], "target"]
    path = tmp_path_factory.mktemp("table") / "tiny.csv"
    frame[columns].sample(60, random_state=0).to_csv(path, index=False)
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "kb" / "metakb.duckdb"


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with Store(db).read() as con:
        return con.execute(sql).fetchall()


def _fake_knowledge_base(db: Path) -> None:
    """Three scikit-learn tasks with 12 random-forest configurations each and made-up scores."""
    store = Store(db)
    space = get_space("random_forest")
    configs = space.sample(12, seed=1)
    for n, name in enumerate(("iris", "wine", "synthetic")):
        table = load_table(example_table(db.parent / "examples", name), "target")
        features = meta_feature_rows(
            f"local:{table.content_hash}", extract_table(table, families=["simple"])
        )
        _, task_id = register_table(store, table, features, space, "accuracy")
        records = [
            TrialRecord(i, c, 1.0, 0.5 + 0.04 * ((i * (n + 3)) % 11), 0.1, "ok")
            for i, c in enumerate(configs)
        ]
        write_trials(
            store, records, space=space, task_id=task_id, metric="accuracy", provenance="fake"
        )


@pytest.mark.parametrize("method", ["random", "bo", "hyperband", "bohb", "sh"])
def test_each_method_runs_and_writes_back(tiny_csv: Path, db: Path, method: str) -> None:
    found = search_table(
        tiny_csv,
        target="target",
        algorithm="random_forest",
        budget=3,
        method=method,
        warm_start="none",
        db=db,
        **FAST,
    )
    trials = found.result.trials
    assert len(trials) == 3 and all(t.status == "ok" for t in trials)
    assert found.result.best is not None
    kwargs = found.best_estimator_params()
    assert kwargs is not None and kwargs["n_estimators"] == 100
    # found.best: the same arguments, the flow's form beside them, and code that runs.
    best = found.best
    assert best is not None and best.config == kwargs
    assert best.flow_params == found.result.best.config
    assert best.score == found.result.best.score
    namespace: dict[str, Any] = {}
    exec(best.code, namespace)  # our own output
    assert namespace["model"].get_params()["randomforestclassifier__n_estimators"] == 100
    provenance = f"search:{found.search_id}"
    rows = _rows(
        db,
        "SELECT source, value, fidelity FROM evaluations WHERE provenance = "
        f"'{provenance}' ORDER BY fidelity",
    )
    assert len(rows) == found.evaluations_added == 3
    assert {r[0] for r in rows} == {"local"}
    assert sorted(r[2] for r in rows) == sorted(t.fidelity for t in trials)


def test_the_best_estimator_is_fitted_to_the_tables_rows(
    tiny_csv: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = search_table(
        tiny_csv,
        target="target",
        algorithm="random_forest",
        budget=1,
        method="random",
        warm_start="none",
        db=db,
        **FAST,
    )
    assert found.n_rows == 60
    # A published leaf size: 38 distinct rows of a 60-row bootstrap sample fit no 4 such leaves.
    leaf, split = (
        "randomforestclassifier__min_samples_leaf",
        "randomforestclassifier__min_samples_split",
    )
    config = {**get_space("random_forest").default(), leaf: 20, split: 20}
    best = dataclasses.replace(
        found, result=SearchResult([TrialRecord(0, config, 1.0, 0.9, 1.0, "ok")])
    )
    kwargs = best.best_estimator_params()
    assert kwargs is not None
    assert (kwargs["min_samples_leaf"], kwargs["min_samples_split"]) == (38 // 4, 38 // 2)
    assert best.best_adaptations() == {"min_samples_leaf": (20, 9), "min_samples_split": (20, 19)}
    _print_search(best)
    printed = capsys.readouterr().out
    assert "min_samples_leaf=9" in printed
    # Trials and the best line in the estimator's arguments, Python literals, no flow prefix.
    assert "randomforestclassifier__" not in printed and "max_depth=None" in printed
    assert "adapted to the table's 60 rows" in printed and "min_samples_leaf 20 -> 9" in printed
    assert dataclasses.replace(best, n_rows=None).best_adaptations() == {}
    # LightGBM's flow calls the leaf size min_data_in_leaf; the note, like the
    # configuration shown, says min_child_samples.
    lightgbm = get_space("lightgbm")
    config = {**lightgbm.default(), "min_data_in_leaf": 60}
    best = dataclasses.replace(
        found,
        space=lightgbm,
        result=SearchResult([TrialRecord(0, config, 1.0, 0.9, 1.0, "ok")]),
    )
    assert best.best_adaptations() == {"num_leaves": (31, 4), "min_child_samples": (60, 15)}
    assert best.to_dict()["best"]["adapted"]["min_child_samples"] == {"from": 60, "to": 15}
    _print_search(best)
    printed = capsys.readouterr().out
    assert "min_child_samples 60 -> 15" in printed and "min_data_in_leaf" not in printed


def test_write_back_is_complete_and_idempotent(tiny_csv: Path, db: Path) -> None:
    args: dict[str, Any] = dict(
        target="target", algorithm="random_forest", budget=2, method="random", **FAST
    )
    found = search_table(tiny_csv, warm_start="none", db=db, **args)
    dataset = _rows(
        db, "SELECT dataset_id, source, n_rows, n_features, n_classes, target FROM datasets"
    )
    assert dataset == [(found.dataset_id, "local", 60, 5, 2, "target")]
    assert found.dataset_id.startswith("local:") and found.task_id.startswith("local:")
    assert _rows(db, "SELECT task_id, metric FROM tasks") == [
        (found.task_id, "predictive_accuracy")
    ]
    n_features = _rows(
        db,
        "SELECT count(*) FROM meta_features WHERE computed_by = 'metakb' AND version IS NOT NULL",
    )[0][0]
    assert n_features > 10
    # Stored under the flow's parameter names with its constants: the published config id.
    space = get_space("random_forest")
    stored = _rows(db, "SELECT config_id, params FROM configs")
    for cid, params in stored:
        assert cid == config_id("openml:6969", json.loads(params))
        assert json.loads(params)["randomforestclassifier__n_estimators"] == 100
    assert {config_id("openml:6969", space.to_flow_params(t.config)) for t in found.result.trials}
    before = _rows(db, "SELECT count(*) FROM evaluations")[0][0]
    again = search_table(tiny_csv, warm_start="none", db=db, new=True, **args)
    assert again.evaluations_added == 0
    assert _rows(db, "SELECT count(*) FROM evaluations")[0][0] == before == 2
    assert _rows(db, "SELECT count(*) FROM meta_features")[0][0] == n_features


class InterruptedSearchError(Exception):
    pass


@pytest.mark.parametrize(("warm", "n_warm"), [("none", None), ("transfer", 4)])
def test_resume_after_interruption(tiny_csv: Path, db: Path, warm: str, n_warm: int | None) -> None:
    """Also with transfer's adaptive picks, whose 3rd and 4th depend on the scores seen."""
    if warm != "none":
        _fake_knowledge_base(db)
    args: dict[str, Any] = dict(
        target="target",
        algorithm="random_forest",
        budget=5,
        method="bo",
        warm_start=warm,
        n_warm=n_warm,
        db=db,
        **FAST,
    )

    def stop_after_two(record: TrialRecord, result: Any) -> None:
        if len(result.trials) == 2:
            raise InterruptedSearchError

    base = _rows(db, "SELECT count(*) FROM evaluations")[0][0] if warm != "none" else 0
    with pytest.raises(InterruptedSearchError):
        search_table(tiny_csv, on_trial=stop_after_two, **args)
    assert _rows(db, "SELECT count(*) FROM evaluations")[0][0] == base + 2
    resumed = search_table(tiny_csv, resume=True, **args)
    assert not [n for n in resumed.notes if "nothing to resume" in n]
    assert len(resumed.result.trials) == 5
    assert len({t.trial_id for t in resumed.result.trials}) == 5
    assert resumed.evaluations_added == 3
    assert _rows(db, "SELECT count(*) FROM evaluations")[0][0] == base + 5
    # The same seed without the interruption asks the same configurations.
    fresh = search_table(tiny_csv, new=True, **args)
    assert [t.config for t in fresh.result.trials] == [t.config for t in resumed.result.trials]
    assert fresh.evaluations_added == 0


def test_failing_configurations_are_failed_trials(
    tiny_csv: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = SpaceEstimators.__call__

    def fail_without_bootstrap(self: SpaceEstimators, config: Any, x: Any) -> Any:
        if not config["randomforestclassifier__bootstrap"]:
            raise ValueError("refusing bootstrap=False")
        return real(self, config, x)

    monkeypatch.setattr(SpaceEstimators, "__call__", fail_without_bootstrap)
    found = search_table(
        tiny_csv,
        target="target",
        algorithm="random_forest",
        budget=6,
        method="random",
        warm_start="none",
        db=db,
        **FAST,
    )
    statuses = {
        t.config["randomforestclassifier__bootstrap"]: t.status for t in found.result.trials
    }
    assert statuses == {True: "ok", False: "failed"}
    failed = [t for t in found.result.trials if t.status == "failed"]
    assert all("refusing bootstrap=False" in (t.error or "") for t in failed)
    nulls = _rows(db, "SELECT count(*) FROM evaluations WHERE value IS NULL")[0][0]
    assert nulls == len(failed)


@pytest.mark.parametrize("warm", ["knn", "portfolio", "transfer", "cf", "ensemble"])
def test_warm_start_from_the_knowledge_base(tiny_csv: Path, db: Path, warm: str) -> None:
    _fake_knowledge_base(db)
    found = search_table(
        tiny_csv,
        target="target",
        algorithm="random_forest",
        budget=3,
        method="bo",
        warm_start=warm,
        db=db,
        n_warm=2,
        **FAST,
    )
    assert found.warm.enqueued >= 1
    assert any("fitted one for this search" in note for note in found.notes)
    space = get_space("random_forest")
    known = {config_id("x", c) for c in space.sample(12, seed=1)}
    first = found.result.trials[0].config
    if warm in ("knn", "portfolio"):  # they recommend evaluated configurations
        assert config_id("x", space.validate(first)) in known


def test_warm_start_without_runs_is_one_clear_error(tiny_csv: Path, db: Path) -> None:
    with pytest.raises(MetakbError, match="metakb train") as info:
        search_table(tiny_csv, target="target", algorithm="svc", budget=1, warm_start="knn", db=db)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"algorithm": "xgboost"}, "unknown algorithm"),
        ({"method": "grid"}, "unknown method"),
        ({"warm_start": "magic"}, "unknown warm start"),
        ({"target": "nope"}, "nope"),
        ({"budget": 0}, "budget"),
    ],
)
def test_bad_input_is_a_metakb_error(
    tiny_csv: Path, db: Path, change: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = dict(
        target="target", algorithm="random_forest", budget=2, warm_start="none", db=db
    )
    with pytest.raises(MetakbError, match=message):
        search_table(tiny_csv, **{**args, **change})


def test_a_classification_only_algorithm_refuses_a_regression_target(
    tmp_path: Path, db: Path, only_task_type: Callable[[str, str], None]
) -> None:
    only_task_type("adaboost", "classification")
    table = write_synthetic_table(tmp_path / "reg.csv", "regression", n_rows=40)
    with pytest.raises(MetakbError, match="classification only") as info:
        search_table(table, target="y", algorithm="adaboost", budget=1, warm_start="none", db=db)
    message = str(info.value)
    assert "\n" not in message and "use random_forest or svc or lightgbm" in message
    assert not db.exists()  # refused before anything is written


@pytest.mark.parametrize(
    ("algorithm", "estimator", "argument"),
    [
        ("lightgbm", "lightgbm.LGBMRegressor(", "num_leaves="),
        ("random_forest", "sklearn.ensemble.RandomForestRegressor(", "criterion='squared_error'"),
        ("adaboost", "sklearn.ensemble.AdaBoostRegressor(", "DecisionTreeRegressor(max_depth="),
    ],
)
def test_cli_regression_search_reports_the_regressor(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    db: Path,
    algorithm: str,
    estimator: str,
    argument: str,
) -> None:
    table = write_synthetic_table(tmp_path / "reg.csv", "regression")
    args = ["search", str(table), "--target", "y", "-a", algorithm, "--budget", "2"]
    args += ["--method", "random", "--warm-start", "none", "--folds", "2", "--db", str(db)]
    code, out, err = _cli(capsys, *args)
    assert code == 0, err
    (best,) = [line for line in out.splitlines() if line.startswith("best: ")]
    assert best.startswith(f"best: {estimator}") and argument in best
    assert "Classifier" not in best
    assert _rows(db, "SELECT task_type, metric FROM tasks") == [
        ("regression", "root_mean_squared_error")
    ]


def test_regression_search_with_r2_stores_r2(tmp_path: Path, db: Path) -> None:
    table = write_synthetic_table(tmp_path / "reg.csv", "regression")
    found = search_table(
        table,
        target="y",
        algorithm="random_forest",
        budget=2,
        method="random",
        warm_start="none",
        db=db,
        metric="r2",
        **FAST,
    )
    assert found.task_type == "regression" and found.metric == "r2"
    assert found.estimator == "sklearn.ensemble.RandomForestRegressor"
    values = _rows(db, "SELECT metric, value FROM evaluations ORDER BY value")
    assert {m for m, _ in values} == {"r2"} and len(values) == 2
    scores = sorted(t.score for t in found.result.trials if t.score is not None)
    assert [v for _, v in values] == pytest.approx(scores)  # r2 is stored as scored


@pytest.mark.parametrize(("kind", "metric"), [("regression", "accuracy"), ("classification", "r2")])
def test_a_metric_of_the_other_task_type_is_refused_before_writing(
    tmp_path: Path, db: Path, kind: str, metric: str
) -> None:
    table = write_synthetic_table(tmp_path / "t.csv", kind)
    with pytest.raises(MetakbError, match=f"{metric} does not score a {kind} target"):
        search_table(
            table, target="y", algorithm="svc", budget=1, warm_start="none", db=db, metric=metric
        )
    assert not db.exists()


# --- the CLI --------------------------------------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _search(
    capsys: pytest.CaptureFixture[str], table: Path, db: Path, *extra: str
) -> tuple[int, str, str]:
    """`metakb search` on ``table``, cold, 2 folds; ``extra`` options come last, so they win."""
    base = ["search", str(table), "--target", "target", "-a", "random_forest", "--budget", "2"]
    base += ["--method", "random"]
    return _cli(capsys, *base, "--warm-start", "none", "--folds", "2", "--db", str(db), *extra)


def test_cli_json_shape(capsys: pytest.CaptureFixture[str], tiny_csv: Path, db: Path) -> None:
    code, out, _ = _search(capsys, tiny_csv, db, "--algorithm", "random_forest", "--json")
    assert code == 0
    data = json.loads(out)
    assert {"best", "trials", "estimator", "task_type", "metric", "search_id"} <= set(data)
    assert set(data["best"]) == {"config", "flow_params", "adapted", "score"}
    assert data["estimator"] == "sklearn.ensemble.RandomForestClassifier"
    assert len(data["trials"]) == 2
    forest = ALGORITHMS["random_forest"]
    for trial in data["trials"]:
        assert set(trial) == {
            "config",
            "flow_params",
            "score",
            "fidelity",
            "seconds",
            "status",
            "error",
        }
        assert trial["status"] == "ok" and 0.0 <= trial["score"] <= 1.0
        # Every trial as the estimator's keyword arguments, the flow's form beside them.
        kwargs = forest.estimator_params(trial["flow_params"], "classification", data["n_rows"])
        assert trial["config"] == kwargs
        RandomForestClassifier(**trial["config"])
    assert data["best"]["score"] == max(t["score"] for t in data["trials"])


def test_cli_table_and_failures(
    capsys: pytest.CaptureFixture[str], tiny_csv: Path, db: Path
) -> None:
    code, out, _ = _search(capsys, tiny_csv, db)
    assert code == 0 and "best: sklearn.ensemble.RandomForestClassifier(" in out
    code, out, _ = _search(capsys, tiny_csv, db, "--time-limit", "0.000001", "--json", "--new")
    data = json.loads(out)
    assert code == 0 and data["best"] is None
    assert {t["status"] for t in data["trials"]} == {"failed"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.csv"], "missing.csv"),
        (["TABLE", "--target", "nope"], "nope"),
        (["TABLE", "--algorithm", "xgboost"], "unknown algorithm"),
        (["TABLE", "--method", "grid"], "unknown method"),
        (["TABLE", "--dask", "nowhere"], "--dask"),
    ],
)
def test_cli_bad_input_is_one_line(
    capsys: pytest.CaptureFixture[str], tiny_csv: Path, db: Path, args: list[str], message: str
) -> None:
    args = [str(tiny_csv) if a == "TABLE" else a for a in args]
    code, _, err = _cli(capsys, "search", *args, "--warm-start", "none", "--db", str(db))
    usage = message.startswith("unknown")  # a name no registry has: a usage error
    assert code == (2 if usage else 1) and message in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("algorithm", "only", "kind"),
    [("adaboost", "classification", "regression"), ("lightgbm", "regression", "classification")],
)
def test_cli_a_task_type_the_algorithm_lacks_is_one_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    db: Path,
    only_task_type: Callable[[str, str], None],
    algorithm: str,
    only: str,
    kind: str,
) -> None:
    only_task_type(algorithm, only)
    table = write_synthetic_table(tmp_path / "t.csv", kind)
    args = ["search", str(table), "--target", "y", "-a", algorithm, "--warm-start", "none"]
    code, out, err = _cli(capsys, *args, "--db", str(db))
    assert code == 1 and out == ""
    assert f"{algorithm} supports {only} only, not '{kind}'" in err
    assert f"for a {kind} target" in err and len(err.strip().splitlines()) == 1


def test_cli_dask_local(capsys: pytest.CaptureFixture[str], tiny_csv: Path, db: Path) -> None:
    pytest.importorskip("distributed")
    code, out, _ = _search(
        capsys, tiny_csv, db, "--budget", "3", "--method", "bo", "--dask", "local:2", "--json"
    )
    assert code == 0
    trials = json.loads(out)["trials"]
    assert len(trials) == 3 and all(t["status"] == "ok" for t in trials)
    assert np.isfinite([t["score"] for t in trials]).all()


def test_search_notes_a_table_smaller_than_every_training_task(
    tiny_csv: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_knowledge_base(db)  # its tasks carry no OpenML meta-features: give it a range
    real = searching.load_starter
    monkeypatch.setattr(
        searching,
        "load_starter",
        lambda *args, **kwargs: (real(*args, **kwargs)[0], {"NumberOfInstances": [150, 5000]}),
    )
    found = search_table(
        tiny_csv,
        target="target",
        algorithm="random_forest",
        budget=2,
        method="random",
        warm_start="knn",
        db=db,
        n_warm=1,
        **FAST,
    )
    assert (
        "NumberOfInstances 60 is below every random_forest task the model learned from "
        "(150 to 5,000): its recommendations extrapolate"
    ) in found.notes


def test_load_starter_returns_the_trained_models_size_ranges(tiny_data: Path, db: Path) -> None:
    store = Store(db)
    import_published(store, tiny_data)
    manifests = train(store.path, ["lightgbm"], ["knn"], min_configs=2)
    assert {m.task_type for m in manifests} == {"classification", "regression"}
    for manifest in manifests:
        _, ranges = KnowledgeBase(db).starter("lightgbm", "knn", task_type=manifest.task_type)
        assert ranges == manifest.meta_feature_ranges
        assert "NumberOfInstances" in ranges
    # Regression task 2280 has 8,192 rows, classification task 3 has 3,196.
    regression = next(m for m in manifests if m.task_type == "regression")
    assert regression.meta_feature_ranges["NumberOfInstances"] == [8192.0, 8192.0]


def test_a_regression_search_warm_starts_from_regression_runs_only(
    tiny_data: Path, db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import_published(Store(db), tiny_data)
    manifests = train(db, ["lightgbm"], ["knn"], min_configs=2)
    (manifest,) = [m for m in manifests if m.task_type == "regression"]
    assert manifest.task_type == "regression" and manifest.training_tasks == ["openml:2280"]
    table = write_synthetic_table(tmp_path / "reg.csv", "regression")
    found = search_table(
        table,
        target="y",
        algorithm="lightgbm",
        budget=1,
        method="random",
        warm_start="knn",
        n_warm=1,
        db=db,
        **FAST,
    )
    # The regression model was loaded, none fitted instead.
    assert not any("fitted one" in note for note in found.notes)
    assert found.warm.enqueued == 1 and found.estimator == "lightgbm.LGBMRegressor"
    # The forest has classification runs only: nothing to warm-start a regression search.
    args = ["search", str(table), "--target", "y", "-a", "random_forest", "--budget", "1"]
    code, _, err = _cli(capsys, *args, "--warm-start", "knn", "--db", str(db))
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "openml:6969 has no evaluations on regression tasks" in err
    assert "ingest regression runs of random_forest" in err
