from __future__ import annotations

import importlib

import pytest

from metakb.bench.suites import SUITES, run_suite
from metakb.cli import main


@pytest.mark.parametrize("name", list(SUITES))
def test_every_suite_has_a_command(name):
    module = importlib.import_module(f"metakb.bench.commands.{SUITES[name].module}")
    assert callable(module.main)
    with pytest.raises(SystemExit) as exc:  # argparse's --help exits 0
        run_suite(name, ["--help"])
    assert exc.value.code == 0


def test_unknown_suite():
    with pytest.raises(KeyError, match="tabular"):
        run_suite("nope", [])


def test_cli_bench_lists_and_dispatches(capsys):
    assert main(["bench"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in SUITES), listed
    assert main(["bench", "nope"]) == 2
    # The suite parses its own options: the command only dispatches.
    assert main(["bench", "zeroshot", "--help"]) == 0
    assert "--max-tasks" in capsys.readouterr().out
