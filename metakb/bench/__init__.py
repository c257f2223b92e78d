"""Benchmarks: leave-one-task-out harnesses, metrics and systems measurements."""

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
