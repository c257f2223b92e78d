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

from metakb.cli import main
from metakb.kb import Layout, train
from metakb.kb._artifacts import PENDING_MODEL_FILE, load_model
from metakb.models import TaskQuery
from metakb.search import load_trials
from metakb.sources.published import import_published
from metakb.store import Store, get_stats
from tests.conftest import write_tiny_data
from tests.killing import assert_gone, kill_when_stopped, record

# --- search -------------------------------------------------------------------------

BUDGET = 4
SEARCH = [
    "--target", "target", "--algorithm", "random_forest", "--budget", str(BUDGET),
    "--method", "bo", "--warm-start", "none", "--folds", "2", "--seed", "0", "--json",
]  # fmt: skip

# Stops at the n-th trial's evaluation ("trial"), after the n-th trial is in the
# resume log but before it is stored ("logged"), inside the transaction that
# stores the n-th trial ("inside"), or as a Dask cluster is shut down at the end
# ("shutdown"). With an executor other than in-process the trials run in a pool
# of worker processes.
SEARCH_CHILD = textwrap.dedent("""
    import sys, time
    import metakb.kb._search as searching
    import metakb.search
    import metakb.sources.local as local
    from metakb.cli import main

    db, table, when, stop_at, executor = sys.argv[1:6]
    stop_at = int(stop_at)
    calls = {"trial": 0, "logged": 0, "inside": 0, "shutdown": 0}

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

    import metakb.search._executors as executors

    real_close = executors.DaskExecutor.close

    def close(self):
        count("shutdown")
        return real_close(self)

    executors.DaskExecutor.close = close
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
def table(forest_table: Path) -> Path:
    return forest_table


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


SEARCH_POINTS = {
    ("trial", 3): "evaluating trial 3",
    ("logged", 2): "trial 2 in the resume log, not yet stored",
    ("inside", 1): "inside the transaction storing trial 1 (the first write-back)",
    ("inside", 3): "inside the transaction storing trial 3 (the write-back)",
    ("shutdown", 1): "shutting the Dask cluster down, every trial stored (`--dask local:1`)",
}


@pytest.mark.parametrize(
    ("when", "stop_at", "logged", "stored", "rerun", "executor"),
    [
        # evaluating trial 3
        pytest.param("trial", 3, 2, 2, ["--resume"], "inprocess", marks=pytest.mark.slow),
        ("logged", 2, 2, 1, ["--resume"], "inprocess"),  # trial 2 in the log, not yet stored
        # storing trial 3: rolled back
        pytest.param("inside", 3, 3, 2, ["--resume"], "inprocess", marks=pytest.mark.slow),
        ("inside", 3, 3, 2, ["--new"], "inprocess"),  # the same, then the search started over
        pytest.param("inside", 1, 1, 0, ["--resume"], "inprocess", marks=pytest.mark.slow),
        # one worker: the trials of the in-process reference, one after the other
        pytest.param(
            "shutdown", 1, BUDGET, BUDGET, ["--resume"], "dask:local:1", marks=pytest.mark.slow
        ),
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
    executor: str,
) -> None:
    if executor.startswith("dask"):
        pytest.importorskip("distributed", reason="the dask extra is not installed")
    db = tmp_path / "kb.duckdb"
    workers = kill_when_stopped(
        SEARCH_CHILD, str(db), str(table), when, str(stop_at), executor, *SEARCH
    )
    assert_gone([pid for pid in workers if executor != "inprocess"])  # no cluster left over
    counts, rows = _content(db)  # opens after the kill
    assert counts["evaluations"] == len(rows) == stored
    assert set(rows) <= set(search_reference[1])  # whole trials, as an uninterrupted run has them
    assert _logged(db) == logged
    capsys.readouterr()
    assert main(["search", str(table), "--db", str(db), *SEARCH, *rerun]) == 0
    assert len(json.loads(capsys.readouterr().out)["trials"]) == BUDGET
    assert _content(db) == search_reference
    how = " ".join(["metakb search", *rerun]) if rerun else "the same command again"
    record(
        "writers",
        writer="`metakb search` (4 trials)",
        point=f"SIGKILL {SEARCH_POINTS[when, stop_at]}",
        outcome=f"opens with {stored} whole trial(s); {how} ends with the {BUDGET} evaluations "
        "of an uninterrupted run, none lost or doubled",
    )


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

# Stops before the n-th rename of an artifact file (each artifact: manifest, then model),
# or, for 0, with half of knn's new pickle written.
TRAIN_CHILD = textwrap.dedent("""
    import os, pickle, sys, time
    from metakb.cli import main

    db, stop_at = sys.argv[1], int(sys.argv[2])
    real, calls = os.replace, 0
    real_dump = pickle.dump

    def dump(obj, fh, *args, **kwargs):
        if stop_at == 0:
            data = pickle.dumps(obj, *args, **kwargs)
            fh.write(data[: len(data) // 2])
            fh.flush()
            print("stopped", flush=True)
            time.sleep(60)
        return real_dump(obj, fh, *args, **kwargs)

    pickle.dump = dump

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


TRAIN_POINTS = {
    0: "with knn's new pickle half written",
    1: "after knn's new pickle is written, before its manifest",
    2: "after knn's new manifest is committed, before its pickle is renamed",
    3: "between the two artifacts",
    4: "after portfolio's manifest is committed, before its pickle is renamed",
}


@pytest.mark.parametrize(
    ("stop_at", "seeds"),
    [
        (0, {"knn": 0, "portfolio": 0}),  # knn's new pickle half written
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
    kept = ", ".join(f"{m} {'new' if seeds[m] else 'previous'}" for m in METHODS)
    record(
        "writers",
        writer="`metakb train` (knn, then portfolio, over trained artifacts)",
        point=f"SIGKILL {TRAIN_POINTS[stop_at]}",
        outcome=f"each artifact loads and passes its hash check ({kept}); the rerun leaves "
        "both new and no temporary file",
    )


# --- recommend during train -----------------------------------------------------------

# Retrains knn with seeds 1..n, pausing between each rename (a slow disk) so that a
# reader often finds an artifact half-way through its commit.
RETRAIN_CHILD = textwrap.dedent("""
    import os, sys, time
    from metakb.kb import train

    db, n = sys.argv[1], int(sys.argv[2])
    real = os.replace

    def replace(src, dst, *args, **kwargs):
        real(src, dst, *args, **kwargs)
        time.sleep(0.02)

    os.replace = replace
    for seed in range(1, n + 1):
        train(db, ["random_forest"], ["knn"], min_configs=2, seed=seed)
    print("finished", flush=True)
""")


def test_recommend_during_train_sees_old_or_new_artifacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess
    import sys
    import time

    import metakb.kb._artifacts as artifacts

    store = Store(tmp_path / "kb" / "kb.duckdb")
    import_published(store, write_tiny_data(tmp_path / "data"))
    train(store.path, ["random_forest"], ["knn"], min_configs=2, seed=0)
    folder = Layout(store.path).artifact("random_forest", "knn", "classification")
    real_read = artifacts.read_manifest

    def slow_read(path: Path) -> Any:  # a slow reader: the manifest read, the pickle not yet
        manifest = real_read(path)
        time.sleep(0.01)
        return manifest

    monkeypatch.setattr(artifacts, "read_manifest", slow_read)
    (tmp_path / "mf.json").write_text(json.dumps({"NumberOfInstances": 500}))
    argv = ["recommend", "--meta-features", str(tmp_path / "mf.json"), "-a", "random_forest"]
    argv += ["--method", "knn", "-k", "2", "--db", str(store.path), "--json"]
    writer = subprocess.Popen([sys.executable, "-c", RETRAIN_CHILD, str(store.path), "12"])
    seeds, answers = set(), 0
    try:
        while writer.poll() is None:
            model, manifest = load_model(folder)  # each pair whole: the model is its manifest's
            assert model.seed == manifest.params["seed"]  # type: ignore[attr-defined]
            seeds.add(manifest.params["seed"])
            assert main(argv) == 0  # and the command: an answer, never an error
            assert json.loads(capsys.readouterr().out)["recommendations"]
            answers += 1
    finally:
        if writer.poll() is None:
            writer.kill()
        writer.wait()
    assert writer.returncode == 0
    record(
        "writers",
        writer="`recommend` while `train` retrains knn 12 times",
        point="every moment of each commit (a 20 ms pause after each rename)",
        outcome=f"{answers} answers, each the old or the new model with its own manifest "
        f"(seeds {min(seeds)} to {max(seeds)} seen), no error",
    )
    assert len(seeds) >= 3, "the reader did not overlap the retrains"
