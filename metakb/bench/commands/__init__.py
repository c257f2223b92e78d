"""The benchmark suites' command lines: one module per suite, each with ``main(argv, prog)``.

They parse options, run a suite of `metakb.bench` and write its JSON and page;
`metakb.bench.suites` maps suite names to them for ``metakb bench SUITE``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable


def log_progress(log: logging.Logger, every: int = 10) -> Callable[[str, int, int], None]:
    """Return ``progress(description, done, total)`` logging every ``every`` steps and the last."""

    def progress(description: str, done: int, total: int) -> None:
        if done % every == 0 or done == total:
            log.info("%s %d/%d", description, done, total)

    return progress
