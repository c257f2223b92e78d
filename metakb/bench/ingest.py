"""Systems benchmark: how fast the published meta-datasets import into a fresh knowledge base."""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from metakb.bench._machine import format_load, load_average
from metakb.sources.published import import_published
from metakb.store import Store


def measure_ingest(data_dir: str | Path, *, repeats: int = 3) -> dict[str, Any]:
    """Import ``data_dir`` into a new knowledge base ``repeats`` times and time it.

    Each repetition starts from an empty file in a temporary folder; the second
    import into the same file (which must add nothing) is timed as well.

    Returns
    -------
    dict
        Wall seconds per repetition, their median, rows added, evaluations per
        second, and the idempotent re-import time.
    """
    if repeats < 1:
        raise ValueError("repeats must be at least 1")
    runs: list[float] = []
    cpu: list[float] = []
    reimport: list[float] = []
    added: dict[str, int] = {}
    load = load_average()
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "bench.duckdb")
            start = time.process_time()
            first = import_published(store, data_dir)
            # CPU seconds of every thread of the process (DuckDB's included): on a
            # machine shared with other jobs, wall time also measures their load.
            cpu.append(time.process_time() - start)
            second = import_published(store, data_dir)
        runs.append(first.seconds)
        reimport.append(second.seconds)
        added = first.added()
        if sum(second.added().values()):
            raise RuntimeError("re-import added rows: the import is not idempotent")
    median = statistics.median(runs)
    return {
        "data_dir": str(data_dir),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "repeats": repeats,
        "seconds": runs,
        "median_seconds": median,
        "cpu_seconds": cpu,
        "load_average": load,
        "reimport_median_seconds": statistics.median(reimport),
        "added": added,
        "evaluations_per_second": added.get("evaluations", 0) / median if median else None,
    }


def ingest_markdown(result: dict[str, Any]) -> str:
    """Render :func:`measure_ingest`'s result as a Markdown report."""
    added = result["added"]
    lines = [
        "# Ingest benchmark: published meta-datasets",
        "",
        "Command: `python pipelines/bench_ingest.py` (data folder from `$METAKB_DATA`).",
        "",
        f"Machine: {result['machine']}; {result['repeats']} fresh imports; load average "
        f"when started: {format_load(result.get('load_average'))} (the machine is shared).",
        "",
        "| figure | value |",
        "|---|---|",
        f"| median wall time, fresh knowledge base | {result['median_seconds']:.2f} s |",
        f"| all runs | {', '.join(f'{s:.2f}' for s in result['seconds'])} s |",
        f"| re-import (adds nothing) | {result['reimport_median_seconds']:.2f} s |",
        f"| evaluations imported | {added.get('evaluations', 0):,} |",
        f"| evaluations per second | {result['evaluations_per_second']:,.0f} |",
        f"| process CPU seconds (all threads), median | {_median(result.get('cpu_seconds'))} |",
        f"| evaluations per CPU second (less sensitive to the machine's load) | "
        f"{_per_cpu_second(result)} |",
        f"| configurations | {added.get('configs', 0):,} |",
        f"| meta-feature values | {added.get('meta_features', 0):,} |",
        f"| datasets / tasks | {added.get('datasets', 0):,} / {added.get('tasks', 0):,} |",
        "",
        "Wall time includes reading and validating every file, canonicalizing and hashing",
        "each configuration, and one transaction per file.",
        "",
    ]
    return "\n".join(lines)


def _median(values: list[float] | None) -> str:
    return f"{statistics.median(values):.2f} s" if values else "unknown"


def _per_cpu_second(result: dict[str, Any]) -> str:
    cpu = result.get("cpu_seconds")
    if not cpu:
        return "unknown"
    return f"{result['added'].get('evaluations', 0) / statistics.median(cpu):,.0f}"
