"""Screenshot every page of the app over a knowledge base into docs/app/.

Usage: python pipelines/app_screenshots.py [--db PATH] [--task openml:31]
(needs Debian's chromium and playwright, both installed by .ci/run).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from metakb.appserver import PAGES, PageShot, running_app, screenshot_pages
from metakb.errors import MetakbError
from metakb.kb import KnowledgeBase

OUT = Path(__file__).resolve().parents[1] / "docs" / "app"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="knowledge base [$METAKB_DB or data/metakb.duckdb]")
    parser.add_argument("--task", default="openml:31", help="task shown on the task page")
    parser.add_argument(
        "--dataset",
        default="openml:37",
        help="knowledge-base dataset to recommend for and search on",
    )
    args = parser.parse_args()
    # The recommend and search pages shown at work: a dataset picked, the search run.
    pages = {
        **PAGES,
        "task": PageShot(f"task?task={args.task}", PAGES["task"].ready),
        "recommend": PageShot(f"recommend?dataset={args.dataset}", "text=Use it"),
        "search": PageShot(
            f"search?dataset={args.dataset}",
            "text=Run warm and cold search",
            click="text=Run warm and cold search",
            after_click="text=evaluations written to the knowledge base",
        ),
    }
    try:
        with running_app(KnowledgeBase(args.db).path) as url:
            shots = screenshot_pages(url, OUT, pages, timeout_s=300)
    except MetakbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, path in shots.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
