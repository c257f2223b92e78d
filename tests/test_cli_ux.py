"""The command line as a user meets it: Ctrl-C, reruns, usage errors, progress, help, startup."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup, TyperOption

from metakb.cli import app, main

REPO = Path(__file__).resolve().parents[1]
# SIGINT restored: a shell starts background jobs (a suite run with `&`) with it ignored,
# and children inherit that.
CHILD = (
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from metakb.cli import main; raise SystemExit(main())"
)


@pytest.fixture(scope="module")
def table(forest_table: Path) -> Path:
    return forest_table


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "kb" / "metakb.duckdb"


def _search_args(table: Path, db: Path, budget: int = 2) -> list[str]:
    return [
        "search", str(table), "--target", "target", "-a", "random_forest",
        "--budget", str(budget), "--method", "random", "--warm-start", "none",
        "--folds", "2", "--db", str(db),
    ]  # fmt: skip


def _child(*args: str) -> subprocess.Popen[str]:
    """Run the real command line in a child whose stdout and stderr are pipes, not terminals."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )


# --- Ctrl-C ---------------------------------------------------------------------------


def test_ctrl_c_during_a_search_says_what_was_saved_and_how_to_resume(
    table: Path, db: Path
) -> None:
    args = [*_search_args(table, db, budget=200), "--new"]
    child = _child(*args)
    assert child.stderr is not None
    lines = []
    try:
        for line in child.stderr:
            lines.append(line)
            if line.startswith("trial 2/200: "):
                child.send_signal(signal.SIGINT)
                break
        rest = child.stderr.read()
        child.wait(timeout=60)
    finally:
        child.kill()
    assert lines and lines[-1].startswith("trial 2/200: "), lines
    assert child.returncode == 130
    (message,) = [line for line in rest.splitlines() if line.startswith("interrupted: ")]
    found = re.fullmatch(
        r"interrupted: (\d+) of 200 trials saved in (\S+) and in (\S+); to continue: (.+)",
        message,
    )
    assert found, message
    saved, log_path, kb_path, command = found.groups()
    assert int(saved) >= 2 and kb_path == str(db)
    assert len(json.loads(Path(log_path).read_text())) == int(saved)
    # The exact command: the same arguments, --new replaced by --resume.
    assert command == " ".join(["metakb", *[a for a in args if a != "--new"], "--resume"])


def test_ctrl_c_before_the_first_trial_gives_the_same_command(
    table: Path, db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from metakb.kb import KnowledgeBase

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(KnowledgeBase, "search", interrupted)
    args = _search_args(table, db)
    assert main(args) == 130
    err = capsys.readouterr().err.strip()
    assert err == f"interrupted: no trial had finished; to continue: metakb {' '.join(args)}"


@pytest.mark.parametrize(
    ("argv", "verb", "saved", "added"),
    [
        (["sweep", "--datasets", "sklearn"], "sweep", "every finished evaluation", "--resume"),
        (["ingest", "published", "."], "ingest_published", "each imported file", None),
        (["featurize", "--all"], "featurize", "meta-features written so far", None),
    ],
)
def test_ctrl_c_in_the_other_resumable_commands(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    db: Path,
    argv: list[str],
    verb: str,
    saved: str,
    added: str | None,
) -> None:
    from metakb.kb import KnowledgeBase

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(KnowledgeBase, verb, interrupted)
    args = [*argv, "--db", str(db)]
    assert main(args) == 130
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"interrupted: {saved}") and str(db) in err
    assert err.endswith("; to continue: metakb " + " ".join([*args, *([added] if added else [])]))


# --- reruns -----------------------------------------------------------------------------


def test_a_rerun_without_resume_or_new_is_refused(
    table: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*_search_args(table, db), "--json"]
    assert main(args) == 0
    (log_path,) = (db.parent / "searches").glob("*.json")
    before = log_path.read_text()
    capsys.readouterr()
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert "already has 2 trial(s)" in line and "--resume" in line and "--new" in line
    assert log_path.read_text() == before  # not overwritten
    assert main([*args, "--resume"]) == 0
    assert main([*args, "--new"]) == 0
    assert len(json.loads(log_path.read_text())) == 2
    capsys.readouterr()
    assert main([*args, "--new", "--resume"]) == 2
    assert "not both" in capsys.readouterr().err


def test_a_non_default_metric_is_another_search(
    table: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [*_search_args(table, db), "--json"]
    assert main(args) == 0
    assert main([*args, "--metric", "roc_auc"]) == 0  # no --new needed: not the same search
    assert len(list((db.parent / "searches").glob("*.json"))) == 2


# --- usage errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--budget", "0"], "--budget"),
        (["-a", "xgboost"], "unknown algorithm 'xgboost'; known: "),
        (["--method", "grid"], "unknown method 'grid'; known: random"),
        (["--warm-start", "magic"], "unknown warm start 'magic'"),
        (["--metric", "f1"], "unknown metric 'f1'; known: accuracy"),
        (["--metric", "r2"], "r2 does not score a classification target; use accuracy"),
    ],
)
def test_usage_errors_exit_2(
    table: Path,
    db: Path,
    capsys: pytest.CaptureFixture[str],
    change: list[str],
    message: str,
) -> None:
    assert main([*_search_args(table, db), *change]) == 2
    assert message in capsys.readouterr().err
    assert not db.exists()  # refused before anything is written


# --- progress -------------------------------------------------------------------------


