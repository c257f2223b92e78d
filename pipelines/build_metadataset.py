"""Scriptable job: export the knowledge base's sweep results as the shipped meta-dataset.

Usage: python pipelines/build_metadataset.py [--db PATH] [--out data/metadataset]
[--provenance sweep:]
(run after `metakb sweep`; commit the folder's files with its README).
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys

from metakb.errors import MetakbError
from metakb.kb import KnowledgeBase


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="knowledge base file [$METAKB_DB or data/metakb.duckdb]")
    parser.add_argument(
        "--out", default="data/metadataset", help="folder to write [data/metadataset]"
    )
    parser.add_argument(
        "--provenance", default="sweep:", help="export evaluations whose provenance starts so"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    # The command as typed, so the manifest says how to regenerate the files.
    given = sys.argv[1:] if argv is None else argv
    command = shlex.join(["python", "pipelines/build_metadataset.py", *given])
    try:
        manifest = KnowledgeBase(args.db).export_metadataset(
            args.out, provenance_prefix=args.provenance, command=command
        )
    except MetakbError as exc:
        logging.error("%s", exc)
        return 1
    logging.info("wrote %s to %s", manifest.rows(), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
