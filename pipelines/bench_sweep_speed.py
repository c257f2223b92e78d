"""Sweep throughput: metakb sweep's fits per CPU second against a plain cross_val_score loop.

Thin wrapper of ``metakb bench sweep-speed`` (`metakb.bench.commands.sweep_speed`); same options.
"""

from metakb.bench.suites import run_suite

if __name__ == "__main__":
    raise SystemExit(run_suite("sweep-speed", prog="python pipelines/bench_sweep_speed.py"))
