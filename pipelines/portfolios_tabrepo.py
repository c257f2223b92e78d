"""Leave-one-task-out portfolios on TabRepo LightGBM: metakb against TabRepo-style zero-shot.

Thin wrapper of ``metakb bench portfolios`` (`metakb.bench.commands.portfolios`); same options.
"""

from metakb.bench.suites import run_suite

if __name__ == "__main__":
    raise SystemExit(run_suite("portfolios", prog="python pipelines/portfolios_tabrepo.py"))
