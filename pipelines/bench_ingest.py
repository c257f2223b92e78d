"""Time the import of the published meta-datasets; write docs/benchmarks/ingest.{json,md}.

Thin wrapper of ``metakb bench ingest`` (`metakb.bench.commands.ingest`); same options.
"""

from metakb.bench.suites import run_suite

if __name__ == "__main__":
    raise SystemExit(run_suite("ingest", prog="python pipelines/bench_ingest.py"))
