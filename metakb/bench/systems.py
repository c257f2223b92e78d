"""Systems benchmark: training time, peak memory and recommendation latency by knowledge-base size.

The knowledge bases of 10k, 100k and 1M evaluations are **synthetic scale-ups
of a real table** (:func:`scale_meta_dataset`): the real tasks are kept and
replicated with jittered meta-features and values until the table holds the
wanted number of evaluations. Replicas keep the real configurations, so the
models see the same structure (shared candidates, value spread), only more of it.

Every (size, method) pair is measured in a fresh interpreter, so one model's
cached surrogates or memory do not leak into the next measurement: the child
builds the scaled table, fits the model (wall and CPU seconds, peak resident
memory added by the fit), times ``model.recommend`` in-process, then saves the
model as an artifact and times the end-to-end :meth:`metakb.kb.KnowledgeBase.recommend`
call, which loads (hash-checks and unpickles) the artifact on every call, as
the CLI and the Python API do.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import platform
import resource
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metakb.bench._machine import format_load, load_average
from metakb.bench.zeroshot import Progress, latency_summary, recommendation_latency
from metakb.models import WARM_STARTERS, MetaDataset, TaskData, TaskQuery

SYSTEM_SIZES: tuple[int, ...] = (10_000, 100_000, 1_000_000)
LATENCY_TARGET_MS = 100.0


def scale_meta_dataset(
    data: MetaDataset, n_evaluations: int, *, jitter: float = 0.1, seed: int = 0
) -> MetaDataset:
    """Return a synthetic table of about ``n_evaluations`` evaluations grown from ``data``.

    Below the real size, a random subset of the real tasks is kept. Above it,
    every real task stays and replicas are added, each a real task with its
    meta-features multiplied by ``exp(N(0, jitter))`` (so counts stay positive
    and keep their scale) and its values shifted by ``N(0, jitter)`` times the
    task's standard deviation. A replica is its own dataset group.

    Parameters
    ----------
    data : MetaDataset
        The real table.
    n_evaluations : int
        How many evaluations the result should hold (reached or just passed).
    jitter : float
        Relative noise of the replicas.
    seed : int
        Seed of the task choice and the noise.

    Raises
    ------
    ValueError
        ``n_evaluations`` is not positive.
    """
    if n_evaluations < 1:
        raise ValueError("n_evaluations must be positive")
    rng = np.random.default_rng(seed)
    sizes = np.array([len(t.y) for t in data.tasks])
    if n_evaluations <= sizes.sum():
        order = rng.permutation(data.n_tasks)
        keep = order[: int(np.searchsorted(np.cumsum(sizes[order]), n_evaluations)) + 1]
        return data.subset([data.task_ids[i] for i in sorted(keep)])
    tasks: list[TaskData] = list(data.tasks)
    rows: list[np.ndarray] = list(data.meta_features)
    total = int(sizes.sum())
    replica = 0
    while total < n_evaluations:
        replica += 1
        for i in rng.permutation(data.n_tasks):
            if total >= n_evaluations:
                break
            real = data.tasks[i]
            spread = float(real.y.std()) or 1.0
            tasks.append(
                TaskData(
                    task_id=f"{real.task_id}~{replica}",
                    group=f"{real.group}~{replica}",
                    config_ids=real.config_ids,
                    # Copies, as a real knowledge base holds one dict per evaluation.
                    configs=tuple(dict(c) for c in real.configs),
                    X=real.X,
                    y=real.y + rng.normal(scale=jitter * spread, size=len(real.y)),
                )
            )
            rows.append(
                data.meta_features[i]
                * np.exp(rng.normal(scale=jitter, size=data.meta_features.shape[1]))
            )
            total += len(real.y)
    return MetaDataset(
        data.space,
        tasks,
        np.vstack(rows),
        data.meta_feature_names,
        flow_id=data.flow_id,
        metric=data.metric,
        direction=data.direction,
    )


def _queries(data: MetaDataset, n: int, seed: int) -> list[TaskQuery]:
    """Return new-task queries: real tasks' meta-features, jittered so none is in the table."""
    rng = np.random.default_rng(seed + 1)
    picks = rng.choice(data.n_tasks, size=n, replace=n > data.n_tasks)
    out = []
    for i in picks:
        features = data.meta_features_of(data.task_ids[int(i)])
        out.append(
            TaskQuery(
                meta_features={
                    k: v * float(np.exp(rng.normal(scale=0.1))) for k, v in features.items()
                }
            )
        )
    return out


def _rss_mb() -> float:
    """Return the resident memory in MB (Linux /proc; the peak so far elsewhere)."""
    return _proc_status_mb("VmRSS")


