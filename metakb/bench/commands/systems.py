"""Systems benchmark: fit time, peak memory, recommendation latency at 10k, 100k and 1M evaluations.

Usage: python pipelines/bench_systems.py --db KB.duckdb [--out docs/benchmarks] [--sizes ...]
The sizes are synthetic scale-ups of the knowledge base's TabRepo LightGBM table.
Writes systems.json, systems.md and (with matplotlib) systems.png under --out;
the Markdown cites --out's ingest.json (pipelines/bench_ingest.py) and
metafeatures_speed.json (pipelines/bench_metafeatures.py) when they exist.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from metakb.bench.render import write_page
from metakb.bench.systems import (
    SYSTEM_SIZES,
    TITLE,
    plot_systems,
    render_systems_markdown,
    run_systems,
)
from metakb.kb import KnowledgeBase

log = logging.getLogger("bench_systems")


def _cited(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def main(argv: list[str] | None = None, prog: str = "python pipelines/bench_systems.py") -> int:
    """Parse ``argv`` (this module's options), run the suite and write its report; return 0.

    ``prog`` is how the suite was invoked, recorded as the report's command.
    """
    parser = argparse.ArgumentParser(prog=prog or None, description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--algorithm", default="lightgbm")
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SYSTEM_SIZES))
    parser.add_argument("--methods", nargs="*", default=None)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--e2e-calls", type=int, default=20)
    parser.add_argument(
        "--render-only", action="store_true", help="Re-render md/png from --out's systems.json."
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.render_only:
        report = json.loads((args.out / "systems.json").read_text())
        command = report["command"]
    else:
        if args.db is None:
            parser.error("--db is required unless --render-only")
        base = KnowledgeBase(args.db).meta_dataset(args.algorithm, min_configs=1)
        report = run_systems(
            base,
            args.sizes,
            args.methods,
            queries=args.queries,
            e2e_calls=args.e2e_calls,
            progress=lambda description, done, total: log.info(
                "%s (%d/%d)", description, done, total
            ),
        )
        command = prog + " " + " ".join(sys.argv[1:] if argv is None else argv)
        report["command"] = command
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "systems.json").write_text(json.dumps(report, indent=2) + "\n")
    generated = render_systems_markdown(
        report,
        command,
        ingest=_cited(args.out / "ingest.json"),
        metafeatures=_cited(args.out / "metafeatures_speed.json"),
    )
    write_page(
        args.out / "systems.md", generated, title=TITLE, plot=lambda png: plot_systems(report, png)
    )
    log.info("wrote %s", args.out / "systems.md")
    return 0
