"""Run the kill and signal tests and write their tables into docs/RELIABILITY.md.

Usage: python pipelines/reliability_tables.py [--no-run JSONL]

The tests (``tests/test_crash_safety.py``, ``tests/test_processes.py``,
``tests/test_concurrency.py``, slow cases included) append one JSON line per
case to ``$METAKB_RELIABILITY_JSON`` (``tests.killing.record``); this renders
them between the ``reliability-tables`` markers of the document, so the tables
say what the tests saw, not what was hoped. A case whose assertions failed
records nothing and pytest's exit status is kept.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from metakb._workers import die_with_parent

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "RELIABILITY.md"
TESTS = ["tests/test_crash_safety.py", "tests/test_processes.py", "tests/test_concurrency.py"]
BEGIN, END = "<!-- reliability-tables: begin -->", "<!-- reliability-tables: end -->"


def run_tests(out: Path) -> int:
    env = {**os.environ, "METAKB_RELIABILITY_JSON": str(out), "PYTHONPATH": str(ROOT)}
    # Its own temporary folder: pytest prunes old ones, other sessions' included.
    basetemp = f"--basetemp={out.parent / 'pytest'}"
    command = [sys.executable, "-m", "pytest", "-q", "-m", "", basetemp, *TESTS]
    # As metakb's own children: pytest ends if this script is stopped or killed.
    return subprocess.call(command, cwd=ROOT, env=env, preexec_fn=die_with_parent())


def render(rows: list[dict[str, object]]) -> str:
    writers = [r for r in rows if r["table"] == "writers"]
    processes = [r for r in rows if r["table"] == "processes"]
    lines = [
        BEGIN,
        "",
        "Written by `python pipelines/reliability_tables.py` from the tests' own records.",
        "",
        "| Writer | Kill point (or race) | Outcome |",
        "| --- | --- | --- |",
        *(f"| {r['writer']} | {r['point']} | {r['outcome']} |" for r in writers),
        "",
        "| Server or pool | Signal to metakb | Children then | Left (within 15 s) | Port free |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in processes:
        port = {None: "-", True: "yes", False: "**no**"}[r["port_free"]]  # type: ignore[index]
        lines.append(f"| {r['case']} | {r['signal']} | {r['children']} | {r['left']} | {port} |")
    return "\n".join([*lines, "", END])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-run", metavar="JSONL", help="render these records, run nothing")
    args = parser.parse_args()
    status = 0
    if args.no_run:
        records = Path(args.no_run)
    else:
        records = Path(tempfile.mkdtemp()) / "reliability.jsonl"
        status = run_tests(records)
    rows = [json.loads(line) for line in records.read_text().splitlines() if line.strip()]
    text = DOC.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + render(rows) + text[end:])
    print(f"{DOC}: {len(rows)} rows (pytest exit status {status})")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
