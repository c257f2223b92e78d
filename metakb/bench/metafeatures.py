"""Meta-feature benchmarks: parity with OpenML's stored qualities, and speed against pymfe.

Both run on the PMLB folder of the shared data (``pmlb_datasets/manifest.csv``).

- :func:`measure_speed` computes every family on every PMLB dataset in
  parallel (total wall time, slowest dataset), then, in the same run, times
  metakb and pymfe side by side on a subset with the comparable pymfe groups.
- :func:`parity_report` compares metakb's values with the qualities OpenML
  computed for the same datasets (``openml100_sklearn_hpo_runs`` and
  ``tabrepo_lightgbm_2022``): exact-match rate for counts, median relative
  error for statistics and entropies, Spearman rank correlation across
  datasets for landmarkers.
"""

from __future__ import annotations

import math
import os
import platform
import re
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from metakb.datasets import MAX_INTEGER_CATEGORIES, load_table
from metakb.metafeatures import FAMILIES, METAFEATURES_VERSION, extract_table
from metakb.metafeatures.landmarking import OPTIONS

COUNTS = (
    "NumberOfInstances",
    "NumberOfFeatures",
    "NumberOfClasses",
    "NumberOfMissingValues",
    "NumberOfInstancesWithMissingValues",
    "MajorityClassSize",
    "MinorityClassSize",
    "NumberOfNumericFeatures",
    "NumberOfSymbolicFeatures",
    "NumberOfBinaryFeatures",
)
# Counts that depend on which columns are categorical: PMLB integer-encodes
# categorical columns, so these can only agree as far as the inference rule does.
TYPE_DEPENDENT = ("NumberOfNumericFeatures", "NumberOfSymbolicFeatures", "NumberOfBinaryFeatures")
LANDMARK_SUFFIXES = ("AUC", "ErrRate", "Kappa")
PYMFE_GROUPS = {
    "simple": "general",
    "statistical": "statistical",
    "info_theory": "info-theory",
    "landmarking": "landmarking",
    "model_based": "model-based",
}


def read_manifest(data_dir: str | Path) -> pd.DataFrame:
    """Return the PMLB manifest with an absolute ``path`` column."""
    folder = Path(data_dir) / "pmlb_datasets"
    manifest = pd.read_csv(folder / "manifest.csv")
    manifest["path"] = [str(folder / f) for f in manifest["file"]]
    return manifest


def _featurize_one(
    path: str, task_type: str, families: Sequence[str] | None, seed: int
) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    started, cpu_started = time.perf_counter(), time.process_time()
    with threadpool_limits(1):
        table = load_table(path, task_type=task_type, duplicate_columns="rename")
        loaded = time.perf_counter()
        result = extract_table(table, families=families, seed=seed)
    done = time.perf_counter()
    return {
        "values": result.values,
        "skipped": len(result.skipped),
        "family_seconds": result.seconds,
        "load_seconds": loaded - started,
        "extract_seconds": done - loaded,
        "seconds": done - started,
        # CPU time of this process: what the dataset costs when it has a core to itself.
        "cpu_seconds": time.process_time() - cpu_started,
        "rows": len(table.X),
        "columns": table.X.shape[1],
    }


def featurize_manifest(
    manifest: pd.DataFrame,
    *,
    n_jobs: int = 2,
    families: Sequence[str] | None = None,
    seed: int = 0,
) -> tuple[dict[str, dict[str, Any]], float]:
    """Featurize every manifest dataset in parallel; return per-dataset results and wall time."""
    started = time.perf_counter()
    jobs = list(zip(manifest["name"], manifest["path"], manifest["task_type"], strict=True))
    out: dict[str, dict[str, Any]] = {}
    if n_jobs == 1:
        for name, path, task in jobs:
            out[name] = _featurize_one(path, task, families, seed)
    else:
        with ProcessPoolExecutor(max_workers=n_jobs) as pool:
            futures = {
                name: pool.submit(_featurize_one, path, task, families, seed)
                for name, path, task in jobs
            }
            out = {name: future.result() for name, future in futures.items()}
    return out, time.perf_counter() - started


def _pymfe_group(X: np.ndarray, y: np.ndarray, cat_cols: list[int], group: str) -> None:
    from pymfe.mfe import MFE

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mfe = MFE(groups=[group], summary=["mean", "min", "max"], random_state=0)
        mfe.fit(X, y, cat_cols=cat_cols, suppress_warnings=True)
        mfe.extract(suppress_warnings=True)


