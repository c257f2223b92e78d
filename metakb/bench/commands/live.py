"""Live benchmark: real LightGBM fits on the held-out PMLB tables, classification and regression.

Usage: python pipelines/bench_live.py --db KB.duckdb [--out docs/benchmarks] [--data SHARED_DATA]
    [--task-type classification|regression|both] [--methods M ...] [--budget 20]
    [--tpe-budget 50] [--tables NAME ...] [--no-flaml] [--restart] [--render-only]
Writes live_pmlb.{json,md,png} (classification) and live_pmlb_regression.{json,md,png}
under --out, and appends every (table, method) result to live_pmlb*.jsonl there as it
finishes: a rerun skips what is done. The knowledge base is only read.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from metakb.bench._machine import format_load, load_average
from metakb.bench.live import (
    DEFAULT_METHODS,
    HOLDOUT,
    PAGES,
    TASK_TYPES,
    TITLES,
    LiveSettings,
    ResultLog,
    holdout_tasks,
    plot_report,
    render_markdown,
    run_live,
)
from metakb.bench.lodo import parse_method
from metakb.bench.peers import flaml_missing
from metakb.bench.render import write_page

log = logging.getLogger("bench_live")


def _load() -> str:
    return f"load average {format_load(load_average())} on {os.cpu_count()} cores"


def _method(text: str) -> str:
    try:
        parse_method(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def main(argv: list[str] | None = None, prog: str = "python pipelines/bench_live.py") -> int:
    """Parse ``argv`` (this module's options), run the suite and write its reports; return 0.

    ``prog`` is how the suite was invoked, recorded as the report's command.
    """
    parser = argparse.ArgumentParser(prog=prog or None, description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("METAKB_DATA", "")))
    parser.add_argument("--task-type", choices=[*TASK_TYPES, "both"], default="both")
    parser.add_argument(
        "--methods",
        nargs="+",
        type=_method,
        default=list(DEFAULT_METHODS),
        help="Methods whose top-1 is measured: a warm starter, or one weighed against the "
        "library default (STARTER+default, STARTER+default@MARGIN). The first is judged by "
        f"the targets (default: {' '.join(DEFAULT_METHODS)}).",
    )
    parser.add_argument("--budget", type=int, default=20, help="Fits of metakb's warm BO.")
    parser.add_argument("--tpe-budget", type=int, default=50, help="Fits of Optuna's TPE.")
    parser.add_argument(
        "--tables", nargs="+", default=None, help="Only these held-out tables (a smoke run)."
    )
    parser.add_argument(
        "--max-rounds", type=int, default=None, help="Cap boosting rounds (smoke runs only)."
    )
    parser.add_argument("--no-flaml", action="store_true", help="Leave FLAML out.")
    parser.add_argument(
        "--restart", action="store_true", help="Discard the result logs and measure afresh."
    )
    parser.add_argument("--render-only", action="store_true", help="Re-render md/png from json.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)  # one INFO line per trial otherwise
    except ImportError:
        pass
    logging.getLogger("flaml").setLevel(logging.WARNING)  # an INFO line per zero-shot fit otherwise
    task_types = list(TASK_TYPES) if args.task_type == "both" else [args.task_type]
    if not args.render_only:
        if args.db is None:
            parser.error("--db is required unless --render-only")
        if not (args.data / "pmlb_datasets" / "manifest.csv").is_file():
            parser.error(
                f"no {args.data / 'pmlb_datasets' / 'manifest.csv'}: give --data or set METAKB_DATA"
            )
        if not args.no_flaml and (why := flaml_missing()) is not None:
            parser.error(f"{why}; or pass --no-flaml")
        if args.tables:
            known = {n for t in task_types for n in HOLDOUT[t]}
            if unknown := sorted(set(args.tables) - known):
                parser.error(
                    f"not held-out tables of {', '.join(task_types)}: {', '.join(unknown)}"
                )
    command = prog + " " + " ".join(sys.argv[1:] if argv is None else argv)
    for task_type in task_types:
        json_path = args.out / f"{PAGES[task_type]}.json"
        if args.render_only:
            if not json_path.is_file():
                log.info("no %s: nothing to render", json_path)
                continue
            report = json.loads(json_path.read_text())
        else:
            report = _run(args, task_type, command)
            if report is None:
                continue
            json_path.write_text(json.dumps(report, indent=2) + "\n")
        page = args.out / f"{PAGES[task_type]}.md"
        generated = render_markdown(report, report["command"], load=report.get("load", ""))
        write_page(
            page,
            generated,
            title=TITLES[task_type],
            plot=functools.partial(plot_report, report),
        )
        log.info("wrote %s", page)
    return 0


def _run(args: argparse.Namespace, task_type: str, command: str) -> dict[str, Any] | None:
    settings = LiveSettings(
        task_type=task_type,  # type: ignore[arg-type]
        methods=tuple(args.methods),
        budget=args.budget,
        tpe_budget=args.tpe_budget,
        flaml=not args.no_flaml,
        max_rounds=args.max_rounds,
    )
    names = [n for n in HOLDOUT[task_type] if args.tables is None or n in args.tables]
    if not names:
        return None
    results = ResultLog(args.out / f"{PAGES[task_type]}.jsonl")
    if args.restart and results.path.exists():
        results.path.unlink()
    load_before = _load()

    def progress(name: str, done: int, total: int) -> None:
        log.info("%s %s done (%d/%d; %s)", task_type, name, done, total, _load())

    args.out.mkdir(parents=True, exist_ok=True)
    report = run_live(
        holdout_tasks(args.data / "pmlb_datasets", settings, names),
        args.db,
        settings,
        results=results,
        total=len(names),
        progress=progress,
    )
    report["selection"] = {
        "rule": (
            f"the frozen held-out PMLB {task_type} tables of `metakb.bench.holdout` "
            "(the sweep excludes them, so no knowledge-base evaluation, setting or model has "
            "seen them)" + ("" if args.tables is None else "; this run only some of them")
        ),
        "chosen": names,
    }
    report["command"] = command
    report["load"] = f"before: {load_before}; after: {_load()}"
    log.info("%s: %d results reused from %s", task_type, report["reused"], results.path)
    return report
