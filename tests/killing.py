"""Helpers of the crash-safety tests: run a child until it says it stopped, then SIGKILL it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def children(pid: int) -> list[int]:
    """PIDs of a process's children, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def kill_when_stopped(script: str, *args: str) -> list[int]:
    """Run ``python -c script args`` until it prints ``stopped``, SIGKILL it alone.

    Returns
    -------
    list of int
        The PIDs of its children at that moment (left running: the caller checks them).
    """
    child = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        assert line == "stopped", f"the child did not reach its stop point ({line!r})"
        workers = children(child.pid)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    return workers


def assert_gone(pids: list[int], within_s: float = 10.0) -> None:
    """Wait for processes to end; kill any left (so a failure leaves nothing behind) and fail."""
    deadline = time.monotonic() + within_s
    while any(Path(f"/proc/{pid}").exists() for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"orphaned pool workers {alive}"


def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state first), or None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def session_processes(sid: int) -> list[int]:
    """Live (not zombie) processes of session ``sid``: all a child started in a new session."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat(int(stat.parent.name))
        if fields is not None and fields[0] != "Z" and int(fields[3]) == sid:
            found.append(int(stat.parent.name))
    return found


def descendants(pid: int) -> list[int]:
    """Live descendants of ``pid`` (children, their children, ...), from /proc."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat(int(stat.parent.name))
        if fields is not None and fields[0] != "Z":
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def leftovers(pids: list[int], sid: int, within_s: float) -> list[int]:
    """Wait up to ``within_s`` for ``pids`` and session ``sid`` to end; return what is left.

    What is left is then SIGKILLed, so a failing test leaves nothing behind.
    """

    def live(pid: int) -> bool:
        fields = _stat(pid)
        return fields is not None and fields[0] != "Z"

    deadline = time.monotonic() + within_s
    while True:
        alive = sorted({p for p in pids if live(p)} | set(session_processes(sid)))
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return alive


def port_is_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:``port`` (binding it works)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not a listener
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def record(table: str, **row: object) -> None:
    """Append a row of a docs/RELIABILITY.md table when ``METAKB_RELIABILITY_JSON`` names a file.

    ``pipelines/reliability_tables.py`` runs the tests with it set and renders the
    tables from these rows (JSON lines), so the document shows what the tests saw.
    """
    path = os.environ.get("METAKB_RELIABILITY_JSON")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"table": table, **row}) + "\n")