def _pymfe_seconds(
    path: str, task_type: str, families: Sequence[str], timeout_s: float
) -> tuple[dict[str, float], list[str]]:
    """Time each pymfe group in a child process; a group past ``timeout_s`` counts as that.

    Returns the seconds per family and the families that hit the timeout
    (their time is a lower bound).
    """
    import multiprocessing

    import pymfe.mfe  # noqa: F401  imported before forking, so no child pays for the import

    table = load_table(path, task_type=task_type, duplicate_columns="rename")
    cat_cols = [i for i, c in enumerate(table.X.columns) if table.kinds[c] == "categorical"]
    frame = table.X.apply(lambda s: s if pd.api.types.is_numeric_dtype(s) else pd.factorize(s)[0])
    X = frame.to_numpy(dtype=float)
    y = table.y.to_numpy()
    seconds: dict[str, float] = {}
    timed_out: list[str] = []
    context = multiprocessing.get_context("fork")
    for family in families:
        group = PYMFE_GROUPS[family]
        if table.task_type == "regression" and group in ("info-theory", "landmarking"):
            continue  # pymfe defines these for classification only, as metakb does
        started = time.perf_counter()
        child = context.Process(target=_pymfe_group, args=(X, y, cat_cols, group))
        child.start()
        child.join(timeout_s)
        if child.is_alive():
            child.terminate()
            child.join()
            timed_out.append(family)
        seconds[family] = time.perf_counter() - started
    return seconds, timed_out


