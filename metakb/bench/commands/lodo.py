"""Leave one dataset out over the sweep: every method's top-1 against the library default.

Usage: metakb bench lodo --db KB [--algorithm A ...] [--task-type T ...] [--out docs/benchmarks]
Writes lodo.json, lodo.md and (with matplotlib) lodo.png under --out.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

from metakb.bench._machine import format_load, load_average
from metakb.bench.commands import log_progress
from metakb.bench.lodo import (
    DEFAULT_AWARE,
    TITLE,
    held_out_tasks,
    plot_report,
    render_markdown,
    run_lodo,
)
from metakb.bench.render import write_page
from metakb.errors import MetakbError
from metakb.kb import KnowledgeBase
from metakb.models import WARM_STARTERS
from metakb.spaces import get_algorithm

log = logging.getLogger("lodo")


def main(argv: list[str] | None = None, prog: str = "metakb bench lodo") -> int:
    """Parse ``argv``, run the suite and write its report; return 0."""
    parser = argparse.ArgumentParser(prog=prog or None, description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--algorithm", action="append", default=None)
    parser.add_argument("--task-type", action="append", default=None)
    parser.add_argument("--methods", nargs="*", default=sorted(WARM_STARTERS))
    parser.add_argument(
        "--margins",
        nargs="*",
        type=float,
        default=[1.0, 0.5, 0.25],
        help="Also weigh every method against the default with these margins.",
    )
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    path = args.out / "lodo.json"
    if args.render_only:
        report = json.loads(path.read_text())
    else:
        report = _run(args, prog + " " + " ".join(sys.argv[1:] if argv is None else argv))
        args.out.mkdir(parents=True, exist_ok=True)
        path.write_text(_compact(json.dumps(report, indent=2)) + "\n")
    write_page(
        args.out / "lodo.md",
        render_markdown(report),
        title=TITLE,
        plot=lambda png: plot_report(report, png),
    )
    log.info("wrote %s", args.out / "lodo.md")
    return 0


def _compact(text: str) -> str:
    """Put each list of numbers on one line (the picks: thousands of short lists)."""
    return re.sub(
        r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]",
        lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]",
        text,
    )


def _run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    kb = KnowledgeBase(args.db)
    before = load_average()
    tables = []
    for name in args.algorithm or ["lightgbm", "random_forest"]:
        algorithm = get_algorithm(name)
        for task_type in args.task_type or list(algorithm.task_types):
            tasks = held_out_tasks(kb.fold_results(f"sweep:{name}:", task_type), algorithm)
            if not tasks:
                log.info("%s %s: nothing swept", name, task_type)
                continue
            try:
                data = kb.meta_dataset(name, task_type=task_type)
            except MetakbError as error:
                log.info("%s %s: %s", name, task_type, error)
                continue
            methods = [
                *args.methods,
                *(
                    f"{m}{DEFAULT_AWARE}" + ("" if margin == 1.0 else f"@{margin:g}")
                    for m in args.methods
                    for margin in args.margins
                ),
            ]
            result = run_lodo(data, tasks, algorithm, methods, progress=log_progress(log))
            tables.append(
                {
                    "algorithm": name,
                    "task_type": task_type,
                    "meta_dataset": data.metric,
                    "training_tasks": data.n_tasks,
                    **result,
                }
            )
    load = f"machine load before: {format_load(before)}; after: {format_load(load_average())}"
    return {"command": command, "load": load, "tables": tables}
