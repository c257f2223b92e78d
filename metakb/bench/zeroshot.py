"""Leave-one-task-out zero-shot regret of warm starters, with random, default and oracle baselines.

For every task of a :class:`~metakb.models.MetaDataset` the task's whole
dataset group is held out, each method is fitted on the rest and asked for
``k`` configurations among the held-out task's own evaluated configurations
(their values hidden), and the normalized regret of the best of its top
``k`` is recorded: ``1 - (best of top k - task min) / (task max - task min)``
(HPO-B's definition; 0 = the task's best configuration).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metakb.bench.metrics import expected_random_regret, regret_of_picks, task_scores
from metakb.configs import canonical_json
from metakb.models import MetaDataset, TaskData, TaskQuery, WarmStarter

log = logging.getLogger(__name__)

TITLE = "Zero-shot warm-start quality (leave one task out)"
"""The page's title (`metakb.bench.render.fill_page`)."""

ZEROSHOT_KS: tuple[int, ...] = (1, 3, 5, 10)

Progress = Callable[[str, int, int], None]


def _default_regret(task: TaskData, default_x: np.ndarray) -> float:
    # The default configuration is rarely among a task's random-search points:
    # take the evaluated configuration nearest to it in the encoded space.
    i = int(np.argmin(((task.X - default_x) ** 2).sum(axis=1)))
    return regret_of_picks(task.y, [i])


def zeroshot_regret(
    data: MetaDataset,
    methods: Mapping[str, Callable[[], WarmStarter]],
    ks: Sequence[int] = ZEROSHOT_KS,
    *,
    task_ids: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Measure zero-shot regret leave-one-task-out.

    Parameters
    ----------
    data : MetaDataset
        The table to measure on.
    methods : mapping of str to callable
        Method name -> factory returning an unfitted warm starter.
    ks : sequence of int
        Numbers of recommendations to score.
    task_ids : sequence of str, optional
        Tasks to hold out (default: every task).
    progress : callable, optional
        ``progress(description, done, total)``.

    Returns
    -------
    pandas.DataFrame
        One row per held-out task, method and k: task_id, method, k, regret,
        plus ``fit_s`` and ``recommend_s`` for the methods. Baselines are the
        methods ``random`` (expected regret of k random configurations),
        ``default`` and ``oracle``.
    """
    ids = list(task_ids) if task_ids is not None else list(data.task_ids)
    default_x = data.space.encode(data.space.default())
    k_max = max(ks)
    rows: list[dict[str, object]] = []
    for done, task_id in enumerate(ids):
        train, held = data.split_out(task_id)
        query = TaskQuery(
            meta_features=data.meta_features_of(task_id),
            candidates=held.configs,
            task_id=task_id,
        )
        position = {canonical_json(c): i for i, c in enumerate(held.configs)}
        for k in ks:
            rows.append(_row(task_id, "random", k, expected_random_regret(task_scores(held.y), k)))
            rows.append(_row(task_id, "default", k, _default_regret(held, default_x)))
            rows.append(_row(task_id, "oracle", k, 0.0))
        for name, factory in methods.items():
            t0 = time.perf_counter()
            model = factory().fit(train)
            t1 = time.perf_counter()
            recs = model.recommend(query, k_max)
            t2 = time.perf_counter()
            picked = [position[canonical_json(r.config)] for r in recs]
            for k in ks:
                top = picked[:k]
                regret = regret_of_picks(held.y, top)
                rows.append(_row(task_id, name, k, regret, fit_s=t1 - t0, recommend_s=t2 - t1))
        if progress is not None:
            progress(f"{data.space.name}: leave one task out", done + 1, len(ids))
    return pd.DataFrame(rows)


def _row(task_id: str, method: str, k: int, regret: float, **extra: float) -> dict[str, object]:
    return {"task_id": task_id, "method": method, "k": k, "regret": regret, **extra}


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Return mean regret (and its standard error) per method and k, methods as rows."""
    grouped = results.groupby(["method", "k"])["regret"]
    out = pd.DataFrame({"mean": grouped.mean(), "sem": grouped.sem(), "tasks": grouped.size()})
    return out.reset_index()


def recommendation_latency(
    model: WarmStarter,
    queries: Sequence[TaskQuery],
    k: int = 10,
    *,
    repeats: int = 3,
) -> dict[str, float]:
    """Return p50 / p95 / max latency in milliseconds of ``model.recommend`` over ``queries``."""
    times = []
    for _ in range(repeats):
        for query in queries:
            t0 = time.perf_counter()
            model.recommend(query, k)
            times.append((time.perf_counter() - t0) * 1000.0)
    return latency_summary(times)


def latency_summary(times_ms: Sequence[float]) -> dict[str, float]:
    """Return p50 / p95 / max of latencies in milliseconds, and how many (NaN when none)."""
    arr = np.asarray(times_ms, dtype=float)
    if not len(arr):
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "max_ms": float("nan"), "calls": 0}
    return {
        "p50_ms": float(np.percentile(arr, 50)),
        "p95_ms": float(np.percentile(arr, 95)),
        "max_ms": float(arr.max()),
        "calls": len(arr),
    }


