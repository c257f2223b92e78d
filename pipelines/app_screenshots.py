"""Screenshot every page of the app over a knowledge base into docs/app/.

Usage: python pipelines/app_screenshots.py [--db PATH] [--task openml:31]
(needs Debian's chromium and playwright, both installed by .ci/run).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from metakb.appserver import running_app, screenshot_pages
from metakb.errors import MetakbError
from metakb.store import Store

OUT = Path(__file__).resolve().parents[1] / "docs" / "app"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="knowledge base [$METAKB_DB or data/metakb.duckdb]")
    parser.add_argument("--task", default="openml:31", help="task shown on the task page")
    args = parser.parse_args()
    try:
        with running_app(Store(args.db)) as url:
            shots = screenshot_pages(url, OUT, query=f"task={args.task}")
    except MetakbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, path in shots.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
