"""Systems benchmark: fit time, peak memory, recommendation latency at 10k, 100k and 1M evaluations.

Thin wrapper of ``metakb bench systems`` (`metakb.bench.commands.systems`); same options.
"""

from metakb.bench.suites import run_suite

if __name__ == "__main__":
    raise SystemExit(run_suite("systems", prog="python pipelines/bench_systems.py"))
