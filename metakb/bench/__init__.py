"""Benchmarks: one metric, one leave-one-task-out harness, one module per suite.

- `metakb.bench.metrics`: the normalized score and regret (HPO-B's) and the
  statistics of regret curves, used by every suite;
- `metakb.bench.loto`: the group-aware leave-one-task-out harness of the search suites;
- `metakb.bench.peers`: adapters for Optuna, SMAC3 and FLAML;
- suites (each returns a JSON-able report): `tabular`, `tabular_peers`,
  `zeroshot`, `portfolios`, `sensitivity`, `live`, `metafeatures`, `systems`, `ingest`;
- `metakb.bench.render`: the Markdown tables and plots of search reports, written
  between markers of the hand-written pages in ``docs/benchmarks/``;
- `metakb.bench.suites`: the registry ``metakb bench SUITE`` runs
  (command lines in `metakb.bench.commands`).
"""

from metakb.bench.metrics import expected_random_regret, normalized_regret, normalized_score
from metakb.bench.zeroshot import (
    ZEROSHOT_KS,
    ZEROSHOT_TABLES,
    Table,
    recommendation_latency,
    render_markdown,
    run_zeroshot,
    summarize,
    zeroshot_regret,
)

__all__ = [
    "ZEROSHOT_KS",
    "ZEROSHOT_TABLES",
    "Table",
    "expected_random_regret",
    "normalized_regret",
    "normalized_score",
    "recommendation_latency",
    "render_markdown",
    "run_zeroshot",
    "summarize",
    "zeroshot_regret",
]