def pymfe_subset(manifest: pd.DataFrame, n: int, max_rows: int) -> pd.DataFrame:
    """Every k-th dataset (by name) with at most ``max_rows`` rows: a deterministic subset."""
    if n <= 0:
        return manifest.iloc[0:0]
    small = manifest[manifest["n_rows"] <= max_rows].sort_values("name")
    step = max(1, len(small) // n)
    return small.iloc[::step].head(n)


def measure_speed(
    data_dir: str | Path,
    *,
    n_jobs: int = 2,
    pymfe_datasets: int = 30,
    pymfe_max_rows: int = 5000,
    pymfe_timeout_s: float = 30.0,
    progress: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Time all families on all PMLB datasets, then metakb vs pymfe on a subset.

    Returns
    -------
    tuple
        The speed figures, and the per-dataset results (values included) of
        the full run, which :func:`parity_report` reuses.
    """
    say = progress or (lambda message: None)
    manifest = read_manifest(data_dir)
    say(f"metakb: all families on {len(manifest)} datasets, {n_jobs} workers")
    load_before = os.getloadavg()[0]
    results, wall = featurize_manifest(manifest, n_jobs=n_jobs)
    load_after = os.getloadavg()[0]
    per_dataset = {name: r["seconds"] for name, r in results.items()}
    slowest = max(per_dataset, key=lambda k: per_dataset[k])
    cpu = {name: r["cpu_seconds"] for name, r in results.items()}
    slowest_cpu = max(cpu, key=lambda k: cpu[k])
    family_totals = {
        f: sum(r["family_seconds"].get(f, 0.0) for r in results.values()) for f in FAMILIES
    }
    speed: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "datasets": len(manifest),
        "n_jobs": n_jobs,
        "wall_seconds": wall,
        "sum_dataset_seconds": sum(per_dataset.values()),
        "slowest_dataset": slowest,
        "slowest_seconds": per_dataset[slowest],
        "slowest_cpu_dataset": slowest_cpu,
        "slowest_cpu_seconds": cpu[slowest_cpu],
        "sum_dataset_cpu_seconds": sum(cpu.values()),
        "load_average": [load_before, load_after],
        "median_dataset_seconds": float(np.median(list(per_dataset.values()))),
        "family_seconds_total": family_totals,
        "values_per_dataset": int(np.median([len(r["values"]) for r in results.values()])),
        "skipped_per_dataset_median": float(np.median([r["skipped"] for r in results.values()])),
        "targets": {"wall_seconds": 180.0, "slowest_seconds": 5.0},
    }
    subset = pymfe_subset(manifest, pymfe_datasets, pymfe_max_rows)
    say(f"pymfe vs metakb on {len(subset)} datasets (<= {pymfe_max_rows} rows), one process")
    side: list[dict[str, Any]] = []
    for name, path, task in zip(subset["name"], subset["path"], subset["task_type"], strict=True):
        ours = _featurize_one(path, task, None, 0)["family_seconds"]
        theirs, timed_out = _pymfe_seconds(path, task, list(FAMILIES), pymfe_timeout_s)
        side.append({"dataset": name, "metakb": ours, "pymfe": theirs, "timed_out": timed_out})
        say(f"  {name}: metakb {sum(ours.values()):.2f} s, pymfe {sum(theirs.values()):.2f} s")
    speed["pymfe"] = _side_by_side(side) if side else None
    return speed, results


def _side_by_side(side: list[dict[str, Any]]) -> dict[str, Any]:
    by_family: dict[str, dict[str, float]] = {}
    for family in FAMILIES:
        # Only datasets where pymfe ran the family count, for both tools.
        rows = [s for s in side if family in s["pymfe"]]
        ours = sum(s["metakb"].get(family, 0.0) for s in rows)
        theirs = sum(s["pymfe"][family] for s in rows)
        by_family[family] = {
            "datasets": len(rows),
            "metakb_seconds": ours,
            "pymfe_seconds": theirs,
            "speedup": theirs / ours if ours else math.nan,
        }
    ours_total = sum(v["metakb_seconds"] for v in by_family.values())
    theirs_total = sum(v["pymfe_seconds"] for v in by_family.values())
    return {
        "datasets": [s["dataset"] for s in side],
        "by_family": by_family,
        "metakb_seconds": ours_total,
        "pymfe_seconds": theirs_total,
        "speedup": theirs_total / ours_total if ours_total else math.nan,
        "timed_out": {s["dataset"]: s["timed_out"] for s in side if s["timed_out"]},
        "per_dataset": [
            {
                "dataset": s["dataset"],
                "metakb": sum(s["metakb"].values()),
                "pymfe": sum(s["pymfe"].values()),
            }
            for s in side
        ],
    }


def openml_qualities(data_dir: str | Path) -> pd.DataFrame:
    """Return OpenML's stored qualities per OpenML dataset id, from both published sources.

    OpenML100 qualities (119) come first; TabRepo's (simple counts only) fill in
    datasets OpenML100 does not have. Index: ``openml_dataset_id``; column
    ``source`` says where the row came from.
    """
    base = Path(data_dir)
    tasks = pd.read_csv(base / "openml100_sklearn_hpo_runs" / "tasks.csv")
    qualities = pd.read_csv(base / "openml100_sklearn_hpo_runs" / "task_qualities.csv")
    oml = qualities.merge(tasks[["task_id", "openml_dataset_id"]], on="task_id")
    oml = oml.dropna(subset=["openml_dataset_id"]).drop(columns=["task_id"])
    oml["openml_dataset_id"] = oml["openml_dataset_id"].astype(int)
    oml = oml.drop_duplicates("openml_dataset_id").copy()
    oml["source"] = "openml100"
    tab = pd.read_csv(base / "tabrepo_lightgbm_2022" / "task_metadata.csv")
    keep = [c for c in tab.columns if c[:1].isupper()] + ["did"]
    tab = tab[keep].rename(columns={"did": "openml_dataset_id"})
    tab = tab.drop_duplicates("openml_dataset_id").assign(source="tabrepo")
    tab = tab[~tab["openml_dataset_id"].isin(oml["openml_dataset_id"])]
    return pd.concat([oml, tab], ignore_index=True).set_index("openml_dataset_id")


# Landmarkers whose Weka options OpenML's engine applied only to the first dataset
# of a run (see metakb.metafeatures.landmarking): learner pattern -> its option variants.
_OPTION_GROUPS = {
    re.compile(r"^(REPTreeDepth)\d$"): ("REPTreeDepth1", "REPTreeDepth2", "REPTreeDepth3"),
    re.compile(r"^(RandomTreeDepth)\d$"): (
        "RandomTreeDepth1",
        "RandomTreeDepth2",
        "RandomTreeDepth3",
    ),
    re.compile(r"^(J48)\.0+1\.$"): ("J48.00001.", "J48.0001.", "J48.001."),
    re.compile(r"^(CfsSubsetEval)_\w+$"): (
        "CfsSubsetEval_kNN1N",
        "CfsSubsetEval_NaiveBayes",
        "CfsSubsetEval_DecisionStump",
    ),
}
_MEASURE = re.compile(r"^(.*?)(AUC|ErrRate|Kappa)$")


def options_ignored(learner: str, ref: pd.Series) -> bool | None:
    """Whether OpenML's stored values for ``learner`` came from Weka's defaults.

    The option variants of one learner (REPTree depth 1-3, J48 confidence
    .00001-.001, CfsSubsetEval around three learners) then have equal stored
    error rates. None when ``learner`` has no options or a variant is missing.
    """
    for pattern, variants in _OPTION_GROUPS.items():
        if pattern.match(learner):
            stored = pd.to_numeric(pd.Series([ref.get(f"{v}ErrRate") for v in variants]))
            if stored.isna().any():
                return None
            return bool(np.allclose(stored.to_numpy(dtype=float), float(stored.iloc[0])))
    return None


def _as_stored(quality: str, ours: dict[str, float], ref: pd.Series) -> tuple[float, bool] | None:
    """Return the local value matching what OpenML actually stored for ``quality``.

    Where OpenML's stored values show the options were ignored, metakb's value
    under OpenML's name (Weka's defaults) is the comparable one; otherwise the
    variant with the options, ``metakb.landmark.<quality>``. Returns that value
    and whether the options were ignored, or None for a learner without options.
    """
    match = _MEASURE.match(quality)
    if not match:
        return None
    ignored = options_ignored(match.group(1), ref)
    if ignored is None:
        return None
    value = ours.get(quality if ignored else f"{OPTIONS}{quality}")
    return None if value is None else (float(value), ignored)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho, NaN when undefined (fewer than 3 pairs or a constant side)."""
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return math.nan
    return float(spearmanr(a, b).statistic)


def kind_evidence(path: str, task_type: str) -> dict[str, Any]:
    """Describe how a PMLB table's columns were classified, for the parity report.

    Returns counts of: non-constant integer columns inferred categorical (with
    the range of their distinct-value counts and of their values), integer
    columns with more distinct values than the rule allows (inferred numeric),
    constant columns, and categorical columns with exactly two observed values.
    """
    table = load_table(path, task_type=task_type, duplicate_columns="rename")
    cat_int: list[tuple[int, float, float]] = []
    many: list[int] = []
    constant = binary = 0
    for name in table.X.columns:
        column = pd.to_numeric(table.X[name], errors="coerce").dropna()
        distinct = np.unique(column.to_numpy(dtype=float))
        integer = distinct.size > 0 and bool(np.all(distinct == np.round(distinct)))
        constant += int(distinct.size == 1)
        if table.kinds[name] == "categorical":
            binary += int(distinct.size == 2)
            if integer and distinct.size > 1:
                cat_int.append((distinct.size, float(distinct.min()), float(distinct.max())))
        elif integer:
            many.append(distinct.size)
    return {
        "categorical_integer_columns": len(cat_int),
        "categorical_distinct_range": [min(c[0] for c in cat_int), max(c[0] for c in cat_int)]
        if cat_int
        else None,
        "categorical_value_range": [min(c[1] for c in cat_int), max(c[2] for c in cat_int)]
        if cat_int
        else None,
        "numeric_integer_columns": len(many),
        "numeric_integer_distinct_range": [min(many), max(many)] if many else None,
        "constant_columns": constant,
        "binary_categorical_columns": binary,
    }


def quality_kind(name: str) -> str:
    """Classify a quality as ``count``, ``landmarker`` or ``statistic`` for the parity report."""
    if name in COUNTS:
        return "count"
    if name.endswith(LANDMARK_SUFFIXES) and not name.startswith("metakb."):
        return "landmarker"
    return "statistic"


def parity_report(
    data_dir: str | Path, results: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Compare metakb's values with OpenML's stored qualities on the PMLB datasets with an id.

    Parameters
    ----------
    data_dir : str or Path
        The shared data folder.
    results : dict, optional
        Per-dataset results of :func:`featurize_manifest` (recomputed when absent).

    Returns
    -------
    dict
        ``datasets`` compared, and per quality: kind, number of datasets, and
        the exact-match rate (counts), median relative error (statistics) or
        Spearman correlation (landmarkers); counts list their mismatches.
    """
    manifest = read_manifest(data_dir)
    manifest = manifest.dropna(subset=["openml_dataset_id"]).copy()
    manifest["openml_dataset_id"] = manifest["openml_dataset_id"].astype(int)
    reference = openml_qualities(data_dir)
    manifest = manifest[manifest["openml_dataset_id"].isin(reference.index)]
    if results is None:
        results, _ = featurize_manifest(manifest)
    pairs: dict[str, list[tuple[str, float, float, bool]]] = {}
    stored_pairs: dict[str, list[tuple[str, float, float, bool]]] = {}
    kinds_agree: dict[str, bool] = {}
    for name, did in zip(manifest["name"], manifest["openml_dataset_id"], strict=True):
        name = str(name)
        ours = results[name]["values"]
        ref = pd.Series(reference.loc[int(did)])
        ours_sym, ref_sym = (
            ours.get("NumberOfSymbolicFeatures"),
            ref.get("NumberOfSymbolicFeatures"),
        )
        kinds_agree[name] = bool(ours_sym == ref_sym)
        rows_agree = bool(ours.get("NumberOfInstances") == ref.get("NumberOfInstances"))
        for quality, value in ref.items():
            if quality == "source" or quality not in ours:
                continue
            ref_value = pd.to_numeric(value, errors="coerce")
            ref_value = float(ref_value) if pd.notna(ref_value) else math.nan
            alt = _as_stored(str(quality), ours, ref)
            if alt is not None and not math.isnan(alt[0]):
                stored_pairs.setdefault(str(quality), []).append(
                    (name, *alt[:1], ref_value, alt[1])
                )
            our_value = float(ours[quality])
            if math.isnan(ref_value) or math.isnan(our_value):
                continue
            pairs.setdefault(str(quality), []).append((name, our_value, ref_value, rows_agree))
    per_quality = []
    for quality, items in sorted(pairs.items()):
        kind = quality_kind(quality)
        mine = np.array([i[1] for i in items])
        theirs = np.array([i[2] for i in items])
        entry: dict[str, Any] = {"quality": quality, "kind": kind, "datasets": len(items)}
        if kind == "count":
            match = mine == theirs
            entry["exact_rate"] = float(match.mean())
            same_rows = np.array([i[3] for i in items])
            entry["exact_rate_same_rows"] = (
                float(match[same_rows].mean()) if same_rows.any() else None
            )
            entry["type_dependent"] = quality in TYPE_DEPENDENT
            entry["mismatches"] = [
                {"dataset": i[0], "metakb": i[1], "openml": i[2]}
                for i, m in zip(items, match, strict=True)
                if not m
            ]
        elif kind == "landmarker":
            rho = _spearman(mine, theirs)
            entry["spearman"] = None if math.isnan(rho) else float(rho)
            entry["median_abs_diff"] = float(np.median(np.abs(mine - theirs)))
            matched = [i for i in stored_pairs.get(quality, []) if not math.isnan(i[2])]
            if matched and len(matched) > 2:
                rho = _spearman(
                    np.array([i[1] for i in matched]), np.array([i[2] for i in matched])
                )
                entry["spearman_as_stored"] = None if math.isnan(rho) else float(rho)
                entry["datasets_defaults"] = sum(i[3] for i in matched)
        else:
            rel = np.abs(mine - theirs) / np.maximum(np.abs(theirs), 1e-9)
            entry["median_rel_error"] = float(np.median(rel))
            agree = np.array([kinds_agree[i[0]] for i in items])
            entry["median_rel_error_kinds_agree"] = (
                float(np.median(rel[agree])) if agree.any() else None
            )
            entry["datasets_kinds_agree"] = int(agree.sum())
        per_quality.append(entry)
    differing = sorted(
        {m["dataset"] for e in per_quality if e.get("type_dependent") for m in e["mismatches"]}
    )
    paths = dict(zip(manifest["name"].astype(str), manifest["path"], strict=True))
    tasks = dict(zip(manifest["name"].astype(str), manifest["task_type"], strict=True))
    type_evidence = {}
    for name in differing:
        did = int(manifest.loc[manifest["name"] == name, "openml_dataset_id"].iloc[0])
        stored = pd.Series(reference.loc[did])
        computed = pd.Series(results[name]["values"])
        type_evidence[name] = {
            **{
                f"{side}_{q}": _num(source.get(q))
                for side, source in (("metakb", computed), ("openml", stored))
                for q in (*TYPE_DEPENDENT, "NumberOfFeatures")
            },
            **kind_evidence(paths[name], tasks[name]),
        }
    landmark = [
        e["spearman"]
        for e in per_quality
        if e["kind"] == "landmarker" and e["spearman"] is not None
    ]
    as_stored = [
        e.get("spearman_as_stored", e["spearman"])
        for e in per_quality
        if e["kind"] == "landmarker" and e.get("spearman_as_stored", e["spearman"]) is not None
    ]
    return {
        "datasets": sorted(manifest["name"]),
        "datasets_openml100": int(
            (reference.loc[manifest["openml_dataset_id"], "source"] == "openml100").sum()
        ),
        "datasets_kinds_agree": int(sum(kinds_agree.values())),
        "qualities": per_quality,
        "landmarker_spearman_median": float(np.median(landmark)) if landmark else None,
        "landmarker_spearman_as_stored_median": float(np.median(as_stored)) if as_stored else None,
        "metafeatures_version": METAFEATURES_VERSION,
        "type_evidence": type_evidence,
    }


def _span(pair: list[float]) -> str:
    lo, hi = (f"{v:g}" for v in pair)
    return lo if lo == hi else f"{lo}-{hi}"


def likely_causes(ev: dict[str, Any]) -> list[str]:
    """Name the column-kind differences that the evidence of :func:`kind_evidence` shows."""
    causes = []
    num_ours, num_ref = ev["metakb_NumberOfNumericFeatures"], ev["openml_NumberOfNumericFeatures"]
    sym_ours, sym_ref = ev["metakb_NumberOfSymbolicFeatures"], ev["openml_NumberOfSymbolicFeatures"]
    if None not in (num_ours, num_ref) and num_ours < num_ref and ev["categorical_integer_columns"]:
        causes.append("numeric integer attributes with few values read as categorical")
    if None not in (num_ours, num_ref) and num_ours > num_ref and ev["numeric_integer_columns"]:
        causes.append(
            f"nominal attributes with > {MAX_INTEGER_CATEGORIES} categories read as numeric"
        )
    if None not in (sym_ours, sym_ref) and sym_ours > sym_ref and ev["constant_columns"]:
        causes.append("constant columns read as categorical")
    bin_ours, bin_ref = ev["metakb_NumberOfBinaryFeatures"], ev["openml_NumberOfBinaryFeatures"]
    cols_ours, cols_ref = ev["metakb_NumberOfFeatures"], ev["openml_NumberOfFeatures"]
    if None not in (cols_ours, cols_ref) and cols_ours != cols_ref:
        causes.append(f"PMLB has {cols_ours - cols_ref:+g} columns")
    elif sym_ours == sym_ref and None not in (bin_ours, bin_ref) and bin_ours != bin_ref:
        causes.append("OpenML counts values declared in the ARFF header, metakb observed ones")
    return causes or ["unexplained"]


def _num(value: Any) -> float | None:
    number = pd.to_numeric(value, errors="coerce")
    return None if pd.isna(number) else float(number)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


SPEED_TITLE = "Meta-feature speed benchmark"
"""The speed page's title (`metakb.bench.render.fill_page`)."""
PARITY_TITLE = "Meta-feature parity with OpenML"
"""The parity page's title (`metakb.bench.render.fill_page`)."""


def speed_markdown(speed: dict[str, Any]) -> dict[str, str]:
    """Render :func:`measure_speed`'s figures as the speed page's generated blocks.

    Blocks: ``run`` (machine, the all-datasets table and its verdict),
    ``pymfe_heading`` and ``pymfe`` (the side-by-side table and the timeouts).
    How the comparison is set up lives in docs/benchmarks/metafeatures_speed.md
    (`metakb.bench.render.fill_page`).
    """
    target = speed["targets"]
    met = (
        speed["wall_seconds"] < target["wall_seconds"]
        and speed["slowest_seconds"] < target["slowest_seconds"]
    )
    run = [
        f"Machine: {speed['machine']} (shared with other jobs while measured: 1-minute"
        " load average "
        + " / ".join(f"{v:.1f}" for v in speed.get("load_average", []))
        + " before / after the full run).",
        "",
        f"## All families on all {speed['datasets']} PMLB datasets, {speed['n_jobs']} workers",
        "",
        "| figure | value | target |",
        "|---|---|---|",
        f"| wall time (load + extract, all datasets) | {speed['wall_seconds']:.1f} s | "
        f"< {target['wall_seconds']:.0f} s |",
        f"| slowest dataset | {speed['slowest_seconds']:.2f} s ({speed['slowest_dataset']}) | "
        f"< {target['slowest_seconds']:.0f} s |",
        f"| slowest dataset, CPU time of its process | {speed['slowest_cpu_seconds']:.2f} s"
        f" ({speed['slowest_cpu_dataset']}) | |",
        f"| median dataset | {speed['median_dataset_seconds']:.2f} s | |",
        f"| sum over datasets (one core) | {speed['sum_dataset_seconds']:.1f} s | |",
        f"| values per dataset | {speed['values_per_dataset']} "
        f"(median {speed['skipped_per_dataset_median']:.0f} NaN with a reason) | |",
        "",
        f"Targets {'met' if met else 'NOT met'}.",
        "",
        "Seconds per family, summed over datasets: "
        + ", ".join(f"{k} {v:.1f}" for k, v in speed["family_seconds_total"].items()),
    ]
    mfe = speed.get("pymfe")
    if not mfe:
        return {
            "run": "\n".join(run),
            "pymfe_heading": "## Side by side with pymfe",
            "pymfe": "pymfe was not run.",
        }
    lines = ["| family | datasets | metakb s | pymfe s | speed-up |", "|---|---|---|---|---|"]
    for family, row in mfe["by_family"].items():
        lines.append(
            f"| {family} | {row['datasets']} | {row['metakb_seconds']:.2f} | "
            f"{row['pymfe_seconds']:.2f} | {_fmt(row['speedup'])}x |"
        )
    lines += [
        f"| **all** | {len(mfe['datasets'])} | {mfe['metakb_seconds']:.2f} | "
        f"{mfe['pymfe_seconds']:.2f} | **{_fmt(mfe['speedup'])}x** |",
        "",
        "pymfe groups that ran past the timeout were stopped and count at the"
        " timeout (a lower bound, so the speed-ups are conservative): "
        + (", ".join(f"{d} ({', '.join(f)})" for d, f in mfe["timed_out"].items()) or "none")
        + ".",
    ]
    return {
        "run": "\n".join(run),
        "pymfe_heading": f"## Side by side with pymfe on {len(mfe['datasets'])} datasets",
        "pymfe": "\n".join(lines),
    }


def parity_markdown(
    parity: dict[str, Any], previous: dict[str, Any] | None = None
) -> dict[str, str]:
    """Render :func:`parity_report` as the parity page's generated blocks.

    Blocks: ``datasets`` (how many datasets have references), ``kinds_agree``
    (inline: datasets whose column kinds agree), ``counts``,
    ``landmarker_median``, ``landmarkers``, ``kinds`` (the column-kind
    evidence) and ``statistics``. What PMLB's preprocessing changes and how
    OpenML's landmarkers were computed lives in
    docs/benchmarks/metafeatures_parity.md (`metakb.bench.render.fill_page`).

    Parameters
    ----------
    parity : dict
        A :func:`parity_report`.
    previous : dict, optional
        An earlier :func:`parity_report` (e.g. of the previous meta-feature
        version) whose landmarker correlations are shown alongside.
    """
    counts = [q for q in parity["qualities"] if q["kind"] == "count"]
    stats = [q for q in parity["qualities"] if q["kind"] == "statistic"]
    marks = [q for q in parity["qualities"] if q["kind"] == "landmarker"]
    datasets = (
        f"{len(parity['datasets'])} PMLB datasets have an OpenML dataset id with stored"
        f" qualities ({parity['datasets_openml100']} with OpenML100's 119 qualities,"
        " the rest with TabRepo's simple counts)."
    )
    kinds_agree = f"{parity['datasets_kinds_agree']} of {len(parity['datasets'])}"
    lines = [
        "| quality | datasets | exact | exact (same rows) | mismatches (metakb / OpenML) |",
        "|---|---|---|---|---|",
    ]
    for q in counts:
        shown = ", ".join(
            f"{m['dataset']} {m['metakb']:g}/{m['openml']:g}" for m in q["mismatches"][:4]
        )
        more = f" (+{len(q['mismatches']) - 4})" if len(q["mismatches"]) > 4 else ""
        flag = " (type-dependent)" if q["type_dependent"] else ""
        lines.append(
            f"| {q['quality']}{flag} | {q['datasets']} | {q['exact_rate']:.0%} | "
            f"{_pct(q['exact_rate_same_rows'])} | {shown}{more} |"
        )
    median = (
        f"Median over landmarker qualities: {_fmt(parity['landmarker_spearman_median'])};"
        f" as stored: {_fmt(parity['landmarker_spearman_as_stored_median'])} (target >= 0.8)."
    )
    before = {q["quality"]: q.get("spearman") for q in (previous or {}).get("qualities", [])}
    landmarkers = []
    if previous is not None:
        common = [
            q["spearman"]
            for q in marks
            if before.get(q["quality"]) is not None and q["spearman"] is not None
        ]
        landmarkers += [
            f"`before`: Spearman of the previous parity report"
            f" (metakb meta-features version {previous.get('metafeatures_version', '1')}),"
            f" whose median was {_fmt(previous.get('landmarker_spearman_median'))}; over"
            f" the same {len(common)} qualities the median is now"
            f" {_fmt(float(np.median(common)) if common else None)}.",
            "",
        ]
    header = "| quality | datasets | Spearman | Spearman, as stored | defaults |"
    rule = "|---|---|---|---|---|"
    if previous is not None:
        header += " before |"
        rule += "---|"
    landmarkers += [header + " median abs. difference |", rule + "---|"]
    for q in marks:
        row = (
            f"| {q['quality']} | {q['datasets']} | {_fmt(q['spearman'])} | "
            f"{_fmt(q.get('spearman_as_stored'))} | {_fmt(q.get('datasets_defaults'))} |"
        )
        if previous is not None:
            row += f" {_fmt(before.get(q['quality']))} |"
        landmarkers.append(row + f" {_fmt(q['median_abs_diff'])} |")
    return {
        "datasets": datasets,
        "kinds_agree": kinds_agree,
        "counts": "\n".join(lines),
        "landmarker_median": median,
        "landmarkers": "\n".join(landmarkers),
        "kinds": _kinds_table(parity.get("type_evidence") or {}),
        "statistics": _statistics_table(stats),
    }


def _kinds_table(evidence: dict[str, Any]) -> str:
    if not evidence:
        return "The type-dependent counts agree on every dataset."
    lines = [
        "| dataset | numeric | symbolic | binary | integer columns inferred categorical"
        " (distinct values; value range) | integer columns inferred numeric"
        " (distinct values) | constant columns | likely cause |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, ev in evidence.items():
        lines.append(
            f"| {name} | "
            + " | ".join(
                f"{_fmt(ev[f'metakb_{q}'])}/{_fmt(ev[f'openml_{q}'])}" for q in TYPE_DEPENDENT
            )
            + f" | {ev['categorical_integer_columns']}"
            + (
                f" ({_span(ev['categorical_distinct_range'])};"
                f" {_span(ev['categorical_value_range'])})"
                if ev["categorical_distinct_range"]
                else ""
            )
            + f" | {ev['numeric_integer_columns']}"
            + (
                f" ({_span(ev['numeric_integer_distinct_range'])})"
                if ev["numeric_integer_distinct_range"]
                else ""
            )
            + f" | {ev['constant_columns']} | {'; '.join(likely_causes(ev))} |"
        )
    return "\n".join(lines)


def _statistics_table(stats: Sequence[dict[str, Any]]) -> str:
    lines = [
        "| quality | datasets | median rel. error | kinds agree: datasets | median rel. error |",
        "|---|---|---|---|---|",
    ]
    for q in stats:
        lines.append(
            f"| {q['quality']} | {q['datasets']} | {_fmt(q['median_rel_error'])} | "
            f"{q['datasets_kinds_agree']} | {_fmt(q['median_rel_error_kinds_agree'])} |"
        )
    return "\n".join(lines)


def plot_speed(speed: dict[str, Any], path: str | Path) -> None:
    """Plot metakb's and pymfe's seconds per dataset on the side-by-side subset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = speed["pymfe"]["per_dataset"]
    rows = sorted(rows, key=lambda r: r["pymfe"])
    fig, ax = plt.subplots(figsize=(8, 4))
    x = np.arange(len(rows))
    ax.bar(x - 0.2, [r["pymfe"] for r in rows], width=0.4, label="pymfe")
    ax.bar(x + 0.2, [r["metakb"] for r in rows], width=0.4, label="metakb")
    ax.set_yscale("log")
    ax.set_xticks(x, [r["dataset"] for r in rows], rotation=90, fontsize=6)
    ax.set_ylabel("seconds, all five families")
    ax.set_title("Meta-feature extraction time per dataset")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
