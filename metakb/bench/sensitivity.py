"""How transfer's zero-shot regret moves with its settings, and what a fair choice of them gives.

Leave one task out as in :mod:`metakb.bench.zeroshot`, over a grid of the
three settings ``transfer`` uses when it recommends (the global surrogate's
share, the meta-feature kernel's width and how many past tasks it keeps).
Per table, a setting is also chosen on the *other* tables (lowest regret
relative to random-k, averaged over k and those tables) and scored on the
held-back one against the default: what tuning the settings fairly would
give. The bound is the best single training task's surrogate chosen in
hindsight: what perfect task similarity could reach.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metakb.bench.metrics import expected_random_regret, regret_of_picks, task_scores
from metakb.bench.zeroshot import ZEROSHOT_KS, Progress
from metakb.configs import canonical_json
from metakb.models import MetaDataset, TaskQuery, TransferWarmStarter
from metakb.models._base import score_matrix

Setting = tuple[float, float, int | None]
"""``(global_weight, bandwidth, n_tasks)``; ``n_tasks`` None: every training task."""

TRANSFER_GRID: tuple[Setting, ...] = tuple(
    itertools.product((0.0, 0.25, 0.5), (0.5, 1.0, 2.0), (10, 20, 40, None))
)
DEFAULT_SETTING: Setting = (0.25, 1.0, 40)
"""`TransferWarmStarter`'s defaults (a test checks they agree)."""

HINDSIGHT_K = 5


def setting_label(setting: Setting) -> str:
    """Return ``"share 0.25, width 1, 40 tasks"`` for a setting."""
    share, width, n = setting
    return f"share {share:g}, width {width:g}, {'all' if n is None else n} tasks"


