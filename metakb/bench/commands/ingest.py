"""Time the import of the published meta-datasets; write docs/benchmarks/ingest.{json,md}.

Usage: METAKB_DATA=../shared/data python pipelines/bench_ingest.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from metakb.bench.ingest import ingest_markdown, measure_ingest

OUT = Path(__file__).resolve().parents[3] / "docs" / "benchmarks"


def main(argv: list[str] | None = None, prog: str = "") -> int:
    """Parse ``argv`` (this module's options), run the suite and write its report; return 0.

    ``prog`` is how the suite was invoked, recorded as the report's command.
    """
    parser = argparse.ArgumentParser(prog=prog or None, description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=os.environ.get("METAKB_DATA"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if not args.data_dir:
        print("error: pass the data folder or set METAKB_DATA", file=sys.stderr)
        return 1
    result = measure_ingest(args.data_dir, repeats=args.repeats)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "ingest.json").write_text(json.dumps(result, indent=2) + "\n")
    report = ingest_markdown(result)
    (OUT / "ingest.md").write_text(report)
    print(report)
    return 0
