"""Tabular leave-one-task-out benchmark of cold, random and warm-started BO (issue #6).

Usage: python pipelines/bench_tabular.py --db KB.duckdb --algorithm random_forest|adaboost|svc|all
       [--out docs/benchmarks] [--workers 2] [--budget 100] [--seeds 5] [--max-tasks N]
Writes tabular_<algorithm>.json (every regret curve), .md and .png under --out.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from metakb.bench.commands import log_progress
from metakb.bench.loto import LotoSettings
from metakb.bench.render import write_loto_report
from metakb.bench.tabular import (
    MIN_RUNS,
    TABULAR_ALGORITHMS,
    constant_tasks_note,
    loto_report,
    run_tabular,
    wall_time_target,
)
from metakb.kb import KnowledgeBase

log = logging.getLogger("bench_tabular")


def main(argv: list[str] | None = None, prog: str = "python pipelines/bench_tabular.py") -> int:
    """Parse ``argv`` (this module's options), run the suite and write its report; return 0.

    ``prog`` is how the suite was invoked, recorded as the report's command.
    """
    parser = argparse.ArgumentParser(prog=prog or None, description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--algorithm", choices=[*TABULAR_ALGORITHMS, "all"], default="all")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-warm", type=int, default=10)
    parser.add_argument("--max-tasks", type=int, default=None)
    parser.add_argument(
        "--render-only", action="store_true", help="Re-render md/png from --out's JSON."
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    command = prog + " " + " ".join(sys.argv[1:] if argv is None else argv)
    algorithms = TABULAR_ALGORITHMS if args.algorithm == "all" else (args.algorithm,)
    settings = LotoSettings(budget=args.budget, seeds=tuple(range(args.seeds)), n_warm=args.n_warm)
    args.out.mkdir(parents=True, exist_ok=True)
    for algorithm in algorithms:
        path = args.out / f"tabular_{algorithm}"
        if args.render_only:
            report = json.loads(path.with_suffix(".json").read_text())
            # Reports written before the time target was recorded carry the wall time only.
            report["targets"].setdefault(
                "wall_time", wall_time_target(report["timing"]["wall_seconds"])
            )
        else:
            data = KnowledgeBase(args.db).meta_dataset(algorithm, min_configs=MIN_RUNS)
            ids = list(data.task_ids)[: args.max_tasks] if args.max_tasks else None

            progress = log_progress(log)

            before = os.getloadavg()
            result = run_tabular(
                data, settings, workers=args.workers, task_ids=ids, progress=progress
            )
            load = [*before, *os.getloadavg()]
            report = loto_report(data, result, settings, workers=args.workers, load=load)
            report["command"] = command
            path.with_suffix(".json").write_text(json.dumps(report) + "\n")
        title = f"Tabular warm-started search: {report['algorithm']} ({report['flow_id']})"
        # What the page says around the figures is in docs/benchmarks/tabular_*.md.
        write_loto_report(report, path, title=title, extra=[*constant_tasks_note(report), ""])
    return 0
