"""Portfolios on a shared-candidate table (TabRepo LightGBM): metakb against zero-shot references.

Every task of the table evaluated the same configurations, so a portfolio can
be read off the training tasks' values directly. The references here are
implemented independently of :mod:`metakb.models` so that metakb's own
portfolio is checked against them, not against itself:

* ``zeroshot_rank``: TabRepo's greedy zero-shot selection (Salinas & Erickson):
  repeatedly add the configuration that most lowers the mean, over the
  training tasks, of the per-task rank of the best configuration picked so far;
* ``zeroshot_error``: the same greedy selection on normalized error
  (``1 - (value - task min) / (task max - task min)``) instead of rank;
* ``single_best``: the configurations with the best mean normalized score over
  the training tasks, best first (no greedy complementarity).

The benchmark itself is :func:`metakb.bench.zeroshot.zeroshot_regret`
(leave one task out, the task's whole dataset group excluded), with its
``random``, ``default`` (on TabRepo: AutoGluon's LightGBM default, ``c1``)
and ``oracle`` baselines.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from metakb.bench.metrics import normalized_score
from metakb.bench.zeroshot import (
    BASELINES,
    Progress,
    _regret_table,
    serving_costs,
    summarize,
    zeroshot_regret,
)
from metakb.configs import canonical_json
from metakb.models import WARM_STARTERS, MetaDataset, Recommendation, TaskQuery, WarmStarter
from metakb.spaces import Params

TITLE = "Portfolios on TabRepo LightGBM (leave one task out)"
"""The page's title (`metakb.bench.render.fill_page`)."""

PORTFOLIO_KS: tuple[int, ...] = (1, 2, 3, 5, 10, 20)
REFERENCE = "zeroshot_rank"
"""The method every other is compared with task by task (TabRepo's selection)."""


def _shared_values(data: MetaDataset) -> tuple[list[Params], np.ndarray]:
    """Return the shared configurations and a ``(tasks, configs)`` matrix of raw values.

    Values are oriented higher-is-better (as in :class:`~metakb.models.TaskData`).
    """
    shared = data.shared_configs()
    if shared is None:
        raise ValueError("a zero-shot portfolio needs every task to evaluate the same configs")
    ids, _ = shared
    values = np.empty((data.n_tasks, len(ids)))
    for r, task in enumerate(data.tasks):
        position = {c: i for i, c in enumerate(task.config_ids)}
        values[r] = task.y[[position[c] for c in ids]]
    return [data.config_by_id(c) for c in ids], values


def greedy_min_mean(losses: np.ndarray, k: int) -> list[int]:
    """Pick ``k`` columns greedily, each minimizing the mean over rows of the best loss so far.

    The first pick is the column with the lowest mean loss; ties go to the
    lowest column index.

    References
    ----------
    Salinas & Erickson, "TabRepo: A Large Scale Repository of Tabular Model
    Evaluations and its AutoML Applications", AutoML Conf 2024.
    """
    n_rows, n_cols = losses.shape
    best = np.full(n_rows, np.inf)
    chosen: list[int] = []
    for _ in range(min(k, n_cols)):
        mean = np.minimum(best[:, None], losses).mean(axis=0)
        mean[chosen] = np.inf
        j = int(np.argmin(mean))
        chosen.append(j)
        best = np.minimum(best, losses[:, j])
    return chosen


class _FixedOrder:
    """A warm starter whose recommendations are a list fixed at fit time."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def _order(self, configs: list[Params], values: np.ndarray) -> list[int]:
        raise NotImplementedError

    def fit(self, data: MetaDataset) -> Self:
        """Order the shared configurations of ``data``'s tasks."""
        configs, values = _shared_values(data)
        self.configs_ = [configs[j] for j in self._order(configs, values)]
        return self

    def recommend(self, query: TaskQuery, k: int) -> list[Recommendation]:
        """Return the first ``k`` configurations of the order (among the query's candidates)."""
        if k < 1:
            raise ValueError(f"k must be a positive integer, not {k!r}")
        allowed = (
            None if query.candidates is None else {canonical_json(c) for c in query.candidates}
        )
        out = []
        for config in self.configs_:
            if allowed is None or canonical_json(config) in allowed:
                out.append(Recommendation(dict(config)))
                if len(out) == k:
                    break
        return out


