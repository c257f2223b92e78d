"""Leave-one-task-out portfolios on TabRepo LightGBM: metakb against TabRepo-style zero-shot.

Usage: python pipelines/portfolios_tabrepo.py --db KB.duckdb [--out docs/benchmarks] [--max-tasks N]
Writes portfolios_tabrepo.json, .md and (with matplotlib) .png under --out.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from metakb.bench.commands import log_progress
from metakb.bench.portfolios import (
    TITLE,
    plot_portfolios,
    render_portfolios_markdown,
    run_portfolios,
)
from metakb.bench.render import write_page
from metakb.kb import KnowledgeBase

log = logging.getLogger("portfolios_tabrepo")
NAME = "portfolios_tabrepo"


def main(
    argv: list[str] | None = None, prog: str = "python pipelines/portfolios_tabrepo.py"
) -> int:
    """Parse ``argv`` (this module's options), run the suite and write its report; return 0.

    ``prog`` is how the suite was invoked, recorded as the report's command.
    """
    parser = argparse.ArgumentParser(prog=prog or None, description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--max-tasks", type=int, default=None)
    parser.add_argument(
        "--render-only", action="store_true", help=f"Re-render md/png from --out's {NAME}.json."
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    progress = log_progress(log)

    if args.render_only:
        report = json.loads((args.out / f"{NAME}.json").read_text())
        command = report["command"]
    else:
        data = KnowledgeBase(args.db).meta_dataset("lightgbm", min_configs=1)
        report = run_portfolios(data, max_tasks=args.max_tasks, progress=progress)
        command = prog + " " + " ".join(sys.argv[1:] if argv is None else argv)
        report["command"] = command
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / f"{NAME}.json").write_text(json.dumps(report, indent=2) + "\n")
    write_page(
        args.out / f"{NAME}.md",
        render_portfolios_markdown(report, command),
        title=TITLE,
        plot=lambda png: plot_portfolios(report, png),
    )
    log.info("wrote %s", args.out / f"{NAME}.md")
    return 0
