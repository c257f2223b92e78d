"""Scriptable job: pull runs from OpenML into the knowledge base (resumable, incremental).

Usage: python pipelines/ingest_openml.py [--suite ID] [--task ID ...] [--flow ID ...]
       [--metric NAME] [--max-runs N] [--server URL] [--with-data] [--db PATH]
(the same as `metakb ingest openml`, for schedulers that run scripts; a rerun
continues after the last committed page and picks up new runs).
"""

from __future__ import annotations

import argparse
import logging
import sys

from metakb.errors import MetakbError
from metakb.kb import KnowledgeBase


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", help="benchmark suite id or alias (OpenML100 = 14)")
    parser.add_argument("--task", type=int, action="append", default=[], help="task id")
    parser.add_argument("--flow", type=int, action="append", default=[], help="flow id")
    parser.add_argument("--metric", default="predictive_accuracy")
    parser.add_argument("--max-runs", type=int, help="at most N evaluations per task")
    parser.add_argument("--server", help="OpenML API URL [$METAKB_OPENML_SERVER or openml.org]")
    parser.add_argument("--with-data", action="store_true", help="download the dataset files")
    parser.add_argument("--db", help="knowledge base file [$METAKB_DB or data/metakb.duckdb]")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        summary = KnowledgeBase(args.db).ingest_openml(
            suite=args.suite,
            tasks=args.task,
            flows=args.flow,
            metric=args.metric,
            max_runs=args.max_runs,
            server=args.server,
            with_data=args.with_data,
        )
    except (MetakbError, ValueError) as exc:
        logging.error("%s", exc)
        return 1
    logging.info("added %s; skipped %s", summary.added(), summary.skipped or "nothing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
