"""Meta-feature benchmarks: speed (vs pymfe) and parity with OpenML's qualities.

Writes docs/benchmarks/metafeatures_{speed,parity}.{json,md} and metafeatures_speed.png.

Usage: METAKB_DATA=../shared/data python pipelines/bench_metafeatures.py [--jobs 2]
       [--pymfe-datasets 30] [--pymfe-timeout 30] [--previous OLD_PARITY.json]
       [--out docs/benchmarks] [--render-only]
Needs the `bench` extra (pip install -e ".[bench]").
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from metakb.bench.metafeatures import (
    PARITY_TITLE,
    SPEED_TITLE,
    measure_speed,
    parity_markdown,
    parity_report,
    plot_speed,
    speed_markdown,
)
from metakb.bench.render import fill_page

OUT = Path(__file__).resolve().parents[3] / "docs" / "benchmarks"


def main(argv: list[str] | None = None, prog: str = "") -> int:
    """Parse ``argv`` (this module's options), run the suite and write its report; return 0.

    ``prog`` is how the suite was invoked, recorded as the report's command.
    """
    parser = argparse.ArgumentParser(prog=prog or None, description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=os.environ.get("METAKB_DATA"))
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--pymfe-datasets", type=int, default=30)
    parser.add_argument("--pymfe-timeout", type=float, default=30.0)
    parser.add_argument(
        "--previous", type=Path, help="an earlier parity JSON to show landmarkers against"
    )
    parser.add_argument(
        "--render-only", action="store_true", help="Re-render md/png from --out's json."
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    if args.render_only:
        speed = json.loads((out / "metafeatures_speed.json").read_text())
        parity = json.loads((out / "metafeatures_parity.json").read_text())
    else:
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
        out.mkdir(parents=True, exist_ok=True)
        (out / "metafeatures_speed.json").write_text(json.dumps(speed, indent=2) + "\n")
        (out / "metafeatures_parity.json").write_text(json.dumps(parity, indent=2) + "\n")
    previous = json.loads(args.previous.read_text()) if args.previous else None
    fill_page(out / "metafeatures_speed.md", speed_markdown(speed), title=SPEED_TITLE)
    fill_page(out / "metafeatures_parity.md", parity_markdown(parity, previous), title=PARITY_TITLE)
    try:
        plot_speed(speed, out / "metafeatures_speed.png")
    except ImportError:
        print("matplotlib not installed: no plot (pip install metakb[bench])", file=sys.stderr)
    print(f"wrote {out / 'metafeatures_speed.md'} and {out / 'metafeatures_parity.md'}")
    return 0
