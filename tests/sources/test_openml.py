"""OpenML ingestion against a loopback server that answers in OpenML's XML (real client)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openml
import openml._api_calls
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from metakb.cli import main
from metakb.configs import config_id
from metakb.errors import OpenMLResponseError, OpenMLUnavailableError
from metakb.kb import Layout
from metakb.sources.openml import (
    HttpPolicy,
    ingest_openml,
    openml_reachable,
)
from metakb.sources.openml._flows import _decode, _flow_mapper
from metakb.store import Store, get_ingest_run
from tests.sources.fake_openml import FakeOpenML, _rf_flow

FAST = HttpPolicy(timeout_s=0.5, connect_timeout_s=0.5, attempts=2, backoff_s=0.01)
TABLES = ("datasets", "tasks", "flows", "configs", "evaluations", "meta_features")
# What a clean ingest of suite 14 x flow 6969 stores: 10 runs, one misfit setup,
# setup 105 evaluated on both tasks.
CLEAN = {
    "datasets": 2,
    "tasks": 2,
    "flows": 1,
    "configs": 8,
    "evaluations": 9,
    "meta_features": 12,
}


@pytest.fixture
def fake() -> Iterator[FakeOpenML]:
    server = FakeOpenML().start()
    yield server
    server.stop()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "kb" / "kb.duckdb")


def ingest(store: Store, fake: FakeOpenML, **kwargs: Any) -> Any:
    kwargs.setdefault("page_size", 3)
    kwargs.setdefault("http", FAST)
    return ingest_openml(
        store, cache_dir=Layout(store.path).openml_cache, server=fake.url, **kwargs
    )


def counts(store: Store) -> dict[str, int]:
    with store.read() as con:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def rows(store: Store, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with store.read() as con:
        return con.execute(sql, list(params)).fetchall()


def evaluation_requests(fake: FakeOpenML, task: int) -> list[str]:
    return [r for r in fake.requests if "/evaluation/list/" in r and f"/task/{task}/" in r]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_suite_ingest_pages_setups_and_qualities(store: Store, fake: FakeOpenML) -> None:
    summary = ingest(store, fake, suite=14, flows=[6969])

    assert counts(store) == CLEAN
    assert summary.added() == CLEAN
    assert summary.pages == 4 and summary.evaluations_seen == 10
    assert summary.skipped == {"setup does not fit flow 6969": 1}
    # Task 10's seven runs came in pages of three.
    assert [r.split("/offset/")[1].split("/")[0] for r in evaluation_requests(fake, 10)] == [
        "0",
        "3",
        "6",
    ]
    # Run 1001 (setup 102): hyperparameter values under the published OpenML100 names.
    ((cid, params),) = rows(
        store,
        "SELECT c.config_id, c.params FROM evaluations e JOIN configs c USING (config_id) "
        "WHERE e.provenance = 'run:1001'",
    )
    assert json.loads(params) == {
        "columntransformer__numeric__imputer__strategy": "median",
        "randomforestclassifier__bootstrap": False,
        "randomforestclassifier__criterion": "entropy",
        "randomforestclassifier__max_depth": None,
        "randomforestclassifier__max_features": 0.25,
        "randomforestclassifier__max_leaf_nodes": None,
        "randomforestclassifier__min_samples_leaf": 5,
        "randomforestclassifier__min_samples_split": 10,
        "randomforestclassifier__min_weight_fraction_leaf": 0,
        "randomforestclassifier__n_estimators": 100,
    }
    # The same setting read from the published CSV (strings) is the same configs row.
    published_row = {
        "randomforestclassifier__bootstrap": "False",
        "randomforestclassifier__criterion": "entropy",
        "randomforestclassifier__max_depth": "None",
        "randomforestclassifier__max_features": "0.25",
        "randomforestclassifier__max_leaf_nodes": "None",
        "randomforestclassifier__min_samples_leaf": "5",
        "randomforestclassifier__min_samples_split": "10",
        "randomforestclassifier__min_weight_fraction_leaf": "0.0",
        "randomforestclassifier__n_estimators": "100",
        "columntransformer__numeric__imputer__strategy": "median",
    }
    assert cid == config_id("openml:6969", published_row)
    assert rows(
        store,
        "SELECT task_id, metric, value, fidelity, source FROM evaluations "
        "WHERE provenance = 'run:1001'",
    ) == [("openml:10", "predictive_accuracy", pytest.approx(0.81), 1.0, "openml")]
    # Qualities became meta-features computed by OpenML; the uncomputed one is absent.
    qualities = dict(
        (name, (value, family))
        for name, value, family in rows(
            store,
            "SELECT name, value, family FROM meta_features "
            "WHERE dataset_id = 'openml:61' AND computed_by = 'openml'",
        )
    )
    assert qualities["DecisionStumpAUC"] == (pytest.approx(0.75), "landmarking")
    assert qualities["NumberOfInstances"][0] == 12
    assert "MeanSkewnessOfNumericAtts" not in qualities
    assert rows(
        store,
        "SELECT t.dataset_id, t.task_type, t.target, t.estimation_procedure, d.name, d.n_rows, "
        "d.n_features, d.n_classes FROM tasks t JOIN datasets d USING (dataset_id) "
        "WHERE t.task_id = 'openml:10'",
    ) == [("openml:61", "classification", "class", "10-fold Crossvalidation", "tiny-a", 12, 2, 2)]
    assert rows(store, "SELECT algorithm, openml_flow_id FROM flows") == [("random_forest", 6969)]
    # Setup 105 ran on both tasks: one configuration, two evaluations.
    shared = rows(
        store,
        "SELECT count(DISTINCT config_id), count(*) FROM evaluations "
        "WHERE provenance IN ('run:1004', 'run:2001')",
    )
    assert shared == [(1, 2)]


def test_rerun_is_idempotent_and_skips_committed_pages(store: Store, fake: FakeOpenML) -> None:
    first = ingest(store, fake, suite=14, flows=[6969])
    before = counts(store)
    fake.requests.clear()
    again = ingest(store, fake, suite=14, flows=[6969])

    assert counts(store) == before
    assert again.resumed and again.run_id == first.run_id
    assert sum(again.added().values()) == 0 and again.pages == 0
    # Only the pages after the checkpoint are asked for (to catch new runs).
    assert all("/offset/0/" not in r for r in fake.requests)
    with store.read() as con:
        run = get_ingest_run(con, first.run_id)
    assert run is not None and run["status"] == "completed"
    assert run["rows_added"] == sum(CLEAN.values())


def test_resume_after_failure_between_pages(tmp_path: Path, fake: FakeOpenML) -> None:
    store = Store(tmp_path / "a" / "kb.duckdb")
    fake.fail("offset/3/task/10/", "status500")
    with pytest.raises(OpenMLUnavailableError, match="HTTP 500") as info:
        ingest(store, fake, suite=14, flows=[6969])
    assert "rerun" in str(info.value) and "\n" not in str(info.value)
    # Page 1 of task 10 (and the metadata) stayed; nothing of the failing page.
    assert counts(store)["evaluations"] == 3
    assert rows(store, "SELECT status FROM ingest_runs") == [("failed",)]

    fake.faults.clear()
    fake.requests.clear()
    resumed = ingest(store, fake, suite=14, flows=[6969])
    assert resumed.resumed
    assert "/offset/0/" not in "".join(evaluation_requests(fake, 10))

    clean = Store(tmp_path / "b" / "kb.duckdb")
    ingest(clean, fake, suite=14, flows=[6969])
    assert counts(store) == counts(clean) == CLEAN


# The child ingests from the parent's loopback server; with stop_at > 0 it stops (and
# says so) right after the stop_at-th write of one table's rows, inside that write's transaction.
CHILD = textwrap.dedent("""
    import sys, time
    import metakb.sources.openml._ingest as source
    from metakb.kb import Layout
    from metakb.store import Store

    db, url, stop_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    real = source.put_rows
    calls = 0

    def put_rows(con, rows):
        global calls
        calls += 1
        added = real(con, rows)
        if calls == stop_at:
            print("stopped", flush=True); time.sleep(60)
        return added

    source.put_rows = put_rows
    store = Store(db)
    cache = Layout(store.path).openml_cache
    source.ingest_openml(store, cache_dir=cache, server=url, suite=14, flows=[6969], page_size=3)
