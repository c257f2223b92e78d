"""The README and docs as a script: their Python examples and shell commands run as written.

Every fenced ``python`` block of README.md and docs/*.md runs in a subprocess,
in a workspace laid out as the examples assume (``data/metakb.duckdb`` holding
the shipped meta-dataset, ``../shared/data`` a tiny published-data folder,
``data.csv``, ``my_tables/``), offline: the OpenML server is a closed local
port. A block that genuinely needs the network starts with the marker line
``# docs-test: skip (needs network: <why>)`` and is skipped with that reason.
The benchmark pages' scripts (docs/benchmarks/) need a full knowledge base and
minutes: only their imports are checked.

The fenced ``bash`` blocks run step by step (each ``&&``-joined piece):
``metakb ...`` through this interpreter, ``pip install -e ".[extra]"`` as a
check that the extra exists; making a venv and running pytest are this run.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from metakb.cli import main
from metakb.kb import KnowledgeBase
from tests.conftest import write_synthetic_table, write_tiny_data

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
EXAMPLE_PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]
BENCHMARK_PAGES = sorted((REPO / "docs" / "benchmarks").glob("*.md"))
SKIP_MARKER = re.compile(r"#\s*docs-test:\s*skip\s*\((needs network: .+)\)")
# Nothing listens on the discard port: an example that reaches for OpenML fails fast.
OFFLINE_SERVER = "http://127.0.0.1:9/api/v1/xml"
BLOCK_TIMEOUT_S = 120


def fenced_blocks(path: Path, language: str) -> list[tuple[int, str]]:
    """Return ``(line, code)`` of every block fenced as `````language`` in ``path``."""
    blocks, lines = [], path.read_text().splitlines()
    start: int | None = None
    for number, line in enumerate(lines, 1):
        if start is None and line.strip() == f"```{language}":
            start = number
        elif start is not None and line.strip() == "```":
            blocks.append((start, "\n".join(lines[start : number - 1]) + "\n"))
            start = None
    assert start is None, f"{path.name}:{start}: a ```{language} block is never closed"
    return blocks


def _cases(pages: list[Path], language: str) -> list[Any]:  # pytest.param sets
    return [
        pytest.param(code, id=f"{page.relative_to(REPO)}:{line}")
        for page in pages
        for line, code in fenced_blocks(page, language)
    ]


