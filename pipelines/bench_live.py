"""Live benchmark: real LightGBM fits on PMLB datasets the knowledge base does not hold.

Thin wrapper of ``metakb bench live`` (`metakb.bench.commands.live`); same options.
"""

from metakb.bench.suites import run_suite

if __name__ == "__main__":
    raise SystemExit(run_suite("live", prog="python pipelines/bench_live.py"))
