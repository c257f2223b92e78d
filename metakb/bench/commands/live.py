"""Live benchmark: real LightGBM fits on PMLB datasets the knowledge base does not hold.

Usage: python pipelines/bench_live.py --db KB.duckdb [--out docs/benchmarks] [--max-datasets N]
    [--data SHARED_DATA] [--budget 20] [--no-flaml] [--render-only]
Writes live_pmlb.json, live_pmlb.md and (with matplotlib) live_pmlb.png under --out.
The knowledge base is only read (its trained models warm-start; nothing is written back).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from metakb.bench._machine import format_load, load_average
from metakb.bench.live import (
    ALGORITHM,
    DEFAULT_MAX_DATASETS,
    TITLE,
    LiveSettings,
    add_class_counts,
    plot_report,
    pmlb_tasks,
    render_markdown,
    run_live,
    select_datasets,
)
from metakb.bench.peers import flaml_missing
from metakb.bench.render import write_page
from metakb.kb import KnowledgeBase

log = logging.getLogger("bench_live")


def _load() -> str:
    return f"load average {format_load(load_average())} on {os.cpu_count()} cores"


def main(argv: list[str] | None = None, prog: str = "python pipelines/bench_live.py") -> int:
    """Parse ``argv`` (this module's options), run the suite and write its report; return 0.

    ``prog`` is how the suite was invoked, recorded as the report's command.
    """
    parser = argparse.ArgumentParser(prog=prog or None, description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("METAKB_DATA", "")))
    parser.add_argument("--max-datasets", type=int, default=DEFAULT_MAX_DATASETS)
    parser.add_argument("--budget", type=int, default=20)
    parser.add_argument("--no-flaml", action="store_true", help="Leave FLAML out.")
    parser.add_argument("--render-only", action="store_true", help="Re-render md/png from json.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # one INFO line per trial otherwise
    except ImportError:
        pass
    logging.getLogger("flaml").setLevel(logging.WARNING)  # an INFO line per zero-shot fit otherwise
    json_path = args.out / "live_pmlb.json"
    if args.render_only:
        report = json.loads(json_path.read_text())
    else:
        folder = args.data / "pmlb_datasets"
        if not (folder / "manifest.csv").is_file():
            parser.error(f"no {folder / 'manifest.csv'}: give --data or set METAKB_DATA")
        if not args.no_flaml and (why := flaml_missing()) is not None:
            parser.error(f"{why}; or pass --no-flaml")
        kb_tasks = KnowledgeBase(args.db).tasks(ALGORITHM)
        settings = LiveSettings(budget=args.budget, flaml=not args.no_flaml)
        manifest = add_class_counts(pd.read_csv(folder / "manifest.csv"), folder, settings)
        chosen, selection = select_datasets(
            manifest,
            kb_tasks,
            args.max_datasets,
            n_splits=settings.n_splits,
            max_rows=settings.max_rows,
        )

        def progress(name: str, done: int, total: int) -> None:
            log.info("%s done (%d/%d; %s)", name, done, total, _load())

        load_before = _load()
        command = prog + " " + " ".join(sys.argv[1:] if argv is None else argv)
        args.out.mkdir(parents=True, exist_ok=True)

        def save(report: dict[str, Any], *, partial: bool = True) -> None:
            report["selection"] = selection
            report["command"] = command
            report["load"] = f"before: {load_before}; after: {_load()}"
            report["partial"] = partial
            json_path.write_text(json.dumps(report, indent=2) + "\n")

        report = run_live(
            pmlb_tasks(folder, chosen, settings),
            args.db,
            settings,
            total=len(chosen),
            progress=progress,
            checkpoint=save,
        )
        save(report, partial=False)
    generated = render_markdown(report, report["command"], load=report.get("load", ""))
    write_page(
        args.out / "live_pmlb.md", generated, title=TITLE, plot=lambda png: plot_report(report, png)
    )
    log.info("wrote %s", args.out / "live_pmlb.md")
    return 0
