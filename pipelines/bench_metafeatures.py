"""Meta-feature benchmarks: speed (vs pymfe) and parity with OpenML's qualities.

Thin wrapper of ``metakb bench metafeatures`` (`metakb.bench.commands.metafeatures`); same options.
"""

from metakb.bench.suites import run_suite

if __name__ == "__main__":
    raise SystemExit(run_suite("metafeatures", prog="python pipelines/bench_metafeatures.py"))