def grid_regret(
    data: MetaDataset,
    grid: Sequence[Setting] = TRANSFER_GRID,
    ks: Sequence[int] = ZEROSHOT_KS,
    *,
    seed: int = 0,
    max_tasks: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Measure transfer's best-of-k regret for every setting of ``grid``, leaving one task out.

    One model is fitted per held-out task; its recommend-time settings are
    then set to each grid point in turn (they do not enter the fit), so every
    setting ranks the held-out task's configurations exactly as a model built
    with it would.

    Returns
    -------
    dict
        ``tasks`` (held out, in order), ``ks``, ``regret`` (setting label ->
        per task, per k), ``random`` (expected regret of k random
        configurations, per task and k), ``hindsight`` (per task: the best
        of one training task's surrogate top ``HINDSIGHT_K``, that task chosen
        knowing the values) and ``seconds``.
    """
    t0 = time.perf_counter()
    ids = list(data.task_ids)[:max_tasks]
    regret: dict[str, list[list[float]]] = {setting_label(s): [] for s in grid}
    random_k: list[list[float]] = []
    hindsight: list[float] = []
    for done, task_id in enumerate(ids, start=1):
        train, held = data.split_out(task_id)
        model = TransferWarmStarter(seed=seed).fit(train)
        query = TaskQuery(
            meta_features=data.meta_features_of(task_id), candidates=held.configs, task_id=task_id
        )
        position = {canonical_json(c): i for i, c in enumerate(held.configs)}
        for setting in grid:
            model.global_weight, model.bandwidth, n_tasks = setting
            model.n_tasks = train.n_tasks if n_tasks is None else n_tasks
            picks = [position[canonical_json(r.config)] for r in model.recommend(query, max(ks))]
            regret[setting_label(setting)].append([regret_of_picks(held.y, picks[:k]) for k in ks])
        random_k.append([expected_random_regret(task_scores(held.y), k) for k in ks])
        scores = score_matrix(train.tasks, held.configs, held.X, seed)
        top = np.argsort(-scores, axis=1, kind="stable")[:, :HINDSIGHT_K]
        hindsight.append(regret_of_picks(held.y, top.ravel()))
        if progress is not None:
            progress(f"{data.space.name}: transfer settings", done, len(ids))
    return {
        "tasks": ids,
        "ks": list(ks),
        "regret": regret,
        "random": random_k,
        "hindsight": hindsight,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def fair_choice(
    tables: Mapping[str, Mapping[str, Any]], default: Setting = DEFAULT_SETTING
) -> dict[str, dict[str, Any]]:
    """Summarize each table's grid, with the setting chosen on the other tables.

    The choice minimizes regret relative to random-k (zeroshot.md's summary
    measure: a table's mean regret over tasks divided by random's, per k,
    skipping k where random's is 0), averaged over k and the other tables.
    Needs two tables or more.

    Returns
    -------
    dict
        Per table: ``default`` and ``chosen`` (label and mean regret per k),
        the paired difference chosen minus default of the per-task mean over
        k with its standard error, the grid's ``k5`` min / median / max
        best-of-5 regret (when 5 is among the ks), ``random`` per k and the
        mean ``hindsight`` regret.
    """
    if len(tables) < 2:
        raise ValueError("a fair choice needs two tables or more")

    def relative(table: Mapping[str, Any], label: str) -> float:
        mean, base = np.mean(table["regret"][label], axis=0), np.mean(table["random"], axis=0)
        return float(np.mean(mean[base > 0] / base[base > 0]))  # as zeroshot.relative_regret

    labels = list(next(iter(tables.values()))["regret"])
    out: dict[str, dict[str, Any]] = {}
    for name, table in tables.items():
        others = [t for n, t in tables.items() if n != name]
        chosen = min(labels, key=lambda label: np.mean([relative(t, label) for t in others]))
        base = setting_label(default)
        diff = np.mean(table["regret"][chosen], axis=1) - np.mean(table["regret"][base], axis=1)
        summary: dict[str, Any] = {
            "tasks": len(table["tasks"]),
            "default": {"label": base, "mean": _means(table["regret"][base])},
            "chosen": {"label": chosen, "mean": _means(table["regret"][chosen])},
            "paired": {
                "mean": float(diff.mean()),
                "sem": float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else 0.0,
            },
            "random": _means(table["random"]),
            "hindsight": float(np.mean(table["hindsight"])),
        }
        if 5 in table["ks"]:
            at5 = table["ks"].index(5)
            five = [float(np.mean(np.asarray(v)[:, at5])) for v in table["regret"].values()]
            summary["k5"] = {
                "min": min(five),
                "median": float(np.median(five)),
                "max": max(five),
            }
        out[name] = summary
    return out


def _means(rows: Sequence[Sequence[float]]) -> list[float]:
    return [float(v) for v in np.mean(rows, axis=0)]


def _per_k(values: Sequence[float]) -> str:
    return " / ".join(f"{v:.3f}" for v in values)


def render_markdown(
    tables: Mapping[str, Mapping[str, Any]], command: str, *, load: str = ""
) -> str:
    """Return the Markdown page of a grid run (see :func:`grid_regret` and :func:`fair_choice`)."""
    summary = fair_choice(tables)
    fmt = _per_k
    ks = next(iter(tables.values()))["ks"]
    lines = [
        "# Transfer's settings: sensitivity and a fair choice (leave one task out)",
        "",
        f"Mean normalized regret of the best of `transfer`'s top k (k = {', '.join(map(str, ks))})"
        f" over {len(TRANSFER_GRID)} settings: global share x kernel width x past tasks kept. "
        "*Chosen on the other tables*: the setting with the lowest regret relative to random-k "
        "on the other tables, scored here; *paired*: its per-task mean over k minus the "
        "default's, ± standard error. *Hindsight*: the best of one training task's surrogate "
        f"top {HINDSIGHT_K}, that task chosen knowing the values (what perfect task similarity "
        "could reach).",
        "",
        f"Produced by: `{command}`{f' ({load})' if load else ''}.",
        "",
        "| table | default | chosen on the other tables | its regret | paired | "
        "best-of-5 over the grid: min / median / max | random | hindsight best-of-5 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, s in summary.items():
        k5 = s.get("k5")
        spread = f"{k5['min']:.3f} / {k5['median']:.3f} / {k5['max']:.3f}" if k5 else "-"
        lines.append(
            f"| {name} ({s['tasks']}) | {fmt(s['default']['mean'])} | {s['chosen']['label']} | "
            f"{fmt(s['chosen']['mean'])} | {s['paired']['mean']:+.4f} ± {s['paired']['sem']:.4f} "
            f"| {spread} | {fmt(s['random'])} | {s['hindsight']:.4f} |"
        )
    lines += ["", f"Default: {setting_label(DEFAULT_SETTING)}.", ""]
    for name, table in tables.items():
        header = "| setting | " + " | ".join(f"k={k}" for k in ks) + " |"
        lines += [f"## {name}: every setting", "", header, "|---|" + "---|" * len(ks)]
        for label, rows in table["regret"].items():
            lines.append(f"| {label} | " + " | ".join(f"{v:.4f}" for v in _means(rows)) + " |")
        lines.append("")
    return "\n".join(lines)
