"""The wheel is the whole product: built, installed in a fresh venv, every edge works.

The venv has no source checkout on its path: metakb comes from the wheel only;
its dependencies come from the test's own environment through a ``.pth`` line
(its ``site-packages``, whose editable-install hook a plain path line does not
run), so nothing but the build backend is downloaded. That download keeps it out
of the offline default suite: ``pytest -m slow tests/test_wheel.py`` (30 s; 60 s
on a loaded machine).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

from metakb._version import __version__
from metakb.appserver import free_port
from metakb.cli import main
from tests.killing import descendants, leftovers, port_is_free

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_single_sourced(capsys: pytest.CaptureFixture[str]) -> None:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)
    assert "version" in project["project"]["dynamic"]  # never written in pyproject itself
    attr = project["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "metakb._version.__version__"
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"metakb {__version__}\n"


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel built from this checkout installed (no editable link)."""
    tmp = tmp_path_factory.mktemp("wheel")
    # Built from a copy of what the wheel is made of: an in-tree build would leave
    # build/ behind, whose stale files a later wheel would pick up.
    source = tmp / "src"
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for part in ("metakb", "app"):  # metakb/app stays a link to app
        shutil.copytree(ROOT / part, source / part, symlinks=True, ignore=junk)
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / part, source / part)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(tmp / "dist")],
        capture_output=True, text=True,
    )  # fmt: skip
    if built.returncode != 0 and "No matching distribution found for setuptools" in built.stderr:
        pytest.skip("the build backend (setuptools) cannot be fetched from the package index")
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp / "dist").glob("metakb-*.whl")
    env = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    (site,) = (env / "lib").glob("python*/site-packages")
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "_metakb_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(env / "bin" / "python"), "install",
         "--no-deps", "--no-index", "--quiet", str(wheel)],
        env=_env(), check=True,  # with PYTHONPATH on this checkout, pip would see metakb there
    )  # fmt: skip
    return env


def _env() -> dict[str, str]:
    # No checkout on the path, and none of metakb's settings (the suite's conftest
    # points METAKB_METADATASET at an empty folder): what a new user has.
    return {
        k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("METAKB_")
    }


def _run(venv: Path, cwd: Path, *args: str, timeout: float = 300) -> str:
    done = subprocess.run(
        [str(venv / "bin" / "metakb"), *args],
        cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert done.returncode == 0, f"metakb {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout


@pytest.mark.slow
def test_installed_wheel_runs_every_edge(venv: Path, tmp_path: Path) -> None:
    python = str(venv / "bin" / "python")
    where = subprocess.run(
        [python, "-c", "import metakb, metakb.appserver as a; print(metakb.__file__, a.APP_DIR)"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert all(p.startswith(str(venv)) for p in where), where  # the wheel's, not the checkout's
    assert (Path(where[1]) / "Home.py").is_file()
    assert (Path(where[1]) / "pages" / "search.py").is_file()

    assert "quickstart" in _run(venv, tmp_path, "--help")
    assert _run(venv, tmp_path, "--version").strip() == f"metakb {__version__}"
    by_module = subprocess.run(
        [python, "-m", "metakb", "--version"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert by_module.stdout.strip() == f"metakb {__version__}"

    # Offline and without a data folder: the meta-dataset shipped in the wheel.
    db = ["--db", "kb/kb.duckdb"]
    built = _run(venv, tmp_path, "quickstart", "--offline", "--budget", "2", *db)
    assert f"source: metadataset ({venv}" in built
    _run(venv, tmp_path, "train", "-a", "random_forest", "-m", "knn", *db)
    example = str(tmp_path / "kb" / "examples" / "breast_cancer.csv")
    recommend = ["recommend", example, "--target", "target", "-a", "random_forest"]
    out = _run(venv, tmp_path, *recommend, "--method", "knn", "-k", "3", "--json", *db)
    assert len(json.loads(out)["recommendations"]) == 3

    port = free_port()
    app = subprocess.Popen(
        [str(venv / "bin" / "metakb"), "app", "--port", str(port), *db],
        cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline, healthy = time.monotonic() + 90, False
        while not healthy and time.monotonic() < deadline and app.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health") as r:
                    healthy = r.status == 200
            except OSError:
                time.sleep(0.5)
        assert healthy, f"the installed app did not answer its health check: {app.poll()}"
        tree = descendants(app.pid)
        app.send_signal(signal.SIGTERM)
        app.wait(timeout=30)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert not leftovers(tree, app.pid, 15), "the stopped app left processes behind"
    assert port_is_free(port)
