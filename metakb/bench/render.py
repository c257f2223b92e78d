"""The generic renderer of search-benchmark reports: Markdown tables and plots.

A report (the JSON a suite returns) renders to a page's generated part:
regret, rank, evaluations to a regret, targets and timing. Hand-written
prose (what the suite does, notes, what the figures mean) lives in
``docs/benchmarks/<name>.md`` around the generated part, which goes between
the `BEGIN` and `END` marker comments, so rendering never overwrites it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metakb.bench.loto import PEER_METHODS
from metakb.bench.metrics import curves_frame, expand_change_points

log = logging.getLogger(__name__)


def report_frame(report: Mapping[str, Any]) -> pd.DataFrame:
    """Rebuild the long regret curves from a report's raw change points."""
    budget = int(report["settings"]["budget"])
    curves = {
        (method, task_id): np.vstack([expand_change_points(p, budget) for p in seeds])
        for task_id, entry in report["curves"].items()
        for method, seeds in entry["regret"].items()
    }
    return curves_frame(curves)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_loto_markdown(
    report: Mapping[str, Any],
    command: str,
    *,
    title: str,
    intro: str,
    extra: Sequence[str] = (),
) -> str:
    """Return the report as Markdown: regret, rank, evaluations to 0.05, targets, timing.

    ``extra`` lines go between the tables and the targets.
    """
    timing = report["timing"]
    lines = [
        f"# {title}",
        "",
        intro,
        "",
        f"Produced by: `{command}` in {timing['wall_seconds']:.0f} s wall time "
        + (f"({timing['cpu_seconds']:.0f} CPU seconds) " if "cpu_seconds" in timing else "")
        + f"with {timing['workers']} worker processes on {timing['cpu_count']} cores shared "
        f"with other jobs (load average 1/5/15 min before, then after: "
        f"{timing['load_average']}). {report['tasks']} tasks on "
        f"{report['groups']} datasets, median {report['configs_per_task_median']:.0f} "
        f"configurations per task; seeds {report['settings']['seeds']}.",
        "",
        *summary_lines(report),
        *extra,
        "## Targets",
        "",
        *_target_lines(report["targets"], report["settings"]),
        "",
        "## Time",
        "",
        "Meta-model fit + recommend seconds (summed over held-out groups): "
        + ", ".join(f"{k} {v:.1f}" for k, v in timing["fit_seconds"].items())
        + ". Search seconds (summed over tasks and seeds): "
        + ", ".join(f"{k} {v:.1f}" for k, v in timing["search_seconds"].items())
        + ".",
        "",
    ]
    return "\n".join(lines)


def summary_lines(summary: Mapping[str, Any], heading: str = "##") -> list[str]:
    """Return Markdown tables of a `summarize_curves` result: regret, rank, evaluations to 0.05."""
    budgets = [str(b) for b in summary["budgets"]]
    methods = list(summary["regret"])
    header = ["| method | " + " | ".join(f"{b} evals" for b in budgets) + " |"]
    header.append("|---|" + "---|" * len(budgets))
    lines = [f"{heading} Mean normalized regret (± standard error over tasks)", "", *header]
    for m in methods:
        regret, sem = summary["regret"][m], summary["regret_sem"][m]
        cells = [f"{regret[b]:.4f} ± {sem[b]:.4f}" for b in budgets]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"{heading} Mean rank (1 = best; seeds averaged per task, ranked within each task)",
        "",
        *header,
    ]
    for m in methods:
        ranks = summary["rank"][m]
        lines.append(f"| {m} | " + " | ".join(f"{ranks[int(b) - 1]:.2f}" for b in budgets) + " |")
    reach = summary["evals_to_regret"]
    lines += [
        "",
        f"{heading} Evaluations to reach regret {reach['threshold']}",
        "",
        "| method | searches that reached it | median evals | mean evals |",
        "|---|---|---|---|",
    ]
    for m in methods:
        r = reach[m]
        lines.append(
            f"| {m} | {100 * r['reached']:.0f}% | {_fmt(r['median_evals'], 1)} | "
            f"{_fmt(r['mean_evals'], 1)} |"
        )
    return [*lines, ""]


