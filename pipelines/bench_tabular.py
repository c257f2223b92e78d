"""Tabular leave-one-task-out benchmark of cold, random and warm-started BO (issue #6).

Usage: python pipelines/bench_tabular.py --db KB.duckdb --algorithm random_forest|adaboost|svc|all
       [--out docs/benchmarks] [--workers 2] [--budget 100] [--seeds 5] [--max-tasks N]
Writes tabular_<algorithm>.json (every regret curve), .md and .png under --out.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from metakb.bench.loto import LotoSettings
from metakb.bench.render import write_loto_report
from metakb.bench.tabular import (
    MIN_RUNS,
    TABULAR_ALGORITHMS,
    constant_tasks_note,
    loto_report,
    run_tabular,
    wall_time_target,
)
from metakb.store import Store
from metakb.warmstart import load_meta_dataset

log = logging.getLogger("bench_tabular")

INTRO = (
    "Leave one task out on the OpenML100 runs of one flow (tasks with >= 100 runs, "
    "metric predictive_accuracy): each method searches the held-out task's evaluated "
    "configurations (a lookup table), and the held-out task's whole dataset group is "
    "removed from the knowledge base the meta-models are fitted on (once per held-out "
    "group, shared by all seeds). Regret is HPO-B's normalized regret of the best "
    "configuration found so far (0 = the task's best evaluated configuration, 1 = its "
    "worst). `random` is random search, `bo` cold Bayesian optimization "
    "(metakb.search.BayesianOptimization: random-forest surrogate + expected "
    "improvement, 5 random initial points, 10% random interleaving), `bo+<model>` the "
    "same BO with the model's top {n_warm} recommendations among the task's "
    "configurations evaluated first, and `bo+transfer+prior` lets transfer pick the "
    "first {n_warm_prior} configurations one at a time, each completing its portfolio "
    "given the values seen, with past tasks reweighted by how well they order them "
    "(metakb.search.AdaptiveWarmStart), then lead as BO's prior surrogate: reweighted "
    "the same way, its prediction the surrogate's mean function (shrinking as values "
    "accumulate), which BO's own forest corrects (what `metakb search --warm-start "
    "transfer` does). BO's surrogate has "
    "{n_trees} trees and is refitted whenever the observations "
    "have grown by {growth:.0%} since its last fit (BayesianOptimization's refit_growth). "
    "Searches stop once they have found the task's best configuration (their regret is 0 "
    "from then on)."
)

NOTES = [
    "## Notes",
    "",
    "- Searches run through metakb.bench.tabular.pool_search, which makes the same choices "
    "as BayesianOptimization / RandomSearch over the task's candidates with the same seed "
    "(tests/bench/test_tabular.py checks the trial sequences are identical) without their "
    "per-trial bookkeeping; held-out dataset groups run in a process pool.",
    "- `bo+transfer` and `bo+transfer+prior` make the same first two picks (with fewer "
    "than two values seen, transfer's weights are the meta-feature similarities).",
    "- How `bo+transfer+prior` works (5 adaptive picks, then the prior as BO's shrinking "
    "mean function) was chosen after trying variants on every third task of the "
    "random_forest and adaboost tables, so its figures carry some selection bias; the "
    "variants and their figures are in tabular_choices.md.",
    "- The best warm-started variant for the rank target is the one with the lowest mean "
    "rank averaged over budgets 1..100; 'first' means no other method, warm or not, has a "
    "lower mean rank at that budget.",
    "- The machine's 2 cores were shared with other jobs during the run (load averages "
    "above); wall times are not those of an idle machine. Seconds under Time are wall "
    "seconds inside the worker processes.",
    "",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--algorithm", choices=[*TABULAR_ALGORITHMS, "all"], default="all")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-warm", type=int, default=10)
    parser.add_argument("--max-tasks", type=int, default=None)
    parser.add_argument(
        "--render-only", action="store_true", help="Re-render md/png from --out's JSON."
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    command = "python pipelines/bench_tabular.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    algorithms = TABULAR_ALGORITHMS if args.algorithm == "all" else (args.algorithm,)
    settings = LotoSettings(budget=args.budget, seeds=tuple(range(args.seeds)), n_warm=args.n_warm)
    args.out.mkdir(parents=True, exist_ok=True)
    for algorithm in algorithms:
        path = args.out / f"tabular_{algorithm}"
        if args.render_only:
            report = json.loads(path.with_suffix(".json").read_text())
            # Reports written before the time target was recorded carry the wall time only.
            report["targets"].setdefault(
                "wall_time", wall_time_target(report["timing"]["wall_seconds"])
            )
        else:
            data = load_meta_dataset(Store(args.db), algorithm, min_configs=MIN_RUNS)
            ids = list(data.task_ids)[: args.max_tasks] if args.max_tasks else None

            def progress(description: str, done: int, total: int) -> None:
                if done % 10 == 0 or done == total:
                    log.info("%s %d/%d", description, done, total)

            before = os.getloadavg()
            result = run_tabular(
                data, settings, workers=args.workers, task_ids=ids, progress=progress
            )
            load = [*before, *os.getloadavg()]
            report = loto_report(data, result, settings, workers=args.workers, load=load)
            report["command"] = command
            path.with_suffix(".json").write_text(json.dumps(report) + "\n")
        intro = INTRO.format(
            n_warm=report["settings"]["n_warm"],
            n_warm_prior=report["settings"].get("n_warm_prior", report["settings"]["n_warm"]),
            n_trees=report["settings"]["bo"]["n_trees"],
            growth=report["settings"]["bo"]["refit_growth"],
        )
        title = f"Tabular warm-started search: {report['algorithm']} ({report['flow_id']})"
        notes = [*NOTES[:-1], *constant_tasks_note(report), ""]
        write_loto_report(report, path, title=title, intro=intro, extra=notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
