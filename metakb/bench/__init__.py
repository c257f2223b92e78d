"""Benchmarks: leave-one-task-out harnesses, metrics and systems measurements."""
