"""SIGKILL during `metakb search` and `metakb train`: nothing lost, and a rerun completes the work.

The child runs the real command (``metakb.cli.main``) and stops, announcing it
on stdout, at a chosen point; the parent kills it there with SIGKILL (see
``tests/killing.py``), checks that the knowledge base and the artifacts open
with whole units only, reruns, and compares with an uninterrupted run.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sklearn.datasets import load_breast_cancer

from metakb.cli import main
from metakb.kb import Layout, train
from metakb.kb._artifacts import PENDING_MODEL_FILE, load_model
from metakb.models import TaskQuery
from metakb.search import load_trials
from metakb.sources.published import import_published
from metakb.store import Store, get_stats
from tests.conftest import write_tiny_data
from tests.killing import assert_gone, kill_when_stopped

# --- search -------------------------------------------------------------------------

BUDGET = 4
SEARCH = [
    "--target", "target", "--algorithm", "random_forest", "--budget", str(BUDGET),
    "--method", "bo", "--warm-start", "none", "--folds", "2", "--seed", "0", "--json",
]  # fmt: skip

# Stops at the n-th trial's evaluation ("trial"), after the n-th trial is in the
# resume log but before it is stored ("logged"), or inside the transaction that
# stores the n-th trial ("inside"). With an executor other than in-process the
# trials run in a pool of worker processes.
SEARCH_CHILD = textwrap.dedent("""
    import sys, time
    import metakb.kb._search as searching
    import metakb.search
    import metakb.sources.local as local
    from metakb.cli import main

    db, table, when, stop_at, executor = sys.argv[1:6]
    stop_at = int(stop_at)
    calls = {"trial": 0, "logged": 0, "inside": 0}

    def count(point):
        calls[point] += 1
        if when == point and calls[point] == stop_at:
            print("stopped", flush=True)
            time.sleep(60)

    real_call, real_write, real_put = (
        searching.CVObjective.__call__, searching.write_trials, local.put_evaluations
    )

    def call(self, config, fidelity=1.0):
        count("trial")
        return real_call(self, config, fidelity)

    def write_trials(store, records, **kwargs):
        count("logged")
        return real_write(store, records, **kwargs)

    def put_evaluations(con, rows):
        added = real_put(con, rows)
        count("inside")
        return added

    searching.CVObjective.__call__ = call
    searching.write_trials, local.put_evaluations = write_trials, put_evaluations
    if executor != "inprocess":
        metakb.search.executor_spec = lambda dask: executor
    main(["search", table, "--db", db, *sys.argv[6:]])
    print("finished", flush=True)
""")

Content = tuple[dict[str, int], list[tuple[Any, ...]]]


def _content(db: Path) -> Content:
    """Counts, and every evaluation except its runtime (which no two runs share)."""
    with Store(db).read() as con:
        stats = get_stats(con)
        rows = con.execute(
            "SELECT task_id, config_id, metric, value, fidelity, source, provenance "
            "FROM evaluations ORDER BY ALL"
        ).fetchall()
    return {k: v for k, v in stats.items() if isinstance(v, int)}, rows


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 rows and 5 features of breast_cancer: a forest trial takes well under a second."""
    frame = load_breast_cancer(as_frame=True).frame
    path = tmp_path_factory.mktemp("table") / "tiny.csv"
    frame[[*frame.columns[:5], "target"]].sample(60, random_state=0).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def search_reference(table: Path, tmp_path_factory: pytest.TempPathFactory) -> Content:
    db = tmp_path_factory.mktemp("clean") / "kb.duckdb"
    assert main(["search", str(table), "--db", str(db), *SEARCH]) == 0
    content = _content(db)
    assert content[0]["evaluations"] == len(content[1]) == BUDGET
    return content


def _logged(db: Path) -> int:
    (log,) = (db.parent / "searches").glob("*.json")
    return len(load_trials(log))


