"""Tabular leave-one-task-out benchmark of cold, random and warm-started BO (issue #6).

Thin wrapper of ``metakb bench tabular`` (`metakb.bench.commands.tabular`); same options.
"""

from metakb.bench.suites import run_suite

if __name__ == "__main__":
    raise SystemExit(run_suite("tabular", prog="python pipelines/bench_tabular.py"))
