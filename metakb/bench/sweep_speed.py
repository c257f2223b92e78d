"""Sweep throughput: fits per CPU second of `metakb sweep` against a plain cross_val_score loop.

Both arms fit the same pipelines on the same tables with the same design,
folds, seed and scorer, in this process, one model thread each (``n_jobs=1``
is in the :class:`~metakb.spaces.Algorithm` records):

* ``sweep``: :meth:`metakb.kb.KnowledgeBase.sweep` with the ``inprocess``
  executor into a fresh temporary knowledge base, everything included (reading
  the files, the row cap, meta-features, registering tables, writing every
  evaluation with its per-fold scores);
* ``plain``: for each table, :func:`~metakb.datasets.load_table` and
  :func:`~metakb.datasets.subsample_table`, then for each configuration of the
  design ``cross_val_score`` of :class:`~metakb.search.SpaceEstimators`' pipeline
  (built for the folds' training rows, as the sweep's objective builds it) with
  the sweep's splitter and :func:`~metakb.search.cv_scorer`; nothing is written
  and no meta-features are computed.

A fit is one fold of one configuration. CPU seconds are
:func:`time.process_time` (every thread of this process, so DuckDB's count
against the sweep); the fits are single-threaded, so CPU seconds are far less
sensitive than wall seconds to other jobs on a shared machine. Run order
alternates between repeats (plain first, then sweep first) so drift in the
machine's load does not favour one arm.

Where the sweep's time goes is measured without touching it: the sweep
reports the seconds of its evaluations; loading and meta-features are timed
again on the same tables beforehand (which also warms imports and the file
cache for both arms), and writes and bookkeeping are the rest.

The ``pool`` run is the sweep again with ``process:N`` workers: a wall-clock
speed-up, whose CPU seconds add the reaped workers' (``RUSAGE_CHILDREN``).
"""

from __future__ import annotations

import math
import os
import platform
import resource
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

from metakb.bench._machine import format_load, load_average
from metakb.bench.holdout import HOLDOUT
from metakb.configs import config_id
from metakb.datasets import Table, load_table, subsample_table, table_name
from metakb.kb import KnowledgeBase
from metakb.metafeatures import extract_table
from metakb.search import SpaceEstimators, cv_scorer
from metakb.spaces import Algorithm, get_algorithm
from metakb.sweep import DEFAULT_MAX_ROWS, METRICS, DatasetRef, DesignPoint, build_design

TITLE = "Sweep throughput: metakb sweep against a plain cross_val_score loop"

PER_TASK_TYPE: dict[str, int] = {"classification": 6, "regression": 2}
"""Tables chosen per task type by default."""
MIN_TABLE_ROWS = 100
MAX_TABLE_ROWS = 2000

Say = Callable[[str], None]


@dataclass(frozen=True)
class SpeedSettings:
    """What both arms fit.

    Attributes
    ----------
    algorithm : str
        The algorithm swept.
    design : str
        A key of :data:`~metakb.sweep.DESIGNS`.
    n_splits : int
        Cross-validation folds.
    max_rows : int
        The sweep's row cap, applied in both arms.
    seed : int
        Seed of folds, row cap, models and design.
    repeats : int
        Times each arm runs (order alternating).
    workers : int
        Workers of the ``pool`` run (``process:N``); 0 leaves it out.
    """

    algorithm: str = "lightgbm"
    design: str = "small"
    n_splits: int = 5
    max_rows: int = DEFAULT_MAX_ROWS
    seed: int = 0
    repeats: int = 1
    workers: int = 2


