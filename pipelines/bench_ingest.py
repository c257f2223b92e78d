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

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=os.environ.get("METAKB_DATA"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
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


if __name__ == "__main__":
    raise SystemExit(main())
