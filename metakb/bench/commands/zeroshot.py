"""Leave-one-task-out zero-shot benchmark of the warm starters on the knowledge base.

Usage: python pipelines/zeroshot.py --db KB.duckdb [--out docs/benchmarks] [--max-tasks N]
Writes zeroshot.json, zeroshot.md and (with matplotlib) zeroshot.png under --out.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from metakb.bench.commands import log_progress
from metakb.bench.render import write_page
from metakb.bench.zeroshot import (
    TITLE,
    ZEROSHOT_TABLES,
    Table,
    plot_report,
    render_markdown,
    run_zeroshot,
)
from metakb.kb import KnowledgeBase
from metakb.models import DEFAULT_WARM_STARTER, MetaDataset

log = logging.getLogger("zeroshot")


def main(argv: list[str] | None = None, prog: str = "python pipelines/zeroshot.py") -> int:
    """Parse ``argv`` (this module's options), run the suite and write its report; return 0.

    ``prog`` is how the suite was invoked, recorded as the report's command.
    """
    parser = argparse.ArgumentParser(prog=prog or None, description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--tables", nargs="*", default=[t.algorithm for t in ZEROSHOT_TABLES])
    parser.add_argument("--max-tasks", type=int, default=None)
    parser.add_argument(
        "--render-only", action="store_true", help="Re-render md/png from --out's zeroshot.json."
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    kb = KnowledgeBase(args.db)
    tables = [t for t in ZEROSHOT_TABLES if t.algorithm in args.tables]

    def load(table: Table) -> MetaDataset:
        return kb.meta_dataset(table.algorithm, table.metric, min_configs=table.min_configs)

    progress = log_progress(log)

    if args.render_only:
        report = json.loads((args.out / "zeroshot.json").read_text())
        command = report["command"]
    else:
        report = run_zeroshot(load, tables, max_tasks=args.max_tasks, progress=progress)
        command = prog + " " + " ".join(sys.argv[1:] if argv is None else argv)
        report["command"] = command
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "zeroshot.json").write_text(json.dumps(report, indent=2) + "\n")
    # The default is the library's, read at rendering time, so the page never states a stale one.
    report["default_method"] = DEFAULT_WARM_STARTER
    write_page(
        args.out / "zeroshot.md",
        render_markdown(report, command),
        title=TITLE,
        plot=lambda png: plot_report(report, png),
    )
    log.info("wrote %s", args.out / "zeroshot.md")
    return 0
