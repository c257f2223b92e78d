"""Meta-feature benchmarks: speed (vs pymfe) and parity with OpenML's qualities.

Writes docs/benchmarks/metafeatures_{speed,parity}.{json,md} and metafeatures_speed.png.

Usage: METAKB_DATA=../shared/data python pipelines/bench_metafeatures.py [--jobs 2]
       [--pymfe-datasets 30] [--pymfe-timeout 30] [--previous OLD_PARITY.json]
Needs the `bench` extra (pip install -e ".[bench]").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from metakb.bench.metafeatures import (
    measure_speed,
    parity_markdown,
    parity_report,
    plot_speed,
    speed_markdown,
)

OUT = Path(__file__).resolve().parents[3] / "docs" / "benchmarks"


def main(argv: list[str] | None = None, prog: str = "") -> int:
    """Parse ``argv`` (this module's options), run the suite and write its report; return 0.

    ``prog`` is how the suite was invoked, recorded as the report's command.
    """
    parser = argparse.ArgumentParser(prog=prog or None, description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=os.environ.get("METAKB_DATA"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--pymfe-datasets", type=int, default=30)
    parser.add_argument("--pymfe-timeout", type=float, default=30.0)
    parser.add_argument(
        "--previous", type=Path, help="an earlier parity JSON to show landmarkers against"
    )
    args = parser.parse_args(argv)
    if not args.data_dir:
        print("error: pass the data folder or set METAKB_DATA", file=sys.stderr)
        return 1
    speed, results = measure_speed(
        args.data_dir,
        n_jobs=args.jobs,
        pymfe_datasets=args.pymfe_datasets,
        pymfe_timeout_s=args.pymfe_timeout,
        progress=lambda message: print(message, file=sys.stderr),
    )
    parity = parity_report(args.data_dir, results)
    previous = json.loads(args.previous.read_text()) if args.previous else None
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "metafeatures_speed.json").write_text(json.dumps(speed, indent=2) + "\n")
    (OUT / "metafeatures_parity.json").write_text(json.dumps(parity, indent=2) + "\n")
    (OUT / "metafeatures_speed.md").write_text(speed_markdown(speed))
    (OUT / "metafeatures_parity.md").write_text(parity_markdown(parity, previous))
    plot_speed(speed, OUT / "metafeatures_speed.png")
    print(speed_markdown(speed))
    print(parity_markdown(parity, previous))
    return 0