class GreedyZeroShot(_FixedOrder):
    """TabRepo-style greedy zero-shot portfolio over the shared configurations.

    Parameters
    ----------
    objective : {"rank", "error"}
        What the greedy selection minimizes on average over the training tasks:
        the rank of the best picked configuration within its task (TabRepo;
        1 = best, ties averaged) or its normalized error.
    seed : int
        Unused (the selection is deterministic); kept for the warm-starter protocol.
    """

    def __init__(self, objective: str = "rank", seed: int = 0) -> None:
        super().__init__(seed)
        self.objective = objective

    def _order(self, configs: list[Params], values: np.ndarray) -> list[int]:
        if self.objective == "rank":
            losses = rankdata(-values, axis=1, method="average")
        elif self.objective == "error":
            losses = 1.0 - _row_scores(values)
        else:
            raise ValueError(f"objective must be 'rank' or 'error', not {self.objective!r}")
        return greedy_min_mean(losses, len(configs))


def _row_scores(values: np.ndarray) -> np.ndarray:
    # One task per row: each scored against its own min and max.
    lo, hi = values.min(axis=1, keepdims=True), values.max(axis=1, keepdims=True)
    return np.asarray(normalized_score(values, lo, hi), dtype=float)


class SingleBest(_FixedOrder):
    """The configurations with the best mean normalized score over the training tasks."""

    def _order(self, configs: list[Params], values: np.ndarray) -> list[int]:
        mean = _row_scores(values).mean(axis=0)
        return [int(j) for j in np.argsort(-mean, kind="stable")]


REFERENCES: dict[str, Callable[..., WarmStarter]] = {
    "zeroshot_rank": partial(GreedyZeroShot, objective="rank"),
    "zeroshot_error": partial(GreedyZeroShot, objective="error"),
    "single_best": SingleBest,
}
"""The reference methods by name (factories with a ``seed`` keyword)."""


def portfolio_methods(seed: int = 0) -> dict[str, Callable[[], WarmStarter]]:
    """Return metakb's warm starters and the references, as unfitted-model factories."""
    methods: dict[str, Callable[[], WarmStarter]] = {
        name: partial(factory, seed=seed) for name, factory in WARM_STARTERS.items()
    }
    methods.update({name: partial(factory, seed=seed) for name, factory in REFERENCES.items()})
    return methods


def paired_against(results: pd.DataFrame, reference: str = REFERENCE) -> dict[str, Any]:
    """Return, per method and k, how often it beats, ties and loses to ``reference`` task by task.

    Ties are regrets within 1e-9; ``mean_diff`` is the mean of method minus
    reference regret (negative = better than the reference), ``sem_diff`` its
    standard error over tasks.
    """
    wide = results.pivot_table(index=["task_id", "k"], columns="method", values="regret")
    out: dict[str, Any] = {}
    for method in wide.columns:
        if method == reference:
            continue
        diff = wide[method] - wide[reference]
        for k, d in diff.groupby(level="k"):
            out.setdefault(str(method), {})[str(k)] = {
                "wins": int((d < -1e-9).sum()),
                "ties": int((d.abs() <= 1e-9).sum()),
                "losses": int((d > 1e-9).sum()),
                "mean_diff": round(float(d.mean()), 4),
                "sem_diff": round(_sem(d.to_numpy(dtype=float)), 4),
            }
    return out


def _sem(values: np.ndarray) -> float:
    return float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


def mean_ranks(results: pd.DataFrame, exclude: Sequence[str] = ("oracle",)) -> dict[str, Any]:
    """Return each method's mean rank over tasks at each k (1 = lowest regret, ties averaged)."""
    kept = results[~results["method"].isin(exclude)]
    ranks = kept.groupby(["task_id", "k"])["regret"].rank(method="average")
    table = kept.assign(rank=ranks).groupby(["method", "k"])["rank"].mean().reset_index()
    out: dict[str, Any] = {}
    for method, k, value in table.itertuples(index=False):
        out.setdefault(str(method), {})[str(k)] = round(float(value), 3)
    return out