def test_search_progress_off_a_terminal_is_one_line_per_trial(table: Path, db: Path) -> None:
    child = _child(*_search_args(table, db, budget=3))
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    lines = [line for line in err.splitlines() if line.startswith("trial ")]
    assert [line.split(":")[0] for line in lines] == ["trial 1/3", "trial 2/3", "trial 3/3"]
    pattern = (
        r"trial \d/3: (0\.\d{4}|failed) in [\d.]+ s; best [\d.]+, \d+ failed, ~[\d.]+ s/trial, "
    )
    for line in lines[:2]:
        assert re.fullmatch(pattern + r"ETA [\d.]+ (s|min)", line), line
    assert re.fullmatch(pattern + "done", lines[-1]), lines[-1]
    assert "best: sklearn.ensemble.RandomForestClassifier(" in out


# --- help -----------------------------------------------------------------------------


def _commands() -> list[tuple[list[str], Any]]:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    found: list[tuple[list[str], Any]] = []
    for name, command in root.commands.items():
        if isinstance(command, TyperGroup):
            found += [([name, sub], c) for sub, c in command.commands.items()]
        elif name != "bench":  # its suites parse their own options (tests/bench)
            found.append(([name], command))
    return found


@pytest.mark.parametrize(
    ("path", "command"), [pytest.param(*c, id=" ".join(c[0])) for c in _commands()]
)
def test_help_shows_every_default(
    capsys: pytest.CaptureFixture[str], path: list[str], command: Any
) -> None:
    assert main([*path, "--help"]) == 0
    text = capsys.readouterr().out
    # Typer braces a required argument; its name is the metavar, not the Python name.
    assert "<bool>" not in text and not re.search(r"[{\[][a-z_]+[}\]]", text.splitlines()[0])
    options = text.split("Options:", 1)[-1]
    blocks = [b for b in re.split(r"\n  (?=-)", options) if b.strip()]
    for param in command.params:
        if not isinstance(param, TyperOption) or param.name == "help":
            continue
        (block,) = [b for b in blocks if b.split()[0].rstrip(",") in param.opts]
        flag = param.is_flag and not param.secondary_opts
        # A plain flag is off unless given; every other option says what it is without one.
        assert flag or param.required or "default" in block, f"{param.opts}: {block}"
    if any(p.name == "db" for p in command.params):
        flat = re.sub(r"-\n\s+", "-", text)  # help wraps long paths at their hyphens
        assert "METAKB_DB" in text and str(Path("data", "metakb.duckdb").resolve()) in flat


# --- startup --------------------------------------------------------------------------


def test_importing_the_cli_imports_nothing_heavy() -> None:
    heavy = ("numpy", "pandas", "sklearn", "lightgbm", "duckdb", "scipy", "ConfigSpace")
    code = f"import sys, metakb.cli; print([m for m in {heavy!r} if m in sys.modules])"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert found.stdout.strip() == "[]"


def test_a_usage_error_needs_no_heavy_import() -> None:
    code = (
        "import sys; from metakb.cli import main; "
        "code = main(['search', 'x.csv', '--budget', '0']); "
        "print(code, 'sklearn' in sys.modules, 'duckdb' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert found.stdout.split() == ["2", "False", "False"], found.stderr


# --- recommend ------------------------------------------------------------------------


def test_recommend_without_trained_models_fits_one_and_says_where_from(
    table: Path, tiny_data: Path, db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", "published", str(tiny_data), "--db", str(db)]) == 0
    capsys.readouterr()
    args = ["recommend", str(table), "--target", "target", "-a", "random_forest"]
    code = main([*args, "--method", "knn", "--min-configs", "2", "-k", "2", "--db", str(db)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "no trained model in" in captured.err and "`metakb train` saves it" in captured.err
    assert f"fitted knn for random_forest (classification) now from the knowledge base at {db}" in (
        " ".join(captured.err.split())
    )
    assert "RandomForestClassifier" in captured.out


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        (
            ["--db", "nowhere/kb.duckdb"],
            1,
            f"no knowledge base at {Path('nowhere/kb.duckdb').resolve()}",
        ),
        (["--method", "magic"], 2, "unknown method 'magic'; known: portfolio"),
        (["-a", "xgboost"], 2, "unknown algorithm 'xgboost'; known: random_forest"),
        (["--metric", "f1"], 2, "unknown metric 'f1'; known: accuracy"),
    ],
)
def test_recommend_errors_name_the_problem(
    table: Path,
    db: Path,
    capsys: pytest.CaptureFixture[str],
    change: list[str],
    code: int,
    message: str,
) -> None:
    args = ["recommend", str(table), "--target", "target", "--db", str(db), *change]
    assert main(args) == code
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert message in line and "metakb train" not in line


@pytest.mark.parametrize(
    ("metric", "code", "message"),
    [
        ("r2", 2, "r2 does not score a classification target; use accuracy"),
        ("roc_auc", 1, "too few runs of random_forest on classification tasks scored by roc_auc"),
    ],
)
def test_recommend_metric_errors_are_one_line(
    table: Path,
    tiny_data: Path,
    db: Path,
    capsys: pytest.CaptureFixture[str],
    metric: str,
    code: int,
    message: str,
) -> None:
    assert main(["ingest", "published", str(tiny_data), "--db", str(db)]) == 0
    capsys.readouterr()
    args = ["recommend", str(table), "--target", "target", "-a", "random_forest", "--db", str(db)]
    assert main([*args, "--method", "knn", "--min-configs", "2", "--metric", metric]) == code
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert message in line
