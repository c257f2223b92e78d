"""Leave-one-task-out zero-shot benchmark of the warm starters on the knowledge base.

Thin wrapper of ``metakb bench zeroshot`` (`metakb.bench.commands.zeroshot`); same options.
"""

from metakb.bench.suites import run_suite

if __name__ == "__main__":
    raise SystemExit(run_suite("zeroshot", prog="python pipelines/zeroshot.py"))
