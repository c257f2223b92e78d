"""Benchmarks: leave-one-task-out measurement of warm starters."""

from metakb.bench.zeroshot import (
    ZEROSHOT_KS,
    expected_random_regret,
    recommendation_latency,
    zeroshot_regret,
)

__all__ = [
    "ZEROSHOT_KS",
    "expected_random_regret",
    "recommendation_latency",
    "zeroshot_regret",
]