def _target_lines(targets: Mapping[str, Any], settings: Mapping[str, Any]) -> list[str]:
    lines = []
    wall = targets.get("wall_time")
    if wall:
        lines.append(
            f"- The run finishes within {wall['limit'] / 60:.0f} minutes: "
            f"**{'met' if wall['met'] else 'MISSED'}** ({wall['seconds']:.0f} s wall time "
            "under the load stated above)."
        )
    warm = targets.get("warm10_vs_cold50")
    if warm:
        verdict = "met" if warm["met"] else "MISSED"
        lines.append(
            f"- Warm-started BO's mean regret at 10 evaluations <= cold BO's at 50 "
            f"({warm['cold_bo_at_50']:.4f}): **{verdict}**; best warm variant at 10: "
            f"{warm['best_warm']} {warm['best_warm_at_10']:.4f}; variants meeting it: "
            f"{', '.join(warm['met_by']) or 'none'}."
        )
    for key, rank in targets.items():
        if not key.startswith("rank") or not rank.get("best"):
            continue
        label = rank.get("label", "the best warm-started variant")
        label = label[0].upper() + label[1:]
        horizon = rank.get("budget", settings["budget"])
        verdict = "met" if rank["met"] else "MISSED"
        lines.append(
            f"- {label} ({rank['best']}) has the best mean rank of all methods at every "
            f"budget up to {horizon}: **{verdict}**"
            + (
                ""
                if rank["first_everywhere"]
                else f" (not first at {_ranges(rank['budgets_not_first'])} evaluations)"
            )
            + "; better than every baseline at every budget: "
            + ("yes" if rank["beats_others"] else "no")
            + (
                ""
                if rank["beats_others"]
                else f" (not at {_ranges(rank['budgets_not_better_than_others'])})"
            )
            + "."
        )
        for peer in PEER_METHODS:
            if f"beats_{peer}" in rank:
                lost = rank[f"budgets_not_better_than_{peer}"]
                lines.append(
                    f"- {label} ({rank['best']}) has a better mean rank than {peer} at every "
                    f"budget up to {horizon}: **{'met' if not lost else 'MISSED'}**"
                    + (f" (not at {_ranges(lost)} evaluations)." if lost else ".")
                )
    return lines


def _ranges(values: Sequence[int]) -> str:
    """Return ``[1, 2, 3, 7]`` as ``1-3, 7``."""
    parts: list[str] = []
    for v in values:
        if parts and parts[-1].split("-")[-1] == str(v - 1):
            parts[-1] = f"{parts[-1].split('-')[0]}-{v}"
        else:
            parts.append(str(v))
    return ", ".join(parts)


def write_loto_report(
    report: Mapping[str, Any], path: Path, *, title: str, intro: str, extra: Sequence[str] = ()
) -> None:
    """Write ``path`` with ``.md`` (see :func:`render_loto_markdown`) and ``.png`` suffixes.

    The plot is skipped, with a log line, when matplotlib is not installed.
    """
    markdown = render_loto_markdown(
        report, report["command"], title=title, intro=intro, extra=extra
    )
    path.with_suffix(".md").write_text(markdown)
    try:
        plot_loto(report, path.with_suffix(".png"))
    except ImportError:
        log.info("matplotlib not installed: no plot (pip install metakb[bench])")
    log.info("wrote %s (%.0f s)", path.with_suffix(".md"), report["timing"]["wall_seconds"])


def plot_loto(report: Mapping[str, Any], path: str | Path) -> None:
    """Plot mean regret and mean rank against evaluations (needs matplotlib).

    One row of two panels for the report's summary, and one more for its
    ``subset`` summary when it has one (methods run on only some tasks).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frame = report_frame(report)
    seeds = len(report["settings"]["seeds"])
    views = [(report, f"{report['algorithm']} ({report['tasks']} tasks, {seeds} seeds)")]
    if "subset" in report:
        subset = report["subset"]
        views.append((subset, f"{report['algorithm']}: subset of {len(subset['task_ids'])} tasks"))
    fig, axes = plt.subplots(len(views), 2, figsize=(11, 4 * len(views)), squeeze=False)
    for (view, name), (left, right) in zip(views, axes, strict=True):
        rows = frame
        if "task_ids" in view:
            rows = frame[frame["task_id"].isin(view["task_ids"])]
        regret = rows.groupby(["method", "n_evals"])["regret"].mean()
        for method in view["regret"]:
            style = "-" if method.startswith("bo+") else "--"
            curve = regret.loc[method]
            left.plot(curve.index, np.maximum(curve.to_numpy(), 1e-4), style, label=method)
            ranks = view["rank"][method]
            right.plot(range(1, len(ranks) + 1), ranks, style, label=method)
        left.set_yscale("log")
        left.set_ylabel("mean normalized regret")
        right.set_ylabel("mean rank (1 = best)")
        for ax in (left, right):
            ax.set_xscale("log")
            ax.set_xlabel("evaluations")
            ax.set_title(name)
            ax.grid(alpha=0.3)
        right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