def _offline_env(**extra: str) -> dict[str, str]:
    # The user's METAKB_* settings (a database, the data folder) must not leak into the examples.
    env = {k: v for k, v in os.environ.items() if not k.startswith("METAKB_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["METAKB_OPENML_SERVER"] = OFFLINE_SERVER
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def shipped_kb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A knowledge base holding the shipped meta-dataset (what a fresh install starts from)."""
    path = tmp_path_factory.mktemp("shipped") / "metakb.duckdb"
    KnowledgeBase(path).import_metadataset(REPO / "metakb" / "_data" / "metadataset")
    return path


@pytest.fixture
def workspace(tmp_path: Path, shipped_kb: Path) -> Path:
    """The folder the examples run in, with what they name around it; returns the cwd."""
    write_tiny_data(tmp_path / "shared" / "data")
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    shutil.copy(shipped_kb, work / "data" / "metakb.duckdb")
    write_synthetic_table(work / "data.csv", "classification")
    # A sweep folder's tables name their target `target` (or `class`).
    table = write_synthetic_table(work / "my_tables" / "signs.csv", "classification", seed=1)
    table.write_text(table.read_text().replace("a,b,c,y\n", "a,b,c,target\n", 1))
    return work


def test_the_pages_have_examples_and_every_python_fence_is_found() -> None:
    assert len(fenced_blocks(README, "python")) >= 3
    assert len(fenced_blocks(README, "bash")) == 2  # the two commands
    for page in EXAMPLE_PAGES + BENCHMARK_PAGES:
        # A block fenced any other way (```py, ```python3) would escape this test.
        odd = re.findall(r"^```(py|python3|pycon)\s*$", page.read_text(), re.MULTILINE)
        assert not odd, f"{page.name}: fence a Python example as ```python"


@pytest.mark.parametrize("code", _cases(EXAMPLE_PAGES, "python"))
def test_python_example_runs(code: str, workspace: Path) -> None:
    marker = SKIP_MARKER.search(code.splitlines()[0])
    if marker:
        pytest.skip(marker.group(1))
    if "dask:" in code:
        pytest.importorskip("distributed", reason="the example runs on Dask: the 'dask' extra")
    script = workspace / "example.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, script.name],
        cwd=workspace,
        env=_offline_env(),
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), "every example prints what it found"


@pytest.mark.parametrize("code", _cases(BENCHMARK_PAGES, "python"))
def test_benchmark_page_scripts_import_what_exists(code: str) -> None:
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.ImportFrom) and node.module:
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{node.module} has no {alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)


def _extras() -> set[str]:
    with (REPO / "pyproject.toml").open("rb") as handle:
        return set(tomllib.load(handle)["project"]["optional-dependencies"])


def run_shell_step(step: str, cwd: Path) -> subprocess.CompletedProcess[str] | None:
    """Run one ``&&``-joined piece of a documented command; None for a piece not rerun here."""
    words = shlex.split(step)
    env = {}
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    program, args = Path(words[0]).name, words[1:]
    if words[:3] == ["python3", "-m", "venv"] or args[:2] == ["-m", "pytest"]:
        return None  # the environment this test runs in, and this very run
    if program == "pip" and args[:2] == ["install", "-e"]:
        extras = re.fullmatch(r"\.(?:\[(.+)\])?", args[2])
        assert extras, f"installs {args[2]!r}, not this checkout"
        missing = set((extras.group(1) or "").split(",")) - _extras() - {""}
        assert not missing, f"pyproject.toml has no extra {sorted(missing)}"
        return None
    assert program == "metakb", f"a documented step this test does not know: {step!r}"
    return subprocess.run(
        [sys.executable, "-m", "metakb.cli", *args],
        cwd=cwd,
        env=_offline_env(**env),
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_S,
    )


def _run_shell_block(code: str, cwd: Path) -> list[str]:
    ran = []
    for step in re.split(r"\s*&&\s*|\n", code.strip()):
        done = run_shell_step(step, cwd)
        if done is not None:
            assert done.returncode == 0, f"{step}: {done.stderr[-2000:]}"
            ran.append(step)
    return ran


def test_the_main_commands_run_offline(workspace: Path) -> None:
    (workspace / "data" / "metakb.duckdb").unlink()  # a first run builds its own
    ran = [
        step
        for _, code in fenced_blocks(README, "bash")
        for step in _run_shell_block(code, workspace)
    ]
    assert ran == ["METAKB_DATA=../shared/data .venv/bin/metakb quickstart"]
    stats = KnowledgeBase(workspace / "data" / "metakb.duckdb").stats()
    assert stats["tasks"] > 0 and stats["evaluations"] > 0


@pytest.mark.slow  # builds the benchmarks' knowledge base: about a minute
@pytest.mark.parametrize("code", _cases([REPO / "docs" / "BENCHMARKS.md"], "bash"))
def test_the_benchmarks_knowledge_base_commands_run(code: str, workspace: Path) -> None:
    assert _run_shell_block(code, workspace)


def test_every_command_in_the_readme_table_exists(capsys: pytest.CaptureFixture[str]) -> None:
    table = README.read_text().split("## The command line at a glance", 1)[1]
    commands = re.findall(r"^\| `metakb ([a-z ]+?)(?: [A-Z\[\-].*)?`", table, re.MULTILINE)
    assert "search" in commands and "ingest openml" in commands
    for command in commands:
        assert main([*command.split(), "--help"]) == 0, command
    capsys.readouterr()
