"""SIGKILL during `metakb featurize --all`: the knowledge base opens, and a rerun completes it.

The child runs the real command (``metakb.cli.main``) with results flushed every
two datasets, and stops (announcing it on stdout) at a chosen point: while
computing the n-th dataset, just before the n-th write, or inside the n-th
write's open transaction. The parent kills it there with SIGKILL, checks that
only whole batches were stored, reruns, and compares with an uninterrupted run.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metakb.metafeatures import featurize_all
from metakb.store import Datasets, Store, get_stats, put_datasets, transaction
from tests.killing import assert_gone, kill_when_stopped

FAMILIES = ("simple", "info_theory")
CHILD = textwrap.dedent("""
    import sys, time
    import metakb.metafeatures._featurize as featurize
    from metakb.cli import main

    db, stop_at, when, jobs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    featurize.FLUSH_DATASETS = 2
    calls = {"compute": 0, "write": 0}

    def stop():
        print("stopped", flush=True)
        time.sleep(60)

    real_extract, real_put = featurize.extract_table, featurize.put_meta_features

    def extract_table(table, **kwargs):
        calls["compute"] += 1
        if when == "computing" and calls["compute"] == stop_at:
            stop()
        return real_extract(table, **kwargs)

    def put_meta_features(con, rows):
        calls["write"] += 1
        if when == "before" and calls["write"] == stop_at:
            stop()
        added = real_put(con, rows)
        if when == "inside" and calls["write"] == stop_at:
            stop()
        return added

    featurize.extract_table, featurize.put_meta_features = extract_table, put_meta_features
    argv = ["featurize", "--all", "--db", db, "--jobs", jobs, "--json"]
    for family in sys.argv[5:]:
        argv += ["--families", family]
    main(argv)
    print("finished", flush=True)
""")


def _write_kb(path: Path, files: Path) -> Store:
    """A knowledge base with four featurizable datasets and one broken file."""
    rows = []
    rng = np.random.default_rng(0)
    for i in range(4):
        frame = pd.DataFrame(
            {
                "x": rng.normal(size=30),
                "c": rng.choice(["a", "b", "c"], 30),
                "target": rng.integers(0, 2 + i, 30),
            }
        )
        frame.to_csv(files / f"d{i}.csv", index=False)
        rows.append((f"pmlb:d{i}", str(files / f"d{i}.csv")))
    (files / "broken.csv").write_text("one column only\n1\n")
    rows.append(("pmlb:e_broken", str(files / "broken.csv")))
    store = Store(path)
    datasets = Datasets(
        dataset_id=[key for key, _ in rows], file_path=[path for _, path in rows], source="test"
    )
    with store.write() as con, transaction(con):
        put_datasets(con, datasets)
    return store


def _content(store: Store) -> tuple[dict[str, int], list[tuple[object, ...]]]:
    with store.read() as con:
        stats = get_stats(con)
        rows = con.execute(
            "SELECT dataset_id, name, value, family, reason FROM meta_features ORDER BY ALL"
        ).fetchall()
    return {k: v for k, v in stats.items() if isinstance(v, int)}, rows


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tables")


@pytest.fixture(scope="module")
def reference(files: Path) -> tuple[dict[str, int], list[tuple[object, ...]]]:
    store = _write_kb(files / "clean.duckdb", files)
    summary = featurize_all(store, families=FAMILIES, n_jobs=1)
    assert summary.featurized == 4 and list(summary.failed) == ["pmlb:e_broken"]
    return _content(store)


def _run_and_kill(store: Store, when: str, stop_at: int, *, jobs: int) -> list[int]:
    """Run the child until it stops, SIGKILL it alone, and return its children's PIDs."""
    args = (str(store.path), str(stop_at), when, str(jobs), *FAMILIES)
    return kill_when_stopped(CHILD, *args)


@pytest.mark.parametrize(
    ("when", "stop_at", "datasets_kept"),
    [
        ("before", 1, 0),  # two datasets computed, their batch not yet written
        ("inside", 1, 0),  # inside the first batch's transaction: rolled back
        ("computing", 3, 2),  # the first batch is committed, the second in memory
        ("inside", 2, 2),  # inside the second batch's transaction
    ],
)
def test_killed_featurize_all_reruns_to_the_same_rows(
    tmp_path: Path,
    files: Path,
    reference: tuple[dict[str, int], list[tuple[object, ...]]],
    when: str,
    stop_at: int,
    datasets_kept: int,
) -> None:
    store = _write_kb(tmp_path / "killed.duckdb", files)
    _run_and_kill(store, when, stop_at, jobs=1)
    counts, rows = _content(store)  # opens after the kill
    assert len({row[0] for row in rows}) == datasets_kept  # whole batches only
    assert counts["meta_features"] < reference[0]["meta_features"]
    summary = featurize_all(store, families=FAMILIES, n_jobs=1)
    assert summary.already_done == datasets_kept
    assert _content(store) == reference


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find workers")
def test_killed_parallel_featurize_leaves_no_workers_behind(
    tmp_path: Path, files: Path, reference: tuple[dict[str, int], list[tuple[object, ...]]]
) -> None:
    # Only the parent is killed (as the OOM killer would): its pool workers must notice.
    store = _write_kb(tmp_path / "killed.duckdb", files)
    workers = _run_and_kill(store, "inside", 1, jobs=2)
    assert len(workers) == 2
    assert_gone(workers)
    featurize_all(store, families=FAMILIES, n_jobs=2)
    assert _content(store) == reference
