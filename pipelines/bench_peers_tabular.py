"""Warm-started BO against Optuna TPE and SMAC3 on per-task surrogate benchmarks (issue #7 item 1).

Thin wrapper of ``metakb bench peers-tabular`` (`metakb.bench.commands.peers_tabular`);
same options.
"""

from metakb.bench.suites import run_suite

if __name__ == "__main__":
    raise SystemExit(run_suite("peers-tabular", prog="python pipelines/bench_peers_tabular.py"))
