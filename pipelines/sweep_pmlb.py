"""Grow the knowledge base: sweep LightGBM and RandomForest over PMLB, held-out tables left out.

Usage: ``python pipelines/sweep_pmlb.py --db KB [--data ../shared/data] [--algorithm A ...]``.
Resumable: rerun the same command after an interruption. The shipped
meta-dataset is then written by ``pipelines/build_metadataset.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from metakb.bench.holdout import HOLDOUT
from metakb.cli import main


def run(argv: list[str] | None = None) -> int:
    """Run ``metakb sweep --resume`` for each algorithm over the PMLB folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--data", default=os.environ.get("METAKB_DATA", "../shared/data"))
    parser.add_argument("--algorithm", action="append", default=None)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    folder = Path(args.data) / "pmlb_datasets"
    excluded = [arg for name in HOLDOUT for arg in ("--exclude", name)]
    # Regression first: its tables are cheaper to fit, and a partial sweep then
    # still covers both task types.
    for algorithm in args.algorithm or ["lightgbm", "random_forest"]:
        for task_type in ("regression", "classification"):
            sweep = ["sweep", "--datasets", str(folder), "-a", algorithm, "--db", args.db]
            options = ["--task-type", task_type, "--workers", str(args.workers), "--resume"]
            code = main([*sweep, *options, *excluded])
            if code:
                return code
    return 0


if __name__ == "__main__":
    sys.exit(run())
