"""The app while another process writes: a one-line busy message, then the data once it is free."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from metakb.sources.published import import_published
from metakb.store import Store

HOME = str(Path(__file__).resolve().parents[2] / "app" / "Home.py")
# Holds DuckDB's write lock (as an ingest does) until a line arrives on stdin.
HOLDER = textwrap.dedent("""
    import duckdb, sys
    con = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    sys.stdin.readline()
""")


def test_busy_knowledge_base_is_a_message_not_a_traceback(
    tmp_path: Path, tiny_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "kb.duckdb"
    import_published(Store(path), tiny_data)
    monkeypatch.setenv("METAKB_DB", str(path))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        at = AppTest.from_file(HOME, default_timeout=30)
        at.run()
        assert not at.exception
        message = at.error[0].value
        assert "busy" in message and "retry" in message and "\n" not in message
    finally:
        holder.communicate("\n", timeout=30)
    at = AppTest.from_file(HOME, default_timeout=30)
    at.run()  # the failure was not cached: the same page now shows the data
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Tasks"] == "3"