@dataclass(frozen=True)
class Table:
    """One table of the zero-shot benchmark."""

    algorithm: str
    min_configs: int = 100
    metric: str | None = None


ZEROSHOT_TABLES: tuple[Table, ...] = (
    Table("random_forest"),
    Table("adaboost"),
    Table("svc"),
    Table("lightgbm"),
)


def run_zeroshot(
    load: Callable[[Table], MetaDataset],
    tables: Sequence[Table] = ZEROSHOT_TABLES,
    methods: Mapping[str, Callable[[], WarmStarter]] | None = None,
    ks: Sequence[int] = ZEROSHOT_KS,
    *,
    max_tasks: int | None = None,
    latency_queries: int = 30,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the leave-one-task-out benchmark on several tables and collect a JSON-able report.

    Parameters
    ----------
    load : callable
        Returns the MetaDataset of a table (e.g. from the knowledge base).
    tables : sequence of Table
        What to measure.
    methods : mapping, optional
        Method name -> factory (default: every warm starter with seed 0).
    ks : sequence of int
        Numbers of recommendations.
    max_tasks : int, optional
        Hold out only the first tasks (for smoke runs).
    latency_queries : int
        How many tasks' meta-features to time ``recommend`` on (models fitted on all tasks).
    progress : callable, optional
        ``progress(description, done, total)``.

    Returns
    -------
    dict
        ``tables``: per table its size, the mean regret and standard error per
        method and k, training time and recommendation latency per method.
    """
    from metakb.models import WARM_STARTERS

    factories = methods or {name: partial(f, seed=0) for name, f in WARM_STARTERS.items()}
    report: dict[str, Any] = {"ks": list(ks), "tables": []}
    for table in tables:
        data = load(table)
        ids = list(data.task_ids)[:max_tasks] if max_tasks else None
        t0 = time.perf_counter()
        results = zeroshot_regret(data, factories, ks, task_ids=ids, progress=progress)
        summary = summarize(results)
        entry: dict[str, Any] = {
            "algorithm": data.space.name,
            "flow_id": data.flow_id,
            "metric": data.metric,
            "tasks": int(results["task_id"].nunique()),
            "min_configs": table.min_configs,
            "configs_per_task_median": float(np.median([len(t.y) for t in data.tasks])),
            "benchmark_seconds": round(time.perf_counter() - t0, 1),
            # Timings are only comparable at a known machine load.
            "load_average_1min": round(os.getloadavg()[0], 2),
            "regret": _regret_table(summary),
            **serving_costs(data, factories, latency_queries),
        }
        report["tables"].append(entry)
    return report


def serving_costs(
    data: MetaDataset, factories: Mapping[str, Callable[[], WarmStarter]], latency_queries: int
) -> dict[str, dict[str, Any]]:
    """Return ``train_seconds`` and ``latency_ms`` per method, each model fitted on all of ``data``.

    Latency is ``recommend`` without candidates (serving) for the first
    ``latency_queries`` tasks' meta-features, k = 10.
    """
    queries = [
        TaskQuery(meta_features=data.meta_features_of(t), task_id=t)
        for t in list(data.task_ids)[:latency_queries]
    ]
    costs: dict[str, dict[str, Any]] = {"train_seconds": {}, "latency_ms": {}}
    for name, factory in factories.items():
        t1 = time.perf_counter()
        model = factory().fit(data)
        costs["train_seconds"][name] = round(time.perf_counter() - t1, 3)
        costs["latency_ms"][name] = {
            key: round(value, 2) for key, value in recommendation_latency(model, queries).items()
        }
    return costs


def _regret_table(summary: pd.DataFrame) -> dict[str, dict[str, dict[str, float]]]:
    table: dict[str, dict[str, dict[str, float]]] = {}
    for method, k, mean, sem in summary[["method", "k", "mean", "sem"]].itertuples(index=False):
        sem_value = float(sem) if pd.notna(sem) else 0.0
        table.setdefault(str(method), {})[str(k)] = {
            "mean": round(float(mean), 4),
            "sem": round(sem_value, 4),
        }
    return table


BASELINES = ("random", "default", "oracle")


def relative_regret(report: Mapping[str, Any]) -> dict[str, float]:
    """Return each method's regret relative to random-k, averaged over tables and k.

    A table's regrets are on its own scale (SVC's are tiny); the ratio to the
    same table's random-k regret is not, so the mean ratio ranks methods
    across tables. Lower is better; 1 = no better than random. Cells where
    random's regret is 0 are skipped. Methods best first.
    """
    ratios: dict[str, list[float]] = {}
    for table in report["tables"]:
        regret = table["regret"]
        for method, by_k in regret.items():
            if method in BASELINES:
                continue
            for k, cell in by_k.items():
                base = regret["random"][k]["mean"]
                if base > 0:
                    ratios.setdefault(method, []).append(cell["mean"] / base)
    means = {m: float(np.mean(v)) for m, v in ratios.items()}
    return dict(sorted(means.items(), key=lambda item: item[1]))


def target_lines(
    report: Mapping[str, Any], halved: Sequence[str] = ("random_forest", "adaboost")
) -> list[str]:
    """Return Markdown bullets checking the issue's targets against the report.

    The targets: every method beats random-k at every k on every table, and the
    best method's best-of-5 regret is at most half of random-5's on the
    ``halved`` tables.
    """
    lines = []
    for table in report["tables"]:
        regret = table["regret"]
        methods = [m for m in regret if m not in BASELINES]
        losses = [
            f"{m} at k={k}"
            for m in methods
            for k, cell in regret[m].items()
            if cell["mean"] >= regret["random"][k]["mean"]
        ]
        verdict = "met" if not losses else "missed (" + ", ".join(losses) + ")"
        lines.append(f"- {table['algorithm']}: every method beats random at every k: {verdict}.")
        if table["algorithm"] in halved and "5" in regret["random"]:
            best = min(methods, key=lambda m: regret[m]["5"]["mean"])
            value, half = regret[best]["5"]["mean"], regret["random"]["5"]["mean"] / 2
            met = "met" if value <= half else "missed"
            lines.append(
                f"- {table['algorithm']}: best best-of-5 ({best}) {value:.4f} vs random-5 / 2 "
                f"= {half:.4f}: {met} (margin {half - value:+.4f})."
            )
    return lines


def render_markdown(report: Mapping[str, Any], command: str) -> str:
    """Return the page's generated part (summary, targets, one regret table per benchmark table).

    What the benchmark does and its caveats are the page's hand-written text
    (docs/benchmarks/zeroshot.md, around `metakb.bench.render.fill_page`'s markers).
    """
    ks = [str(k) for k in report["ks"]]
    lines = [
        f"Produced by: `{command}`, on a knowledge base built with "
        "`metakb ingest published <shared data folder> --db <db>`. Latency is "
        "`recommend` in-process with the model fitted on all tasks, without "
        "candidates (serving), k = 10; OpenML100 tables keep tasks with >= 100 runs.",
        "",
        "## Summary",
        "",
        "Regret relative to random-k (method / random, mean over the tables and k; "
        "1 = no better than random):",
        "",
        "| method | relative regret |",
        "|---|---|",
        *(f"| {m} | {v:.3f} |" for m, v in relative_regret(report).items()),
        "",
    ]
    if "default_method" in report:
        lines += [
            f"`metakb recommend`'s default method (`DEFAULT_METHOD`): "
            f"**{report['default_method']}**.",
            "",
        ]
    lines += ["Targets of the issue:", "", *target_lines(report), ""]
    # Remarks on this particular run (how it was run, what changed since), kept with its JSON.
    notes = report.get("notes", [])
    if notes:
        lines += ["Notes on this run:", "", *(f"- {note}" for note in notes), ""]
    for table in report["tables"]:
        regret = table["regret"]
        lines += [
            f"## {table['algorithm']} ({table['flow_id']}, {table['metric']}): "
            f"{table['tasks']} tasks, median {table['configs_per_task_median']:.0f} "
            f"configurations per task",
            "",
            "| method | " + " | ".join(f"k={k}" for k in ks) + " |",
            "|---|" + "---|" * len(ks),
        ]
        methods = [m for m in regret if m not in BASELINES] + [m for m in BASELINES if m in regret]
        for method in methods:
            cells = [
                f"{regret[method][k]['mean']:.3f} ± {regret[method][k]['sem']:.3f}"
                if k in regret[method]
                else "-"
                for k in ks
            ]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        load = table.get("load_average_1min")
        lines += [
            "",
            f"Timings at a 1-minute load average of {load} on the machine."
            if load is not None
            else "Machine load not recorded.",
            "",
            "| method | train s (all tasks) | recommend p50 ms | p95 ms |",
            "|---|---|---|---|",
        ]
        for method, seconds in table["train_seconds"].items():
            lat = table["latency_ms"][method]
            lines.append(
                f"| {method} | {seconds:.2f} | {lat['p50_ms']:.1f} | {lat['p95_ms']:.1f} |"
            )
        lines.append("")
    return "\n".join(lines)


def plot_report(report: Mapping[str, Any], path: str | Path) -> None:
    """Draw mean regret against k, one panel per table, and save it (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = report["tables"]
    fig, axes = plt.subplots(1, len(tables), figsize=(4.2 * len(tables), 3.6), squeeze=False)
    for ax, table in zip(axes[0], tables, strict=True):
        for method, by_k in table["regret"].items():
            if method == "oracle":
                continue
            ks = sorted(by_k, key=int)
            style = "--" if method in BASELINES else "-"
            ax.plot(
                [int(k) for k in ks], [by_k[k]["mean"] for k in ks], style, marker="o", label=method
            )
        ax.set_title(f"{table['algorithm']} ({table['tasks']} tasks)")
        ax.set_xlabel("k (best of top k)")
        ax.set_xscale("log")
        ax.set_xticks([int(k) for k in report["ks"]], [str(k) for k in report["ks"]])
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("mean normalized regret")
    axes[0][-1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