""")


@pytest.mark.parametrize("stop_at", [0, 9])
def test_sigkilled_ingest_resumes_to_the_same_counts(
    tmp_path: Path, fake: FakeOpenML, stop_at: int
) -> None:
    db = tmp_path / "kb.duckdb"
    page2 = "offset/3/task/10/"
    if stop_at == 0:
        fake.fail(page2, "hang")  # killed while waiting for page 2: between pages
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), fake.url, str(stop_at)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        if stop_at:
            # Upserts: flows 1, task 10 2-4, task 20 5-7, page 1: configs 8, evaluations 9.
            assert child.stdout is not None and child.stdout.readline().strip() == "stopped"
        else:
            deadline = time.monotonic() + 30
            while not any(page2 in r for r in fake.requests) and time.monotonic() < deadline:
                time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)

    store = Store(db)
    # Page 1 is all there between pages, and not at all when killed inside its transaction.
    assert counts(store)["evaluations"] == (3 if stop_at == 0 else 0)
    fake.faults.clear()
    ingest(store, fake, suite=14, flows=[6969])
    assert counts(store) == CLEAN


def test_resume_after_interrupt_from_progress(store: Store, fake: FakeOpenML) -> None:
    def progress(description: str, done: int, total: int) -> None:
        if description == "OpenML evaluations" and done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest(store, fake, suite=14, flows=[6969], progress=progress)
    assert 0 < counts(store)["evaluations"] < CLEAN["evaluations"]
    ingest(store, fake, suite=14, flows=[6969])
    assert counts(store) == CLEAN


def test_http_500_is_retried_then_reported(store: Store, fake: FakeOpenML) -> None:
    fake.fail("/task/10", "status500")
    with pytest.raises(OpenMLUnavailableError, match=r"failed: HTTP 500 on task 10") as info:
        ingest(store, fake, tasks=[10], flows=[6969])
    assert "\n" not in str(info.value)
    assert sum("/task/10" in r for r in fake.requests) == FAST.attempts
    assert counts(store)["tasks"] == 0


@pytest.mark.parametrize("fragment", ["/evaluationmeasure/", "/task/10"])
def test_hanging_server_fails_within_the_deadline(
    store: Store, fake: FakeOpenML, fragment: str
) -> None:
    fake.fail(fragment, "hang")
    start = time.monotonic()
    with pytest.raises(OpenMLUnavailableError, match=r"OpenML server unreachable at .*no answer"):
        ingest(store, fake, tasks=[10], flows=[6969])
    assert time.monotonic() - start < 5


# Truncated XML; a "billion laughs" entity bomb (xmltodict refuses entities, so it is
# never expanded); well-formed XML of the wrong entity (a flow where a task was asked).
UNEXPECTED = ["malformed", "xml_bomb", "wrong_root"]


@pytest.mark.parametrize("kind", UNEXPECTED)
def test_malformed_xml_is_a_clear_error_and_does_not_poison_the_cache(
    store: Store, fake: FakeOpenML, kind: str
) -> None:
    fake.fail("/task/10", kind)
    start = time.monotonic()
    with pytest.raises(OpenMLResponseError, match=r"malformed answer from OpenML .* on task 10"):
        ingest(store, fake, tasks=[10], flows=[6969])
    assert time.monotonic() - start < 5
    assert counts(store)["tasks"] == 0
    fake.faults.clear()
    ingest(store, fake, tasks=[10], flows=[6969])
    assert counts(store)["evaluations"] == 7


@pytest.mark.parametrize("kind", UNEXPECTED)
def test_malformed_evaluation_page_keeps_earlier_pages(
    store: Store, fake: FakeOpenML, kind: str
) -> None:
    fake.fail("offset/3/task/10/", kind)
    with pytest.raises(OpenMLResponseError, match="malformed answer") as info:
        ingest(store, fake, tasks=[10], flows=[6969])
    assert "1 page(s) committed" in str(info.value)
    assert counts(store)["evaluations"] == 3


def test_unknown_task_is_skipped_and_counted(store: Store, fake: FakeOpenML) -> None:
    summary = ingest(store, fake, tasks=[999, 10], flows=[6969])
    assert summary.skipped == {"unknown task": 1}
    assert counts(store)["evaluations"] == 7
    assert rows(store, "SELECT task_id FROM tasks") == [("openml:10",)]


def test_unknown_flow_is_an_error(store: Store, fake: FakeOpenML) -> None:
    with pytest.raises(OpenMLResponseError, match="OpenML has no flow 4242"):
        ingest(store, fake, tasks=[10], flows=[4242])


def test_flow_only_selection_finds_its_tasks(store: Store, fake: FakeOpenML) -> None:
    summary = ingest(store, fake, flows=[5000])
    assert summary.added()["evaluations"] == 2
    assert rows(store, "SELECT task_id FROM tasks") == [("openml:10",)]
    (params,) = rows(
        store,
        "SELECT params FROM configs c JOIN evaluations e USING (config_id) "
        "WHERE e.provenance = 'run:3001'",
    )[0]
    assert json.loads(params) == {
        "gradientboostingclassifier__learning_rate": 0.05,
        "gradientboostingclassifier__max_depth": 3,
        "gradientboostingclassifier__n_estimators": 200,
        "memory": None,
        "simpleimputer__strategy": "median",
        "verbose": False,
    }
    assert rows(store, "SELECT algorithm FROM flows") == [("gradient_boosting_classifier",)]


def test_max_runs_caps_each_task(store: Store, fake: FakeOpenML) -> None:
    ingest(store, fake, suite=14, flows=[6969], max_runs=4)
    per_task = dict(rows(store, "SELECT task_id, count(*) FROM evaluations GROUP BY task_id"))
    assert per_task == {"openml:10": 4, "openml:20": 2}  # task 20: 3 runs, one misfit


def test_with_data_downloads_into_the_store_folder(store: Store, fake: FakeOpenML) -> None:
    ingest(store, fake, tasks=[10], flows=[6969], with_data=True)
    ((path,),) = rows(store, "SELECT file_path FROM datasets")
    file = Path(path)
    assert file.is_file() and file.is_relative_to(Layout(store.path).openml_cache)
    arff = fake.catalog.datasets[61].arff().encode()
    assert hashlib.md5(file.read_bytes()).hexdigest() == hashlib.md5(arff).hexdigest()


def test_openml_configuration_is_restored(store: Store, fake: FakeOpenML) -> None:
    server = openml.config.server
    ingest(store, fake, tasks=[10], flows=[6969])
    assert openml.config.server == server
    assert openml._api_calls.requests is requests


def test_reachability_check(fake: FakeOpenML) -> None:
    assert openml_reachable(fake.url, timeout_s=1.0)
    assert not openml_reachable(f"http://127.0.0.1:{closed_port()}/api/v1/xml", timeout_s=1.0)


def test_cli_ingests_and_reports_json(
    tmp_path: Path, fake: FakeOpenML, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "kb.duckdb")
    argv = ["ingest", "openml", "--server", fake.url, "--task", "10", "--task", "20"]
    assert main([*argv, "--flow", "6969", "--db", db, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["added"]["evaluations"] == 9
    assert report["skipped"] == {"setup does not fit flow 6969": 1}


def test_cli_unreachable_server_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/api/v1/xml"
    start = time.monotonic()
    code = main(["ingest", "openml", "--server", url, "--task", "10", "--db", str(tmp_path / "k")])
    assert code == 1
    assert time.monotonic() - start < 15
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"OpenML server unreachable at {url}" in lines[0]


@given(
    st.one_of(
        st.booleans(),
        st.integers(),
        st.text(),
        st.none(),
        st.floats(allow_nan=False, allow_infinity=False),
    )
)
def test_decode_inverts_openml_json_encoding(value: Any) -> None:
    assert _decode(json.dumps(value)) == value


@settings(max_examples=25, deadline=None)
@given(st.randoms(use_true_random=False))
def test_published_mapping_ignores_parameter_order(rnd: random.Random) -> None:
    flow = _rf_flow()
    mapper = _flow_mapper(openml.flows.OpenMLFlow._from_dict(_flow_dict(flow)))
    setup = {
        flow.owner_of(path)[0].full_name(flow.owner_of(path)[1]): json.dumps(value)
        for path, value in _setup_values().items()
    }
    items = list(setup.items())
    rnd.shuffle(items)
    assert config_id("openml:6969", mapper.map(dict(items))) == config_id(
        "openml:6969", mapper.map(setup)
    )


def _setup_values() -> dict[str, Any]:
    from tests.sources.fake_openml import rf_setup

    return rf_setup(True, "gini", 0.5, 1, 2, "mean")


def _flow_dict(flow: Any) -> dict[str, Any]:
    import xmltodict

    from tests.sources.fake_openml import _flow_xml

    return xmltodict.parse(_flow_xml(flow, top=True))


def test_with_data_on_rerun_downloads_what_the_first_run_did_not(
    store: Store, fake: FakeOpenML
) -> None:
    ingest(store, fake, tasks=[10], flows=[6969])
    assert rows(store, "SELECT file_path FROM datasets") == [(None,)]
    ingest(store, fake, tasks=[10], flows=[6969], with_data=True)
    ((path,),) = rows(store, "SELECT file_path FROM datasets")
    assert path is not None and Path(path).is_file()


def test_quickstart_slice(store: Store, fake: FakeOpenML) -> None:
    from metakb.sources.openml import QUICKSTART_TASKS, ingest_openml_quickstart
    from tests.sources.fake_openml import Evaluation, Task

    first = QUICKSTART_TASKS[0]
    fake.catalog.tasks[first] = Task(first, 61, "class")
    fake.catalog.evaluations.append(Evaluation(4001, first, 101, 6969, 0.5))
    cache = Layout(store.path).openml_cache
    summary = ingest_openml_quickstart(store, cache_dir=cache, server=fake.url, http=FAST)
    assert summary.added()["evaluations"] == 1
    assert summary.skipped == {"unknown task": len(QUICKSTART_TASKS) - 1}


def test_svc_setups_match_the_published_rows() -> None:
    from tests.sources.fake_openml import Flow

    numeric = Flow(
        8780,
        "sklearn.pipeline.Pipeline(imputer=sklearn.impute._base.SimpleImputer)",
        {"steps": None},
        {"imputer": Flow(8781, "sklearn.impute._base.SimpleImputer", {"strategy": None})},
    )
    columns = Flow(
        8782,
        "sklearn.compose._column_transformer.ColumnTransformer(numeric=...)",
        {"remainder": None},
        {"numeric": numeric},
    )
    svc = Flow(
        8783,
        "sklearn.svm.classes.SVC",
        dict.fromkeys(["C", "coef0", "degree", "gamma", "kernel", "max_iter", "shrinking", "tol"]),
    )
    flow = Flow(
        8784,
        "sklearn.pipeline.Pipeline(columntransformer=...,svc=sklearn.svm.classes.SVC)",
        {"memory": None},
        {"columntransformer": columns, "svc": svc},
    )
    values = {
        "columntransformer__numeric__imputer__strategy": "mean",
        "svc__C": 10243.0,
        "svc__coef0": 0.0,
        "svc__degree": 3,
        "svc__gamma": 0.00032,
        "svc__kernel": "rbf",
        "svc__max_iter": -1,
        "svc__shrinking": True,
        "svc__tol": 3.2e-05,
        "columntransformer__remainder": "drop",
        "memory": None,
    }
    setup = {
        flow.owner_of(path)[0].full_name(flow.owner_of(path)[1]): json.dumps(value)
        for path, value in values.items()
    }
    mapper = _flow_mapper(openml.flows.OpenMLFlow._from_dict(_flow_dict(flow)))
    # The published SVC row "3,mean,10243.0,,,0.00032,rbf,-1,True,3.2e-05" (coef0 and
    # degree empty for the rbf kernel).
    published = {
        "columntransformer__numeric__imputer__strategy": "mean",
        "svc__C": "10243.0",
        "svc__coef0": "",
        "svc__degree": "",
        "svc__gamma": "0.00032",
        "svc__kernel": "rbf",
        "svc__max_iter": "-1",
        "svc__shrinking": "True",
        "svc__tol": "3.2e-05",
    }
    assert mapper.algorithm == "svc"
    assert config_id("openml:8784", mapper.map(setup)) == config_id("openml:8784", published)


@pytest.mark.network
def test_live_openml_random_forest_runs_fit_the_published_names(tmp_path: Path) -> None:
    if not openml_reachable():
        pytest.skip("the OpenML server is not reachable")
    store = Store(tmp_path / "kb.duckdb")
    summary = ingest_openml(store, tasks=[3], flows=[6969], max_runs=20, page_size=10)
    assert summary.added()["evaluations"] > 0
    assert "setup does not fit flow 6969" not in summary.skipped


def test_cli_suite_text_is_the_same_selection_and_prints_a_summary(
    tmp_path: Path, fake: FakeOpenML, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "kb.duckdb"
    argv = ["ingest", "openml", "--server", fake.url, "--suite", "14", "--flow", "6969"]
    assert main([*argv, "--db", str(db)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "added" in printed and "9 evaluations" in printed
    assert "skipped 1: setup does not fit flow 6969" in printed
    again = ingest(Store(db), fake, suite=14, flows=[6969], page_size=1000)
    assert again.resumed and sum(again.added().values()) == 0


def test_hanging_parquet_download_falls_back_to_arff_within_the_deadline(
    store: Store, fake: FakeOpenML
) -> None:
    fake.catalog.datasets[61].parquet = True
    fake.fail("/datasets/", "hang")  # the MinIO bucket never answers
    start = time.monotonic()
    ingest(store, fake, tasks=[10], flows=[6969], with_data=True)
    assert time.monotonic() - start < 10
    ((path,),) = rows(store, "SELECT file_path FROM datasets")
    assert path.endswith(".arff") and Path(path).is_file()
    assert any(r.startswith("/datasets/") for r in fake.requests)
