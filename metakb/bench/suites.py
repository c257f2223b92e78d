"""The registry of benchmark suites that ``metakb bench SUITE`` and ``pipelines/`` run.

Each suite's command line lives in `metakb.bench.commands` (``main(argv, prog)``
parses its own options); adding a suite is one module there and one entry here.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Suite:
    """A benchmark suite that can be run by name.

    Attributes
    ----------
    name : str
        The name ``metakb bench`` takes.
    module : str
        The module in `metakb.bench.commands` whose ``main(argv, prog)`` runs it.
    summary : str
        One line for the command's help.
    """

    name: str
    module: str
    summary: str


SUITES: dict[str, Suite] = {
    s.name: s
    for s in (
        Suite("tabular", "tabular", "Tabular leave-one-task-out search (OpenML100 lookup tables)."),
        Suite("peers-tabular", "peers_tabular", "Warm BO vs Optuna TPE and SMAC3 on surrogates."),
        Suite("zeroshot", "zeroshot", "Leave-one-task-out zero-shot regret of the warm starters."),
        Suite("portfolios", "portfolios", "Portfolios on TabRepo LightGBM vs TabRepo zero-shot."),
        Suite("sensitivity", "sensitivity", "Transfer's zero-shot regret over its setting grid."),
        Suite("lodo", "lodo", "Leave one swept dataset out: top-1 against the library default."),
        Suite("live", "live", "Live fits on held-out PMLB tables vs defaults, FLAML, Optuna TPE."),
        Suite("metafeatures", "metafeatures", "Meta-feature speed vs pymfe and OpenML parity."),
        Suite("systems", "systems", "Serving latency, memory and artifact size as the KB grows."),
        Suite("ingest", "ingest", "Time the import of the published meta-datasets."),
        Suite("sweep-speed", "sweep_speed", "Sweep fits per CPU second vs a cross_val_score loop."),
    )
}
"""Every suite by name."""


def run_suite(name: str, argv: Sequence[str] | None = None, *, prog: str | None = None) -> int:
    """Run suite ``name`` with its command-line options ``argv`` (default: ``sys.argv[1:]``).

    ``prog`` is how the run is invoked, recorded in the report's command
    (default ``metakb bench NAME``). Returns the exit status.

    Raises
    ------
    KeyError
        For an unknown suite (the message lists the known ones).
    """
    if name not in SUITES:
        raise KeyError(f"unknown suite {name!r}; known: {', '.join(SUITES)}")
    command = importlib.import_module(f"metakb.bench.commands.{SUITES[name].module}")
    args = list(sys.argv[1:] if argv is None else argv)
    status: int = command.main(args, prog=prog or f"metakb bench {name}")
    return status