def select_tables(
    manifest: pd.DataFrame,
    per_task_type: Mapping[str, int] | None = None,
    *,
    min_rows: int = MIN_TABLE_ROWS,
    max_rows: int = MAX_TABLE_ROWS,
    exclude: Sequence[str] = HOLDOUT,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Choose tables evenly by size: per task type, sorted by rows then name, evenly spaced.

    Parameters
    ----------
    manifest : pandas.DataFrame
        PMLB's ``manifest.csv`` (name, task_type, n_rows, ...).
    per_task_type : mapping, optional
        Tables per task type (default :data:`PER_TASK_TYPE`).
    min_rows, max_rows : int
        The row range kept.
    exclude : sequence of str
        Names never chosen (default: the held-out tables, :data:`~metakb.bench.holdout.HOLDOUT`).

    Returns
    -------
    (pandas.DataFrame, dict)
        The chosen rows, classification first; the selection for the report.
    """
    wanted = dict(PER_TASK_TYPE if per_task_type is None else per_task_type)
    eligible = manifest[
        manifest["n_rows"].between(min_rows, max_rows) & ~manifest["name"].isin(list(exclude))
    ]
    chosen, counts = [], {}
    for task_type, n in wanted.items():
        pool = eligible[eligible["task_type"] == task_type].sort_values(
            ["n_rows", "name"], kind="stable"
        )
        counts[task_type] = len(pool)
        if n > 0 and len(pool):
            picks = np.unique(np.round(np.linspace(0, len(pool) - 1, min(n, len(pool)))))
            chosen.append(pool.iloc[picks.astype(int)])
    frame = pd.concat(chosen, ignore_index=True) if chosen else manifest.iloc[0:0]
    selection = {
        "rule": (
            f"PMLB tables with {min_rows} to {max_rows} rows, not held out "
            "(metakb.bench.holdout.HOLDOUT); per task type sorted by rows then name and "
            + ", ".join(f"{n} {t}" for t, n in wanted.items())
            + " taken evenly spaced from the smallest to the largest"
        ),
        "eligible": counts,
        "chosen": [str(n) for n in frame["name"]],
    }
    return frame, selection


def manifest_refs(folder: str | Path, rows: pd.DataFrame) -> list[DatasetRef]:
    """Return the tables of manifest ``rows`` (name, file, target_column, task_type)."""
    root = Path(folder)
    return [
        DatasetRef(
            str(row["name"]),
            (root / str(row["file"])).resolve(),
            _text(row.get("target_column")),
            _text(row.get("task_type")),
            None if pd.isna(row.get("openml_dataset_id")) else int(row["openml_dataset_id"]),
        )
        for _, row in rows.iterrows()
    ]


def _text(value: Any) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


class _Clock:
    """CPU (this process, and reaped children) and wall seconds since it was made."""

    def __init__(self) -> None:
        self.cpu, self.wall, self.children = time.process_time(), time.perf_counter(), _children()

    def read(self) -> dict[str, float]:
        return {
            "cpu_seconds": time.process_time() - self.cpu,
            "wall_seconds": time.perf_counter() - self.wall,
            "children_cpu_seconds": _children() - self.children,
        }


def _children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load(ref: DatasetRef, settings: SpeedSettings) -> Table:
    # As the sweep loads (metakb.sweep._run._load): same reader options, same cut.
    table = load_table(ref.path, ref.target, task_type=ref.task_type, duplicate_columns="rename")
    return subsample_table(table, settings.max_rows, seed=settings.seed)


def _ids(algorithm: Algorithm, points: Sequence[DesignPoint]) -> list[str]:
    flow_id = algorithm.space.flow_ids[0]
    return [config_id(flow_id, algorithm.space.to_flow_params(p.config)) for p in points]


def time_plain(
    refs: Sequence[DatasetRef], points: Sequence[DesignPoint], settings: SpeedSettings
) -> dict[str, Any]:
    """Run the ``plain`` arm: a ``cross_val_score`` loop over tables and configurations.

    Returns
    -------
    dict
        CPU and wall seconds (total, loading, cross-validation), fits, per-table
        figures and each (table, config id)'s mean score (NaN when a fold failed).
    """
    algorithm = get_algorithm(settings.algorithm)
    ids = _ids(algorithm, points)
    scores: dict[str, dict[str, float]] = {}
    tables: dict[str, dict[str, float]] = {}
    load_cpu = 0.0
    clock = _Clock()
    for ref in refs:
        start = _Clock()
        table = _load(ref, settings)
        load_cpu += start.read()["cpu_seconds"]
        task_type = algorithm.check_task_type(table.task_type)
        make = SpaceEstimators(algorithm, task_type, settings.seed)
        splitter = (StratifiedKFold if task_type == "classification" else KFold)(
            settings.n_splits, shuffle=True, random_state=settings.seed
        )
        scorer = cv_scorer(METRICS[task_type], table.y)
        # CVObjective builds each fold's pipeline for the rows it learns from (the
        # size caps of Algorithm.fit_to_rows; the preprocessing depends on dtypes
        # only), so folds with as many training rows share one pipeline: one
        # cross_val_score per training size, usually one or two.
        by_rows: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        for train, test in splitter.split(table.X, table.y):
            by_rows.setdefault(len(train), []).append((train, test))
        scores[table.name] = {}
        for point, key in zip(points, ids, strict=True):
            folds = [
                score
                for group in by_rows.values()
                for score in cross_val_score(
                    make(point.config, table.X.iloc[group[0][0]]),
                    table.X,
                    table.y,
                    cv=group,
                    scoring=scorer,
                )
            ]
            scores[table.name][key] = float(np.mean(folds))
        tables[ref.name] = {**start.read(), "fits": len(points) * settings.n_splits}
    total = clock.read()
    return {
        **total,
        "load_cpu_seconds": load_cpu,
        "cv_cpu_seconds": total["cpu_seconds"] - load_cpu,
        "fits": sum(int(t["fits"]) for t in tables.values()),
        "tables": tables,
        "scores": scores,
    }


def time_sweep(
    refs: Sequence[DatasetRef], settings: SpeedSettings, executor: str = "inprocess"
) -> dict[str, Any]:
    """Run the ``sweep`` arm (or, with ``process:N``, the ``pool`` run) into a fresh knowledge base.

    Returns
    -------
    dict
        CPU and wall seconds, fits (evaluations added x folds), the sweep's
        report, per-table figures (from the sweep's progress calls, so the
        set-up before the first table is only in the totals) and each
        (table, config id)'s stored value.
    """
    ticks: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="metakb-sweep-speed-") as tmp:
        folder = Path(tmp) / "tables"
        folder.mkdir()
        pd.DataFrame(
            {
                "name": [r.name for r in refs],
                "file": [str(r.path) for r in refs],
                "target_column": [r.target for r in refs],
                "task_type": [r.task_type for r in refs],
                "openml_dataset_id": pd.array([r.openml_dataset_id for r in refs], dtype="Int64"),
            }
        ).to_csv(folder / "manifest.csv", index=False)
        kb = KnowledgeBase(Path(tmp) / "kb.duckdb")
        clock = _Clock()
        report = kb.sweep(
            settings.algorithm,
            str(folder),
            design=settings.design,
            n_splits=settings.n_splits,
            max_rows=settings.max_rows,
            executor=executor,
            seed=settings.seed,
            progress=lambda description, done, total: ticks.append(clock.read()),
        )
        total = clock.read()
        scores = _stored_scores(kb)
    # One progress call before the first table, then one after each.
    tables = {
        ref.name: {
            **{k: after[k] - before[k] for k in after},
            "fits": len(scores.get(table_name(ref.path), {})) * settings.n_splits,
        }
        for ref, before, after in zip(refs, ticks, ticks[1:], strict=False)
    }
    return {
        **total,
        "executor": executor,
        "fits": report.evaluations * settings.n_splits,
        "evaluation_seconds": report.cpu_seconds,
        "sweep": report.to_dict(),
        "tables": tables,
        "scores": scores,
    }


def _stored_scores(kb: KnowledgeBase) -> dict[str, dict[str, float]]:
    scores: dict[str, dict[str, float]] = {}
    for task in kb.tasks().itertuples():
        rows = kb.evaluations(str(task.task_id))
        # A failed evaluation has no value (NaN once read).
        values = pd.to_numeric(rows["value"], errors="coerce").astype(float)
        scores[str(task.name)] = dict(zip(rows["config_id"].astype(str), values, strict=True))
    return scores


def time_components(refs: Sequence[DatasetRef], settings: SpeedSettings) -> dict[str, Any]:
    """Time what the sweep does besides fitting: loading with the cut, and meta-features.

    Returns
    -------
    dict
        Per table and summed: CPU and wall seconds of loading and of
        :func:`~metakb.metafeatures.extract_table`; the tables' shapes.
    """
    tables: dict[str, dict[str, Any]] = {}
    for ref in refs:
        clock = _Clock()
        table = _load(ref, settings)
        loaded = clock.read()
        clock = _Clock()
        extract_table(table, seed=settings.seed)
        features = clock.read()
        tables[ref.name] = {
            "task_type": table.task_type,
            "rows": len(table.X),
            "features": table.X.shape[1],
            "classes": int(table.y.nunique()) if table.task_type == "classification" else None,
            "load_cpu_seconds": loaded["cpu_seconds"],
            "load_wall_seconds": loaded["wall_seconds"],
            "metafeatures_cpu_seconds": features["cpu_seconds"],
            "metafeatures_wall_seconds": features["wall_seconds"],
        }
    totals = {
        key: sum(t[key] for t in tables.values())
        for key in (
            "load_cpu_seconds",
            "load_wall_seconds",
            "metafeatures_cpu_seconds",
            "metafeatures_wall_seconds",
        )
    }
    return {**totals, "tables": tables}


def _warm_up(
    refs: Sequence[DatasetRef], points: Sequence[DesignPoint], settings: SpeedSettings
) -> None:
    """Fit once so neither timed arm pays for first imports (LightGBM's, the scorers')."""
    algorithm = get_algorithm(settings.algorithm)
    table = _load(refs[0], settings)
    task_type = algorithm.check_task_type(table.task_type)
    model = SpaceEstimators(algorithm, task_type, settings.seed)(points[0].config, table.X)
    cross_val_score(model, table.X, table.y, cv=2, scoring=cv_scorer(METRICS[task_type], table.y))


def compare_scores(
    plain: Mapping[str, Mapping[str, float]], sweep: Mapping[str, Mapping[str, float]]
) -> dict[str, Any]:
    """Compare the arms' scores: the same fits must give the same mean CV scores.

    Values are compared as magnitudes (the knowledge base stores RMSE, the
    scorer its negative).

    Returns
    -------
    dict
        ``compared`` (pairs both scored), ``max_abs_difference``,
        ``failed_in_both``, ``failed_in_one`` and ``missing`` (pairs in one arm only).
    """
    compared, failed_both, failed_one, missing, worst = 0, 0, 0, 0, 0.0
    for name, by_config in plain.items():
        stored = sweep.get(name, {})
        for key, score in by_config.items():
            if key not in stored:
                missing += 1
                continue
            a, b = abs(score), abs(stored[key])
            if math.isnan(a) and math.isnan(b):
                failed_both += 1
            elif math.isnan(a) or math.isnan(b):
                failed_one += 1
            else:
                compared += 1
                worst = max(worst, abs(a - b))
    return {
        "compared": compared,
        "max_abs_difference": worst if compared else None,
        "failed_in_both": failed_both,
        "failed_in_one": failed_one,
        "missing": missing,
    }


def _machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _run(arm: str, repeat: int, fn: Callable[[], dict[str, Any]], say: Say) -> dict[str, Any]:
    before = load_average()
    result = fn()
    result.update(arm=arm, repeat=repeat, load_before=before, load_after=load_average())
    say(
        f"{arm} (repeat {repeat}): {result['fits']} fits, {result['cpu_seconds']:.1f} CPU s, "
        f"{result['wall_seconds']:.1f} wall s; load {format_load(result['load_after'])}"
    )
    return result


def run_sweep_speed(
    refs: Sequence[DatasetRef], settings: SpeedSettings, *, progress: Say | None = None
) -> dict[str, Any]:
    """Time both arms (and the pool run) on ``refs``; return the JSON-ready report.

    Parameters
    ----------
    refs : sequence of DatasetRef
        The tables (:func:`select_tables`, :func:`manifest_refs`).
    settings : SpeedSettings
        What both arms fit.
    progress : callable, optional
        Called with a line after every run.

    Raises
    ------
    ValueError
        No tables, or fewer than one repeat.
    """
    if not refs:
        raise ValueError("no tables to time")
    if settings.repeats < 1:
        raise ValueError("repeats must be at least 1")
    say = progress or (lambda message: None)
    algorithm = get_algorithm(settings.algorithm)
    # A fresh knowledge base holds no published configurations: the design is the
    # defaults and the Sobol sample, as build_design gives it without them.
    points = build_design(algorithm, settings.design, seed=settings.seed)
    load_start = load_average()
    components = time_components(refs, settings)
    _warm_up(refs, points, settings)
    runs: list[dict[str, Any]] = []
    for repeat in range(settings.repeats):
        arms = [
            ("plain", lambda: time_plain(refs, points, settings)),
            ("sweep", lambda: time_sweep(refs, settings)),
        ]
        for arm, fn in arms if repeat % 2 == 0 else arms[::-1]:
            runs.append(_run(arm, repeat, fn, say))
    if settings.workers > 0:
        executor = f"process:{settings.workers}"
        runs.append(_run("pool", 0, lambda: time_sweep(refs, settings, executor), say))
    plain = next(r for r in runs if r["arm"] == "plain")
    sweep = next(r for r in runs if r["arm"] == "sweep")
    labels = [p.label for p in points]
    if sweep["sweep"]["design"] != labels:
        raise RuntimeError(f"the sweep's design {sweep['sweep']['design']} is not {labels}")
    scores = compare_scores(plain["scores"], sweep["scores"])
    for run in runs:
        del run["scores"]
    return {
        "title": TITLE,
        "machine": _machine(),
        "load_average": {"start": load_start, "end": load_average()},
        "settings": asdict(settings),
        "design": labels,
        "tables": components.pop("tables"),
        "components": components,
        "runs": runs,
        "scores": scores,
        "summary": summarize(runs, components),
    }


def _per_second(fits: float, seconds: float) -> float | None:
    return fits / seconds if seconds > 0 else None


def summarize(runs: Sequence[Mapping[str, Any]], components: Mapping[str, float]) -> dict[str, Any]:
    """Return the headline figures: medians over repeats per arm, the ratio, the time shares.

    Parameters
    ----------
    runs : sequence of dict
        The runs of :func:`run_sweep_speed` (``arm``, ``fits``, CPU and wall seconds).
    components : mapping
        :func:`time_components`' totals.
    """
    arms: dict[str, dict[str, Any]] = {}
    for arm in ("sweep", "plain", "pool"):
        mine = [r for r in runs if r["arm"] == arm]
        if not mine:
            continue
        cpu = statistics.median(r["cpu_seconds"] for r in mine)
        wall = statistics.median(r["wall_seconds"] for r in mine)
        fits = mine[0]["fits"]
        arms[arm] = {
            "runs": len(mine),
            "fits": fits,
            "cpu_seconds": cpu,
            "wall_seconds": wall,
            "fits_per_cpu_second": _per_second(fits, cpu),
            "fits_per_wall_second": _per_second(fits, wall),
            "cpu_seconds_runs": [r["cpu_seconds"] for r in mine],
        }
    out: dict[str, Any] = {"arms": arms}
    sweep, plain = arms["sweep"], arms["plain"]
    if sweep["fits_per_cpu_second"] and plain["fits_per_cpu_second"]:
        ratio = sweep["fits_per_cpu_second"] / plain["fits_per_cpu_second"]
        out["ratio_fits_per_cpu_second"] = ratio
        out["ratio_fits_per_wall_second"] = (
            sweep["fits_per_wall_second"] / plain["fits_per_wall_second"]
        )
        out["not_slower"] = bool(ratio >= 1.0)
    out["same_fits"] = sweep["fits"] == plain["fits"]
    # The shares are of one sweep run's wall time: its evaluations are timed by
    # the sweep itself; loading and meta-features by time_components.
    first = next(r for r in runs if r["arm"] == "sweep")
    wall = first["wall_seconds"]
    evaluations = first["evaluation_seconds"]
    load, features = components["load_wall_seconds"], components["metafeatures_wall_seconds"]
    out["sweep_wall_shares"] = {
        "evaluations": evaluations / wall,
        "loading": load / wall,
        "metafeatures": features / wall,
        "writes_and_rest": max(0.0, wall - evaluations - load - features) / wall,
    }
    if "pool" in arms:
        pool = next(r for r in runs if r["arm"] == "pool")
        out["pool"] = {
            "executor": pool["executor"],
            "wall_speedup": sweep["wall_seconds"] / pool["wall_seconds"],
            "cpu_seconds_with_workers": pool["cpu_seconds"] + pool["children_cpu_seconds"],
        }
    return out


def _fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _loads(runs: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(
        f"{r['arm']} {r['repeat']}: {format_load(r['load_before'])} -> "
        f"{format_load(r['load_after'])}"
        for r in runs
    )


ARM_LABELS = {
    "sweep": "(a) `KnowledgeBase.sweep`, inprocess, fresh knowledge base",
    "plain": "(b) plain `cross_val_score` loop",
}


def render_markdown(report: Mapping[str, Any]) -> str:
    """Return the page's generated part: the run, both arms, the ratio, the shares, the pool run.

    The prose (what is measured and why) lives in docs/benchmarks/sweep_speed.md
    around the generated part (`metakb.bench.render.fill_page`).
    """
    s, summary = report["settings"], report["summary"]
    arms, tables = summary["arms"], report["tables"]
    design = report["design"]
    lines = [
        f"Produced by: `{report.get('command', 'metakb bench sweep-speed')}` on "
        f"{report['machine']}, shared with other jobs: load average (1/5/15 min) "
        f"{format_load(report['load_average']['start'])} at the start, "
        f"{format_load(report['load_average']['end'])} at the end; per run, before -> after: "
        f"{_loads(report['runs'])}.",
        "",
        f"{len(tables)} tables, cut to at most {s['max_rows']} rows; {s['algorithm']}, design "
        f"`{s['design']}` of {len(design)} configurations ({', '.join(design)}), "
        f"{s['n_splits']}-fold cross-validation, seed {s['seed']}; {s['repeats']} "
        f"run{'s' if s['repeats'] > 1 else ''} of each arm, medians shown. Tables: "
        f"{report.get('selection', {}).get('rule', 'as given')}.",
        "",
        "| arm | fits | CPU s | wall s | fits per CPU s | fits per wall s |",
        "|---|---|---|---|---|---|",
    ]
    for arm in ("sweep", "plain"):
        a = arms[arm]
        lines.append(
            f"| {ARM_LABELS[arm]} | {a['fits']} | {a['cpu_seconds']:.1f} | "
            f"{a['wall_seconds']:.1f} | {_fmt(a['fits_per_cpu_second'])} | "
            f"{_fmt(a['fits_per_wall_second'])} |"
        )
    ratio = summary.get("ratio_fits_per_cpu_second")
    lines += [
        f"| **(a) / (b)** | | | | **{_fmt(ratio)}** | "
        f"{_fmt(summary.get('ratio_fits_per_wall_second'))} |",
        "",
    ]
    if ratio is not None:
        lines.append(
            "- Target: the sweep is not slower than the plain loop (fits per CPU second, "
            f"(a) / (b) >= 1): **{'met' if summary['not_slower'] else 'MISSED'}** "
            f"({_fmt(ratio)}; CPU seconds per run: "
            + "; ".join(
                f"{arm} {', '.join(f'{v:.1f}' for v in arms[arm]['cpu_seconds_runs'])}"
                + f" (spread {_spread(arms[arm]['cpu_seconds_runs']):.0%} of the median)"
                for arm in ("sweep", "plain")
            )
            + "). The spread is how far the machine alone moved one arm between its runs."
        )
    lines.append(
        "- Same fits in both arms: "
        + (
            "yes"
            if summary["same_fits"]
            else f"**no** ({arms['sweep']['fits']} vs {arms['plain']['fits']})"
        )
        + _scores_line(report["scores"])
    )
    shares = summary["sweep_wall_shares"]
    lines += [
        f"- Where (a)'s wall time goes: evaluations {shares['evaluations']:.1%} (timed by the "
        f"sweep), reading and cutting the tables {shares['loading']:.1%} and meta-features "
        f"{shares['metafeatures']:.1%} (both timed again on the same tables), writes and the "
        f"rest {shares['writes_and_rest']:.1%} (what is left: creating the knowledge base, "
        "registering tables, writing evaluations, reading what is stored).",
        "",
    ]
    if "pool" in summary:
        pool, p = summary["pool"], arms["pool"]
        lines += [
            f"### The sweep with `{pool['executor']}` workers (wall-clock speed-up)",
            "",
            "A separate run, not part of the ratio above: the same sweep with a process pool. "
            "Its CPU seconds add the workers' (reaped children) to this process's.",
            "",
            "| executor | fits | wall s | CPU s, with workers | fits per wall s | wall speed-up |",
            "|---|---|---|---|---|---|",
            f"| inprocess | {arms['sweep']['fits']} | {arms['sweep']['wall_seconds']:.1f} | "
            f"{arms['sweep']['cpu_seconds']:.1f} | {_fmt(arms['sweep']['fits_per_wall_second'])}"
            " | 1.00 |",
            f"| {pool['executor']} | {p['fits']} | {p['wall_seconds']:.1f} | "
            f"{pool['cpu_seconds_with_workers']:.1f} | {_fmt(p['fits_per_wall_second'])} | "
            f"{_fmt(pool['wall_speedup'])} |",
            "",
        ]
    lines += [
        "### Per table",
        "",
        "CPU seconds per table of the first run of each arm ((a)'s from its progress calls, so "
        "its set-up before the first table is only in the totals).",
        "",
        "| table | task | rows | features | classes | (a) CPU s | (b) CPU s | (a) / (b) "
        "fits per CPU s | meta-features CPU s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    first = {arm: next((r for r in report["runs"] if r["arm"] == arm), None) for arm in arms}
    for name, t in tables.items():
        a = (first["sweep"] or {}).get("tables", {}).get(name, {})
        b = (first["plain"] or {}).get("tables", {}).get(name, {})
        rate_a = _per_second(a.get("fits", 0), a.get("cpu_seconds", 0.0))
        rate_b = _per_second(b.get("fits", 0), b.get("cpu_seconds", 0.0))
        lines.append(
            f"| {name} | {t['task_type']} | {t['rows']} | {t['features']} | "
            f"{t['classes'] if t['classes'] is not None else '-'} | "
            f"{_fmt(a.get('cpu_seconds'))} | {_fmt(b.get('cpu_seconds'))} | "
            f"{_fmt(rate_a / rate_b if rate_a and rate_b else None)} | "
            f"{_fmt(t['metafeatures_cpu_seconds'])} |"
        )
    return "\n".join(lines) + "\n"


def _spread(values: Sequence[float]) -> float:
    """Return (max - min) / median: how far repeated runs of one arm differ."""
    middle = statistics.median(values)
    return (max(values) - min(values)) / middle if middle > 0 else 0.0


def _scores_line(scores: Mapping[str, Any]) -> str:
    text = (
        f"; their mean CV scores agree on {scores['compared']} (table, configuration) pairs, "
        f"largest difference {_fmt(scores['max_abs_difference'], 3)}"
        if scores["max_abs_difference"] is None
        else f"; their mean CV scores agree on {scores['compared']} (table, configuration) "
        f"pairs, largest difference {scores['max_abs_difference']:.2g}"
    )
    extra = [
        f"{scores[k]} {label}"
        for k, label in (
            ("failed_in_both", "failed in both"),
            ("failed_in_one", "failed in one arm only"),
            ("missing", "missing from the sweep"),
        )
        if scores[k]
    ]
    return text + (f" ({', '.join(extra)})" if extra else "") + "."


def plot_report(report: Mapping[str, Any], path: str | Path) -> None:
    """Plot fits per CPU second per table for both arms, and wall seconds with the pool.

    Needs matplotlib.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["tables"])
    first = {r["arm"]: r for r in reversed(report["runs"])}  # the first run of each arm
    x = np.arange(len(names))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for offset, arm, label in ((-0.2, "sweep", "(a) sweep"), (0.2, "plain", "(b) plain loop")):
        per = first[arm]["tables"]
        rates = [
            per[n]["fits"] / per[n]["cpu_seconds"] if per.get(n, {}).get("cpu_seconds") else 0.0
            for n in names
        ]
        left.bar(x + offset, rates, width=0.4, label=label)
    left.set_ylabel("fits per CPU second")
    left.set_yscale("log")
    left.set_title("Throughput per table (higher is better)")
    # Every sweep run: the inprocess runs' spread is the yardstick for the pool's gain.
    sweeps = [r for r in report["runs"] if r["arm"] in ("sweep", "pool")]
    width = 0.8 / len(sweeps)
    for i, run in enumerate(sweeps):
        per = run["tables"]
        right.bar(
            x - 0.4 + width * (i + 0.5),
            [per.get(n, {}).get("wall_seconds", 0.0) for n in names],
            width=width,
            label=f"sweep, {run['executor']}, run {run['repeat']}",
        )
    right.set_ylabel("wall seconds")
    right.set_title("Sweep wall time per table")
    for ax in (left, right):
        ax.set_xticks(x, names, rotation=45, ha="right", fontsize=7)
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