def run_portfolios(
    data: MetaDataset,
    methods: Mapping[str, Callable[[], WarmStarter]] | None = None,
    ks: Sequence[int] = PORTFOLIO_KS,
    *,
    max_tasks: int | None = None,
    latency_queries: int = 30,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the leave-one-task-out portfolio benchmark and collect a JSON-able report.

    Parameters
    ----------
    data : MetaDataset
        A table whose tasks share their configurations (TabRepo LightGBM).
    methods : mapping, optional
        Method name -> factory (default: :func:`portfolio_methods`).
    ks : sequence of int
        Portfolio lengths to score (best of the first k).
    max_tasks : int, optional
        Hold out only the first tasks (smoke runs).
    latency_queries : int
        Tasks whose meta-features time ``recommend`` (models fitted on all tasks).
    progress : callable, optional
        ``progress(description, done, total)``.

    Returns
    -------
    dict
        ``ks`` and one entry in ``tables`` (the layout of
        :func:`metakb.bench.zeroshot.run_zeroshot`, so its plot applies) with,
        besides mean regret, the mean rank per method and k and the task-by-task
        comparison with :data:`REFERENCE`.
    """
    if data.shared_configs() is None:
        raise ValueError("the portfolio benchmark needs a table of shared configurations")
    factories = dict(methods) if methods is not None else portfolio_methods()
    ids = list(data.task_ids)[:max_tasks] if max_tasks else None
    t0 = time.perf_counter()
    results = zeroshot_regret(data, factories, ks, task_ids=ids, progress=progress)
    entry: dict[str, Any] = {
        "algorithm": data.space.name,
        "flow_id": data.flow_id,
        "metric": data.metric,
        "tasks": int(results["task_id"].nunique()),
        "configs": len(data.tasks[0].config_ids),
        "benchmark_seconds": round(time.perf_counter() - t0, 1),
        "regret": _regret_table(summarize(results)),
        "mean_rank": mean_ranks(results),
        "paired": paired_against(results) if REFERENCE in factories else {},
        # Every raw figure: the regret of each method on each held-out task at each k.
        "per_task": [
            [str(t), str(m), int(k), round(float(r), 6)]
            for t, m, k, r in results[["task_id", "method", "k", "regret"]].itertuples(index=False)
        ],
        **serving_costs(data, factories, latency_queries),
    }
    return {"ks": list(ks), "reference": REFERENCE, "tables": [entry]}


METAKB_METHODS = tuple(WARM_STARTERS)


def render_portfolios_markdown(report: Mapping[str, Any], command: str) -> str:
    """Return the page's generated part: regret, mean rank and the paired comparison.

    The references, baselines and caveats are the page's hand-written text
    (docs/benchmarks/portfolios_tabrepo.md, around `metakb.bench.render.fill_page`'s markers).
    """
    ks = [str(k) for k in report["ks"]]
    table = report["tables"][0]
    regret = table["regret"]
    order = [m for m in METAKB_METHODS if m in regret]
    order += [m for m in REFERENCES if m in regret]
    order += [m for m in regret if m not in order and m not in BASELINES]
    order += [m for m in BASELINES if m in regret]
    header = "| method | " + " | ".join(f"k={k}" for k in ks) + " |"
    rule = "|---|" + "---|" * len(ks)
    lines = [
        f"{table['tasks']} tasks x {table['configs']} shared LightGBM configurations "
        f"({table['flow_id']}, {table['metric']}, lower is better). For each task, its whole "
        "dataset group is removed from training; every method then orders the 104 "
        "configurations and the normalized regret of the best of its first k is scored "
        "(0 = the task's best configuration, 1 = its worst). ± is the standard error over tasks.",
        "",
        "- metakb: "
        + ", ".join(f"`{m}`" for m in METAKB_METHODS)
        + " (the registry's entries with their defaults, seed 0; `portfolio` is greedy on "
        "mean normalized regret).",
        "",
        f"Produced by: `{command}`.",
        "",
        "## Mean normalized regret",
        "",
        header,
        rule,
    ]
    for method in order:
        cells = [
            f"{regret[method][k]['mean']:.3f} ± {regret[method][k]['sem']:.3f}"
            if k in regret[method]
            else "-"
            for k in ks
        ]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += ["", *_summary(regret, table["paired"], ks, report["reference"])]
    ranks = table["mean_rank"]
    lines += [
        "",
        "## Mean rank over tasks (1 = lowest regret among the methods listed, ties averaged)",
        "",
        header,
        rule,
    ]
    for method in [m for m in order if m in ranks]:
        lines.append(
            f"| {method} | " + " | ".join(f"{ranks[method].get(k, float('nan')):.2f}" for k in ks)
        )
        lines[-1] += " |"
    paired = table["paired"]
    if paired:
        lines += [
            "",
            f"## Task by task against `{report['reference']}` (wins / ties / losses; "
            "mean regret difference, negative = better)",
            "",
            header,
            rule,
        ]
        for method in [m for m in order if m in paired]:
            cells = []
            for k in ks:
                p = paired[method].get(k)
                cells.append(
                    f"{p['wins']}/{p['ties']}/{p['losses']} ({p['mean_diff']:+.3f})" if p else "-"
                )
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Cost (models fitted on all tasks; `recommend` without candidates, k = 10)",
        "",
        "| method | train s | recommend p50 ms | p95 ms |",
        "|---|---|---|---|",
    ]
    for method, seconds in table["train_seconds"].items():
        lat = table["latency_ms"][method]
        lines.append(f"| {method} | {seconds:.3f} | {lat['p50_ms']:.2f} | {lat['p95_ms']:.2f} |")
    lines.append("")
    return "\n".join(lines)


def _summary(
    regret: Mapping[str, Any], paired: Mapping[str, Any], ks: Sequence[str], reference: str
) -> list[str]:
    """Return computed reading aids: the best method per k, metakb's best against the reference."""
    ours = [m for m in METAKB_METHODS if m in regret]
    contenders = [m for m in regret if m != "oracle"]
    best = []
    versus = []
    for k in ks:
        top = min(contenders, key=lambda m: regret[m][k]["mean"])
        best.append(f"k={k} `{top}` ({regret[top][k]['mean']:.3f})")
        if ours and reference in regret:
            mine = min(ours, key=lambda m: regret[m][k]["mean"])
            p = paired.get(mine, {}).get(k)
            if p is None:
                continue
            noise = "within noise" if abs(p["mean_diff"]) < 2 * p["sem_diff"] else "beyond 2 SE"
            versus.append(
                f"k={k} `{mine}` {regret[mine][k]['mean']:.3f} vs "
                f"{regret[reference][k]['mean']:.3f} ({p['mean_diff']:+.3f} ± "
                f"{p['sem_diff']:.3f}, {noise})"
            )
    lines = ["Lowest mean regret: " + "; ".join(best) + "."]
    if versus:
        lines += [
            "",
            f"metakb's best method at each k against `{reference}`, paired over tasks "
            "(difference ± its standard error; negative = metakb lower): "
            + "; ".join(versus)
            + ".",
        ]
    return lines


def plot_portfolios(report: Mapping[str, Any], path: str | Path) -> None:
    """Draw mean regret against k: metakb solid, references dotted, baselines dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = report["tables"][0]
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for method, by_k in table["regret"].items():
        if method == "oracle":
            continue
        ks = sorted(by_k, key=int)
        if method in METAKB_METHODS:
            style, marker = "-", "o"
        elif method in REFERENCES:
            style, marker = ":", "s"
        else:
            style, marker = "--", "x"
        means = [by_k[k]["mean"] for k in ks]
        ax.plot([int(k) for k in ks], means, style, marker=marker, label=method)
    ax.set_title(f"TabRepo LightGBM, {table['tasks']} tasks, leave one task out")
    ax.set_xlabel("k (best of the first k)")
    ax.set_ylabel("mean normalized regret")
    ax.set_xscale("log")
    ax.set_xticks([int(k) for k in report["ks"]], [str(k) for k in report["ks"]])
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