def _peak_mb() -> float:
    """Return the resident-memory high-water mark in MB (since the last :func:`_reset_peak`).

    Read from /proc (VmHWM), which the reset clears; ``ru_maxrss`` also keeps
    the peaks of exited threads, which the reset does not clear.
    """
    return _proc_status_mb("VmHWM")


def _proc_status_mb(field: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    # ru_maxrss is in KiB on Linux (bytes on macOS, where this overestimates).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _reset_peak() -> bool:
    """Reset the process's peak resident memory (Linux >= 4.0); False when unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@dataclass(frozen=True)
class SizeJob:
    """One (size, method) measurement, run in a child process."""

    base: MetaDataset
    n_evaluations: int
    method: str
    seed: int = 0
    k: int = 10
    queries: int = 50
    repeats: int = 2
    e2e_calls: int = 20
    e2e_cold_calls: int = 5


def measure_one(job: SizeJob) -> dict[str, Any]:
    """Build the scaled table, fit one method, time ``recommend`` in-process and end to end."""
    from metakb.kb import ExtrapolationWarning, KnowledgeBase, clear_model_cache
    from metakb.kb._artifacts import save_model

    t0 = time.perf_counter()
    data = scale_meta_dataset(job.base, job.n_evaluations, seed=job.seed)
    build_s = time.perf_counter() - t0
    queries = _queries(data, job.queries, job.seed)
    factory = WARM_STARTERS[job.method]
    # Warm up on a few tasks first: lazy imports and BLAS buffers are a one-off
    # cost of the process, not of fitting this knowledge base.
    factory(seed=job.seed).fit(data.subset(data.task_ids[:5])).recommend(queries[0], job.k)
    before_mb = _rss_mb()
    exact_peak = _reset_peak()
    c0, w0 = time.process_time(), time.perf_counter()
    model = factory(seed=job.seed).fit(data)
    fit_s, fit_cpu_s = time.perf_counter() - w0, time.process_time() - c0
    peak_mb = _peak_mb()
    after_mb = _rss_mb()
    latency = recommendation_latency(model, queries, job.k, repeats=job.repeats)
    with tempfile.TemporaryDirectory() as tmp:
        kb = KnowledgeBase(Path(tmp) / "kb.duckdb")
        root = kb.layout.artifacts
        # Saved as the classification model `recommend` reads by default: only the
        # timings matter here, not which tasks the scaled table's rows are.
        manifest = save_model(
            model,
            data,
            kb.layout.artifact(data.space.name, job.method, "classification"),
            method=job.method,
            task_type="classification",
            params={"seed": job.seed},
            fit_seconds=fit_s,
        )
        artifact_bytes = sum(f.stat().st_size for f in root.rglob("*") if f.is_file())
        cold: list[float] = []
        warm: list[float] = []
        for i, query in enumerate(queries[: job.e2e_cold_calls + job.e2e_calls]):
            if i < job.e2e_cold_calls:
                clear_model_cache()  # cold: read, hash-check and unpickle the artifact
            t1 = time.perf_counter()
            # Jittered queries may fall outside the training sizes: not news here.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExtrapolationWarning)
                kb.recommend(
                    dict(query.meta_features), algorithm=data.space.name, method=job.method, k=job.k
                )
            (cold if i < job.e2e_cold_calls else warm).append((time.perf_counter() - t1) * 1000.0)
        clear_model_cache()
    return {
        "n_evaluations": int(sum(len(t.y) for t in data.tasks)),
        "tasks": data.n_tasks,
        "method": job.method,
        "build_seconds": round(build_s, 3),
        "fit_seconds": round(fit_s, 3),
        "fit_cpu_seconds": round(fit_cpu_s, 3),
        "rss_before_fit_mb": round(before_mb, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "fit_peak_extra_mb": round(max(peak_mb - before_mb, 0.0), 1),
        "model_resident_mb": round(max(after_mb - before_mb, 0.0), 1),
        "peak_is_exact": exact_peak,
        "artifact_bytes": artifact_bytes,
        "training_tasks": len(manifest.training_tasks),
        "recommend_ms": {key: round(v, 3) for key, v in latency.items()},
        "end_to_end_cold_ms": _percentiles(cold),
        "end_to_end_warm_ms": _percentiles(warm),
    }


def _percentiles(times_ms: Sequence[float]) -> dict[str, float]:
    return {key: round(value, 2) for key, value in latency_summary(times_ms).items()}


def run_systems(
    base: MetaDataset,
    sizes: Sequence[int] = SYSTEM_SIZES,
    methods: Sequence[str] | None = None,
    *,
    seed: int = 0,
    queries: int = 50,
    e2e_calls: int = 20,
    e2e_cold_calls: int = 5,
    isolate: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Measure every method at every knowledge-base size.

    Parameters
    ----------
    base : MetaDataset
        The real table the sizes are grown from.
    sizes : sequence of int
        Knowledge-base sizes in evaluations.
    methods : sequence of str, optional
        Names from :data:`~metakb.models.WARM_STARTERS` (default: all).
    seed : int
        Seed of the scale-up, the queries and the models.
    queries : int
        Distinct new-task queries timed in-process (each twice).
    e2e_calls, e2e_cold_calls : int
        End-to-end ``recommend`` calls timed per (size, method) with the model
        cached in the process (warm), and with the cache cleared before each call
        (cold: the artifact is read, hash-checked and unpickled).
    isolate : bool
        Run each (size, method) in a fresh process (spawned), as the published
        figures are; False runs in this process (tests).
    progress : callable, optional
        ``progress(description, done, total)``.

    Returns
    -------
    dict
        The base table, the machine, and one row per (size, method) in ``runs``.
    """
    names = list(methods) if methods else list(WARM_STARTERS)
    unknown = [m for m in names if m not in WARM_STARTERS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; known: {sorted(WARM_STARTERS)}")
    jobs = [
        SizeJob(
            base,
            n,
            m,
            seed=seed,
            queries=queries,
            e2e_calls=e2e_calls,
            e2e_cold_calls=e2e_cold_calls,
        )
        for n in sizes
        for m in names
    ]
    load_start = load_average()
    runs: list[dict[str, Any]] = []
    run: Callable[[SizeJob], dict[str, Any]] = measure_one if not isolate else _in_child
    for done, job in enumerate(jobs, start=1):
        runs.append(run(job))
        if progress is not None:
            progress(f"{job.method} at {job.n_evaluations:,} evaluations", done, len(jobs))
    return {
        "base": {
            "algorithm": base.space.name,
            "flow_id": base.flow_id,
            "metric": base.metric,
            "tasks": base.n_tasks,
            "evaluations": int(sum(len(t.y) for t in base.tasks)),
        },
        "sizes": list(sizes),
        "methods": names,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_average_start": load_start,
        "load_average_end": load_average(),
        "latency_target_ms": LATENCY_TARGET_MS,
        "runs": runs,
    }


def _in_child(job: SizeJob) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(measure_one, job).result()


TITLE = "Systems: ingest, meta-features, training and recommendation latency"
"""The page's title (`metakb.bench.render.fill_page`)."""


def render_systems_markdown(
    report: Mapping[str, Any],
    command: str,
    *,
    ingest: Mapping[str, Any] | None = None,
    metafeatures: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Return the systems page's generated blocks, citing ingest and meta-feature figures if given.

    Blocks: ``machine``, ``ingest``, ``metafeatures``, ``scale`` (the real table
    scaled up) and ``runs`` (command, table, latency target). The headings and
    the method descriptions live in docs/benchmarks/systems.md between them
    (`metakb.bench.render.fill_page`).
    """
    base = report["base"]
    target = report["latency_target_ms"]
    machine = (
        f"Machine: {report['machine']}, shared with other jobs while measured "
        f"(load average at the start {format_load(report.get('load_average_start'))}, at the end "
        f"{format_load(report.get('load_average_end'))})."
    )
    cited_ingest = "Not cited: no ingest.json beside this page."
    if ingest is not None:
        eps = ingest["evaluations_per_second"]
        cited_ingest = (
            f"Importing the published meta-datasets into a fresh knowledge base: "
            f"{ingest['added'].get('evaluations', 0):,} evaluations in "
            f"{ingest['median_seconds']:.2f} s (median of {ingest['repeats']}: "
            f"{', '.join(f'{s:.2f}' for s in ingest['seconds'])} s) = **{eps:,.0f} evaluations/s** "
            f"(target > 100,000: {_verdict(eps > 100_000)})"
            + (
                f", {ingest['added'].get('evaluations', 0) / statistics.median(cpu):,.0f} per "
                f"CPU second (median {statistics.median(cpu):.2f} CPU s, all threads; less "
                "sensitive to the load of this shared machine)"
                if (cpu := ingest.get("cpu_seconds"))
                else ""
            )
            + f"; load average {format_load(ingest.get('load_average'))}; re-import, which adds "
            f"nothing, {ingest['reimport_median_seconds']:.2f} s."
        )
    cited_metafeatures = "Not cited: no metafeatures_speed.json beside this page."
    if metafeatures is not None:
        pymfe = metafeatures.get("pymfe") or {}
        versus = (
            f"; side by side with pymfe on {len(pymfe['datasets'])} datasets (one core, same "
            f"tables) metakb took {pymfe['metakb_seconds']:.2f} s and pymfe "
            f"{pymfe['pymfe_seconds']:.2f} s, **{pymfe['speedup']:.1f}x faster**"
            if {"datasets", "metakb_seconds", "pymfe_seconds", "speedup"} <= set(pymfe)
            else ""
        )
        cited_metafeatures = (
            "Cited from [metafeatures_speed.md](metafeatures_speed.md) "
            "(`python pipelines/bench_metafeatures.py`, not rerun here): all families on all "
            f"{metafeatures['datasets']} PMLB datasets in {metafeatures['wall_seconds']:.1f} s "
            f"wall with {metafeatures['n_jobs']} workers (median "
            f"{metafeatures['median_dataset_seconds']:.2f} s, slowest "
            f"{metafeatures['slowest_seconds']:.2f} s on {metafeatures['slowest_dataset']})"
            f"{versus}."
        )
    scale = (
        f"**The 10k, 100k and 1M knowledge bases are synthetic scale-ups** of the real "
        f"{base['algorithm']} table ({base['flow_id']}, {base['tasks']} tasks, "
        f"{base['evaluations']:,} evaluations): below the real size a random subset of its "
        "tasks, above it every real task plus replicas with meta-features jittered by "
        "exp(N(0, 0.1)) and values by N(0, 0.1) task standard deviations (see "
        "`metakb.bench.systems.scale_meta_dataset`)."
    )
    lines = [
        f"Produced by: `{command}`.",
        "",
        "| evaluations | tasks | method | fit s (CPU s) | fit peak +MB | artifact MB | "
        "recommend p50 / p95 ms | end to end warm p50 / p95 ms | cold p50 / p95 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["runs"]:
        rec, warm, cold = r["recommend_ms"], r["end_to_end_warm_ms"], r["end_to_end_cold_ms"]
        lines.append(
            f"| {r['n_evaluations']:,} | {r['tasks']:,} | {r['method']} | "
            f"{r['fit_seconds']:.2f} ({r['fit_cpu_seconds']:.2f}) | {r['fit_peak_extra_mb']:.0f} | "
            f"{r['artifact_bytes'] / 2**20:.1f} | {rec['p50_ms']:.2f} / {rec['p95_ms']:.2f} | "
            f"{warm['p50_ms']:.2f} / {warm['p95_ms']:.2f} | "
            f"{cold['p50_ms']:.0f} / {cold['p95_ms']:.0f} |"
        )
    largest = max(report["sizes"])
    at_largest = [r for r in report["runs"] if r["n_evaluations"] >= largest]
    if at_largest:
        lines += ["", f"Target: recommendation p95 < {target:.0f} ms at 1M evaluations."]
        for r in at_largest:
            rec = r["recommend_ms"]["p95_ms"]
            warm = r["end_to_end_warm_ms"]["p95_ms"]
            cold = r["end_to_end_cold_ms"]["p95_ms"]
            lines.append(
                f"- {r['method']}: in-process {rec:.2f} ms ({_verdict(rec < target)}); "
                f"end to end warm {warm:.2f} ms ({_verdict(warm < target)}), "
                f"cold {cold:.0f} ms ({_verdict(cold < target)})."
            )
    return {
        "machine": machine,
        "ingest": cited_ingest,
        "metafeatures": cited_metafeatures,
        "scale": scale,
        "runs": "\n".join(lines),
    }


def _verdict(met: bool) -> str:
    return "met" if met else "missed"


def plot_systems(report: Mapping[str, Any], path: str | Path) -> None:
    """Draw p95 latency (in-process, end to end) and fit time against size (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    panels = (
        ("recommend p95 ms (in-process)", lambda r: r["recommend_ms"]["p95_ms"]),
        ("end-to-end recommend p95 ms (warm)", lambda r: r["end_to_end_warm_ms"]["p95_ms"]),
        ("end-to-end recommend p95 ms (cold)", lambda r: r["end_to_end_cold_ms"]["p95_ms"]),
        ("fit seconds", lambda r: r["fit_seconds"]),
    )
    for ax, (title, value) in zip(axes, panels, strict=True):
        for method in report["methods"]:
            rows = sorted(
                (r for r in report["runs"] if r["method"] == method),
                key=lambda r: r["n_evaluations"],
            )
            ax.plot(
                [r["n_evaluations"] for r in rows],
                [value(r) for r in rows],
                marker="o",
                label=method,
            )
        if "ms" in title:
            ax.axhline(report["latency_target_ms"], color="grey", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("evaluations (synthetic scale-up)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
