"""Readers while a writer works: a consistent view or a one-line busy message, never a crash."""

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from metakb.cli import main
from metakb.errors import StoreLockedError
from metakb.sources.published import import_published
from metakb.store import Store

# The writer imports the tiny data into fresh sub-folders of one knowledge base,
# source by source, holding the write lock for a moment each time.
WRITER = textwrap.dedent("""
    import sys, time
    from metakb.sources.published import SOURCES, import_published
    from metakb.store import Store

    store = Store(sys.argv[1], wait_s=30)
    print("writing", flush=True)
    for round_ in range(3):
        for source in SOURCES:
            import_published(store, sys.argv[2], sources=(source,))
            time.sleep(0.05)
    print("done", flush=True)
""")


def test_readers_see_whole_imports_or_busy(
    tmp_path: Path, tiny_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "kb.duckdb"
    # Every state a reader may legitimately see: after 0, 1, 2 or 3 sources.
    states = set()
    for n in range(4):
        reference = tmp_path / f"ref{n}.duckdb"
        with Store(reference).write():
            pass
        for source in ("openml100_sklearn_hpo_runs", "tabrepo_lightgbm_2022", "pmlb_datasets")[:n]:
            import_published(Store(reference), tiny_data, sources=(source,))
        code = main(["stats", "--json", "--db", str(reference)])
        assert code == 0
        stats = json.loads(capsys.readouterr().out)
        states.add((stats["tasks"], stats["datasets"], stats["evaluations"]))
    with Store(db).write():
        pass

    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(tiny_data)], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout is not None and writer.stdout.readline().strip() == "writing"
    seen, busy = 0, 0
    deadline = time.monotonic() + 60
    while writer.poll() is None and time.monotonic() < deadline:
        code = main(["stats", "--json", "--db", str(db)])
        captured = capsys.readouterr()
        if code == 0:
            stats = json.loads(captured.out)
            assert (stats["tasks"], stats["datasets"], stats["evaluations"]) in states
            seen += 1
        else:
            assert code == 1 and "busy" in captured.err
            assert len(captured.err.strip().splitlines()) == 1
            busy += 1
    assert writer.wait(timeout=60) == 0
    assert seen + busy > 0
    code = main(["stats", "--json", "--db", str(db)])
    final = json.loads(capsys.readouterr().out)
    assert (final["tasks"], final["datasets"], final["evaluations"]) == max(states)


def test_a_reader_process_blocks_a_writer_only_with_a_busy_message(tmp_path: Path) -> None:
    store = Store(tmp_path / "kb.duckdb", wait_s=0.5)
    with store.write():
        pass
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys\n"
            f"con = duckdb.connect({str(store.path)!r}, read_only=True)\n"
            "print('reading', flush=True)\nsys.stdin.readline()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "reading"
        with store.read():  # readers share the file
            pass
        with (
            pytest.raises(StoreLockedError, match=r"busy: .* is reading or writing it"),
            store.write(),
        ):
            pass
    finally:
        reader.communicate("\n", timeout=30)
    with store.write():  # free again
        pass
