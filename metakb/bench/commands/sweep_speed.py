"""Sweep throughput: metakb sweep's fits per CPU second against a plain cross_val_score loop.

Usage: python pipelines/bench_sweep_speed.py [--data SHARED_DATA] [--out docs/benchmarks]
    [--algorithm lightgbm] [--design small] [--folds 5] [--max-rows 500] [--repeats 2]
    [--workers 2] [--classification 6] [--regression 2] [--render-only]
Runs on PMLB tables (``$METAKB_DATA/pmlb_datasets``) that are not held out.
Writes sweep_speed.json, sweep_speed.md and (with matplotlib) sweep_speed.png under --out.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

import pandas as pd

from metakb.bench.render import write_page
from metakb.bench.sweep_speed import (
    PER_TASK_TYPE,
    TITLE,
    SpeedSettings,
    manifest_refs,
    plot_report,
    render_markdown,
    run_sweep_speed,
    select_tables,
)
from metakb.spaces import ALGORITHMS
from metakb.sweep import DEFAULT_MAX_ROWS, DESIGNS

log = logging.getLogger("bench_sweep_speed")


def main(argv: list[str] | None = None, prog: str = "python pipelines/bench_sweep_speed.py") -> int:
    """Parse ``argv`` (this module's options), run the suite and write its report; return 0.

    ``prog`` is how the suite was invoked, recorded as the report's command.
    """
    parser = argparse.ArgumentParser(prog=prog or None, description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("METAKB_DATA", "")))
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--algorithm", default="lightgbm", choices=sorted(ALGORITHMS))
    parser.add_argument("--design", default="small", choices=sorted(DESIGNS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--max-rows", type=int, default=DEFAULT_MAX_ROWS, help="The row cap.")
    parser.add_argument(
        "--repeats", type=int, default=2, help="Runs of each arm, order alternating."
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="Workers of the process-pool run (0: none)."
    )
    for task_type, n in PER_TASK_TYPE.items():
        parser.add_argument(f"--{task_type}", type=int, default=n, help=f"{task_type} tables")
    parser.add_argument("--render-only", action="store_true", help="Re-render md/png from json.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    json_path = args.out / "sweep_speed.json"
    if args.render_only:
        report = json.loads(json_path.read_text())
    else:
        folder = args.data / "pmlb_datasets"
        if not (folder / "manifest.csv").is_file():
            parser.error(f"no {folder / 'manifest.csv'}: give --data or set METAKB_DATA")
        chosen, selection = select_tables(
            pd.read_csv(folder / "manifest.csv"),
            {task_type: getattr(args, task_type) for task_type in PER_TASK_TYPE},
        )
        settings = SpeedSettings(
            algorithm=args.algorithm,
            design=args.design,
            n_splits=args.folds,
            max_rows=args.max_rows,
            repeats=args.repeats,
            workers=args.workers,
        )
        log.info("timing %s on %s", settings, ", ".join(selection["chosen"]))
        report = run_sweep_speed(manifest_refs(folder, chosen), settings, progress=log.info)
        report["selection"] = selection
        report["command"] = prog + " " + " ".join(sys.argv[1:] if argv is None else argv)
        args.out.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(report, indent=2) + "\n")
    write_page(
        args.out / "sweep_speed.md",
        render_markdown(report),
        title=TITLE,
        plot=lambda png: plot_report(report, png),
    )
    log.info("wrote %s", args.out / "sweep_speed.md")
    return 0
