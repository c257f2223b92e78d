"""Transfer's zero-shot regret over a grid of its settings, and a setting chosen fairly.

Usage: python pipelines/transfer_sensitivity.py --db KB.duckdb [--out docs/benchmarks]
    [--tables random_forest adaboost svc lightgbm] [--max-tasks N] [--render-only]
Writes transfer_sensitivity.json and transfer_sensitivity.md under --out.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from metakb.bench._machine import format_load, load_average
from metakb.bench.commands import log_progress
from metakb.bench.sensitivity import grid_regret, render_markdown
from metakb.bench.zeroshot import ZEROSHOT_TABLES
from metakb.errors import MetakbError
from metakb.kb import KnowledgeBase

log = logging.getLogger("transfer_sensitivity")
NAME = "transfer_sensitivity"


def main(
    argv: list[str] | None = None, prog: str = "python pipelines/transfer_sensitivity.py"
) -> int:
    """Parse ``argv`` (this module's options), run the suite and write its report; return 0.

    ``prog`` is how the suite was invoked, recorded as the report's command.
    """
    parser = argparse.ArgumentParser(prog=prog or None, description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--tables", nargs="*", default=[t.algorithm for t in ZEROSHOT_TABLES])
    parser.add_argument("--max-tasks", type=int, default=None)
    parser.add_argument("--render-only", action="store_true", help=f"Re-render from {NAME}.json.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    json_path = args.out / f"{NAME}.json"
    if args.render_only:
        report = json.loads(json_path.read_text())
    else:
        if args.db is None:
            parser.error("--db is required unless --render-only")
        unknown = sorted(set(args.tables) - {t.algorithm for t in ZEROSHOT_TABLES})
        if unknown or len(args.tables) < 2:
            parser.error(f"give two or more of {[t.algorithm for t in ZEROSHOT_TABLES]}")
        kb = KnowledgeBase(args.db)

        progress = log_progress(log)

        before = format_load(load_average())
        tables = {}
        for table in (t for t in ZEROSHOT_TABLES if t.algorithm in args.tables):
            try:
                data = kb.meta_dataset(table.algorithm, table.metric, min_configs=table.min_configs)
            except MetakbError as exc:
                parser.error(str(exc))
            tables[table.algorithm] = grid_regret(data, max_tasks=args.max_tasks, progress=progress)
        command = prog + " " + " ".join(sys.argv[1:] if argv is None else argv)
        report = {
            "command": command,
            "load": f"load average {before} at the start, {format_load(load_average())} at the "
            f"end, on {os.cpu_count()} cores",
            "tables": tables,
        }
        args.out.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report) + "\n")
    text = render_markdown(report["tables"], report["command"], load=report.get("load", ""))
    (args.out / f"{NAME}.md").write_text(text)
    log.info("wrote %s", args.out / f"{NAME}.md")
    return 0
