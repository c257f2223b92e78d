"""Benchmarks: leave-one-task-out harnesses, metrics and systems measurements."""

from metakb.bench.metrics import expected_random_regret, normalized_regret, normalized_score
from metakb.bench.zeroshot import (
    ZEROSHOT_KS,
    ZEROSHOT_TABLES,
    Table,
    recommendation_latency,
    render_markdown,
    run_zeroshot,
    summarize,
    zeroshot_regret,
)

__all__ = [
    "ZEROSHOT_KS",
    "ZEROSHOT_TABLES",
    "Table",
    "expected_random_regret",
    "normalized_regret",
    "normalized_score",
    "recommendation_latency",
    "render_markdown",
    "run_zeroshot",
    "summarize",
    "zeroshot_regret",
]