@pytest.mark.parametrize(
    ("when", "stop_at", "logged", "stored", "rerun"),
    [
        # evaluating trial 3
        pytest.param("trial", 3, 2, 2, ["--resume"], marks=pytest.mark.slow),
        ("logged", 2, 2, 1, ["--resume"]),  # trial 2 in the log, not yet stored
        # storing trial 3: rolled back
        pytest.param("inside", 3, 3, 2, ["--resume"], marks=pytest.mark.slow),
        ("inside", 3, 3, 2, ["--new"]),  # the same, then the search started over
    ],
)
def test_killed_search_reruns_to_the_same_evaluations(
    tmp_path: Path,
    table: Path,
    search_reference: Content,
    capsys: pytest.CaptureFixture[str],
    when: str,
    stop_at: int,
    logged: int,
    stored: int,
    rerun: list[str],
) -> None:
    db = tmp_path / "kb.duckdb"
    kill_when_stopped(SEARCH_CHILD, str(db), str(table), when, str(stop_at), "inprocess", *SEARCH)
    counts, rows = _content(db)  # opens after the kill
    assert counts["evaluations"] == len(rows) == stored
    assert set(rows) <= set(search_reference[1])  # whole trials, as an uninterrupted run has them
    assert _logged(db) == logged
    capsys.readouterr()
    assert main(["search", str(table), "--db", str(db), *SEARCH, *rerun]) == 0
    assert len(json.loads(capsys.readouterr().out)["trials"]) == BUDGET
    assert _content(db) == search_reference


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find workers")
def test_killed_parallel_search_leaves_no_workers_behind(tmp_path: Path, table: Path) -> None:
    # Only the parent is killed (as the OOM killer would): its pool workers must notice.
    db = tmp_path / "kb.duckdb"
    workers = kill_when_stopped(
        SEARCH_CHILD, str(db), str(table), "logged", "1", "process:2", *SEARCH
    )
    assert len(workers) >= 2  # two workers (and the spawn context's resource tracker)
    assert_gone(workers)
    assert _content(db)[0]["evaluations"] == 0  # opens; the rerun is as above


# --- train --------------------------------------------------------------------------

METHODS = ("knn", "portfolio")
TRAIN = ["train", "-a", "random_forest", "-m", "knn", "-m", "portfolio", "--min-configs", "2"]

# Stops before the n-th rename of an artifact file (each artifact: manifest, then model).
TRAIN_CHILD = textwrap.dedent("""
    import os, sys, time
    from metakb.cli import main

    db, stop_at = sys.argv[1], int(sys.argv[2])
    real, calls = os.replace, 0

    def replace(src, dst, *args, **kwargs):
        global calls
        if os.path.basename(dst) in ("manifest.json", "model.pkl"):
            calls += 1
            if calls == stop_at:
                print("stopped", flush=True)
                time.sleep(60)
        return real(src, dst, *args, **kwargs)

    os.replace = replace
    main([*sys.argv[3:], "--db", db, "--json"])
    print("finished", flush=True)
""")


def _seeds(store: Store) -> dict[str, int]:
    """The seed each artifact was trained with, loading each model (so each must load)."""
    seeds = {}
    for method in METHODS:
        model, manifest = load_model(
            Layout(store.path).artifact("random_forest", method, "classification")
        )
        assert model.recommend(TaskQuery({"NumberOfInstances": 500.0}), 2)
        seeds[method] = manifest.params["seed"]
    return seeds


@pytest.mark.parametrize(
    ("stop_at", "seeds"),
    [
        # knn's new pickle written, its manifest not
        pytest.param(1, {"knn": 0, "portfolio": 0}, marks=pytest.mark.slow),
        (2, {"knn": 1, "portfolio": 0}),  # knn's new manifest committed, its pickle not renamed
        pytest.param(3, {"knn": 1, "portfolio": 0}, marks=pytest.mark.slow),  # between the two
        (4, {"knn": 1, "portfolio": 1}),  # portfolio's manifest committed, its pickle not renamed
    ],
)
def test_killed_train_leaves_loadable_artifacts_and_reruns(
    tmp_path: Path, stop_at: int, seeds: dict[str, int], capsys: pytest.CaptureFixture[str]
) -> None:
    store = Store(tmp_path / "kb" / "kb.duckdb")
    import_published(store, write_tiny_data(tmp_path / "data"))
    train(store.path, ["random_forest"], METHODS, min_configs=2, seed=0)  # the previous artifacts
    kill_when_stopped(TRAIN_CHILD, str(store.path), str(stop_at), *TRAIN, "--seed", "1")
    assert _seeds(store) == seeds
    assert main([*TRAIN, "--seed", "1", "--db", str(store.path)]) == 0
    assert _seeds(store) == {"knn": 1, "portfolio": 1}
    assert not list(Layout(store.path).artifacts.rglob(PENDING_MODEL_FILE))
    capsys.readouterr()
    argv = ["recommend", "--meta-features", str(tmp_path / "mf.json"), "-a", "random_forest"]
    (tmp_path / "mf.json").write_text(json.dumps({"NumberOfInstances": 500}))
    assert main([*argv, "--method", "knn", "-k", "2", "--db", str(store.path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["recommendations"]
