"""SIGKILL during an import leaves a knowledge base that opens, and a rerun completes it."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from metakb.sources.published import import_published
from metakb.store import Store, get_stats

# The child imports the tiny data folder and stops (announcing it on stdout) at the
# n-th call of `put_rows` (one table's rows), either before it (between writes) or
# after it (inside the file's open transaction), so the parent can kill it at a known point.
CHILD = textwrap.dedent("""
    import sys, time
    import metakb.sources.published as published
    from metakb.store import Store

    db, data, stop_at, when = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    real = published.put_rows
    calls = 0

    def put_rows(con, rows):
        global calls
        calls += 1
        if calls == stop_at and when == "before":
            print("stopped", flush=True); time.sleep(60)
        added = real(con, rows)
        if calls == stop_at and when == "inside":
            print("stopped", flush=True); time.sleep(60)
        return added

    published.put_rows = put_rows
    published.import_published(Store(db), data)
    print("finished", flush=True)
""")


def _counts(db: Path) -> dict[str, int]:
    with Store(db).read() as con:
        stats = get_stats(con)
    return {
        k: stats[k]
        for k in ("tasks", "datasets", "flows", "configs", "evaluations", "meta_features")
    }


@pytest.mark.parametrize(
    ("stop_at", "when"), [(3, "inside"), (6, "before"), (9, "inside"), (14, "inside")]
)
def test_killed_import_reruns_to_the_same_counts(
    tmp_path: Path, tiny_data: Path, stop_at: int, when: str
) -> None:
    reference = tmp_path / "clean.duckdb"
    import_published(Store(reference), tiny_data)
    expected = _counts(reference)

    db = tmp_path / "killed.duckdb"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(tiny_data), str(stop_at), when],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "stopped"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)

    partial = _counts(db)  # opens after the kill, with only whole files in it
    assert all(partial[k] <= expected[k] for k in expected)
    assert partial != expected
    import_published(Store(db), tiny_data)
    assert _counts(db) == expected
