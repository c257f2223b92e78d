"""No process metakb starts outlives it, whether it gets SIGINT, SIGTERM or SIGKILL.

Each case starts a real command in a new session, waits until its children
run (the app answers its health check; a search or featurize run stops inside
its work with its pool up), sends one signal to the metakb process alone (as
``kill PID``, a supervisor or the OOM killer would), and then counts what is
left of the session and of the process tree it had: nothing, within a few
seconds; an app's port is free again.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from metakb.appserver import free_port
from tests.killing import descendants, leftovers, port_is_free, record
from tests.metafeatures.test_crash_safety import CHILD as FEATURIZE_CHILD
from tests.metafeatures.test_crash_safety import FAMILIES, _write_kb
from tests.test_crash_safety import SEARCH, SEARCH_CHILD
from tests.test_crash_safety import table as table  # the fixture: a 60-row table

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/stat").exists(), reason="needs /proc to count processes"
)
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)
WITHIN_S = 15.0  # how long the children may take to notice and end


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _start(
    argv: list[str], ready: Callable[[subprocess.Popen[str]], bool]
) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True
    )
    if not ready(child):
        child.kill()
        child.wait()
        pytest.fail(f"{argv[:4]} did not get ready")
    return child


def _stopped(child: subprocess.Popen[str]) -> bool:
    assert child.stdout is not None
    return child.stdout.readline().strip() == "stopped"


def _signal_and_count(
    case: str, child: subprocess.Popen[str], sig: signal.Signals, port: int | None = None
) -> None:
    tree = descendants(child.pid)
    assert tree, f"{case}: no children to check"
    child.send_signal(sig)
    try:
        status = child.wait(timeout=WITHIN_S)
    except subprocess.TimeoutExpired:
        child.kill()
        status = child.wait()
    left = leftovers(tree, child.pid, WITHIN_S)
    free = port is None or port_is_free(port)
    record(
        "processes", case=case, signal=sig.name, children=len(tree), left=len(left),
        port_free=None if port is None else free, status=status,
    )  # fmt: skip
    assert not left, f"{case}: {sig.name} left {left} of {tree} running"
    assert free, f"{case}: {sig.name} left port {port} taken"


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_app_server_ends_with_metakb(tmp_path: Path, sig: signal.Signals) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = str(tmp_path / "kb.duckdb")
    argv = [sys.executable, "-m", "metakb", "app", "--port", str(port), "--db", db]

    def ready(child: subprocess.Popen[str]) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            if _healthy(url):
                return True
            time.sleep(0.3)
        return False

    _signal_and_count("metakb app (Streamlit server)", _start(argv, ready), sig, port)


POOLS = {
    "search on a process pool (`process:2`)": "process:2",
    "search --dask local:2 (Dask `LocalCluster`)": "dask:local:2",
}
# 10 to 30 s each on two cores: the default suite keeps SIGTERM on the process
# pool (what a supervisor sends; SIGKILL is tests/test_crash_safety.py's), the
# rest is `-m slow`.
FAST = {("process:2", signal.SIGTERM)}
SEARCH_CASES = [
    pytest.param(
        pool, sig, id=f"{sig.name}-{POOLS[pool]}",
        marks=() if (POOLS[pool], sig) in FAST else pytest.mark.slow,
    )
    for pool in POOLS
    for sig in SIGNALS
]  # fmt: skip


@pytest.mark.parametrize(("pool", "sig"), SEARCH_CASES)
def test_search_pool_ends_with_metakb(
    tmp_path: Path, table: Path, pool: str, sig: signal.Signals
) -> None:
    if POOLS[pool].startswith("dask"):
        pytest.importorskip("distributed", reason="the dask extra is not installed")
    db = tmp_path / "kb.duckdb"
    # Stops after the first trial is in the resume log, the pool up and idle.
    argv = [sys.executable, "-c", SEARCH_CHILD, str(db), str(table), "logged", "1", POOLS[pool]]
    _signal_and_count(pool, _start([*argv, *SEARCH], _stopped), sig)


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: s.name)
def test_featurize_pool_ends_with_metakb(tmp_path: Path, sig: signal.Signals) -> None:
    store = _write_kb(tmp_path / "kb.duckdb", tmp_path)
    # Stops inside its first write, the pool's workers computing or done.
    argv = [sys.executable, "-c", FEATURIZE_CHILD, str(store.path), "1", "inside", "2", *FAMILIES]
    _signal_and_count("featurize --all --jobs 2 (process pool)", _start(argv, _stopped), sig)
