"""Scriptable job: import the published meta-datasets into the knowledge base.

Usage: python pipelines/ingest_published.py [DATA_DIR] [--db PATH]
(the same as `metakb ingest published`, for schedulers that run scripts).
"""

from __future__ import annotations

import argparse
import logging
import sys

from metakb.errors import MetakbError
from metakb.kb import KnowledgeBase


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", help="published data folder [$METAKB_DATA]")
    parser.add_argument("--db", help="knowledge base file [$METAKB_DB or data/metakb.duckdb]")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        summary = KnowledgeBase(args.db).ingest_published(args.data_dir)
    except MetakbError as exc:
        logging.error("%s", exc)
        return 1
    logging.info("added %s in %.1f s", summary.added(), summary.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
