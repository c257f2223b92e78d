"""Transfer's zero-shot regret over a grid of its settings, and a setting chosen fairly.

Thin wrapper of ``metakb bench sensitivity`` (`metakb.bench.commands.sensitivity`); same options.
"""

from metakb.bench.suites import run_suite

if __name__ == "__main__":
    raise SystemExit(run_suite("sensitivity", prog="python pipelines/transfer_sensitivity.py"))
