"""Live benchmark: real LightGBM fits on classification datasets the knowledge base never saw.

Per dataset, every method is scored by the same stratified K-fold
cross-validation (same folds, same seed) with ROC AUC (one-vs-rest macro
average for more than two classes), and its wall time is measured:

* ``lgbm_default``: ``LGBMClassifier()`` with LightGBM's defaults;
* ``flaml_zeroshot``: FLAML's zero-shot ``flaml.default.LGBMClassifier``, whose
  hyperparameters are suggested from each training fold's meta-features;
* ``metakb_top1`` / ``metakb_best5``: the first / best of the top 5
  configurations :meth:`metakb.kb.KnowledgeBase.recommend` gives for the table's
  meta-features (the default warm starter), passed straight to
  ``LGBMClassifier(**config)``;
* ``metakb_top1_<method>``: the first recommendation of the other warm starters;
* ``optuna_tpe``: Optuna's TPE sampler (its defaults) for ``budget`` fits over
  the LightGBM space of :mod:`metakb.spaces`;
* ``metakb_warm_bo``: metakb's BO for ``budget`` fits, warm-started and given
  the prior surrogate exactly as ``metakb search`` does, without writing
  anything back to the knowledge base.

A configuration asked twice on one dataset (a warm start evaluating the
recommendations again, say) is fitted once and its recorded time is charged
to every method that asked for it, so each method's wall time is what it
would take alone. Wall time includes computing meta-features and loading the
meta-model for the metakb methods.

Aggregates: per-dataset normalized score ``(s - worst) / (best - worst)``
over the methods (1 when all tie), its mean per method, strict win rates
(ties are not wins) and the issue's targets.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from metakb.bench.peers import FlamlZeroShot, flaml_missing
from metakb.datasets import load_table
from metakb.kb import KnowledgeBase
from metakb.metafeatures import extract
from metakb.models import DEFAULT_WARM_STARTER, TaskQuery
from metakb.search import (
    CVObjective,
    DefaultEstimators,
    EvalResult,
    SpaceEstimators,
    build_optimizer,
    config_key,
    run_search,
)
from metakb.search import warm_start as enqueue_warm_start
from metakb.spaces import Params, get_space

log = logging.getLogger(__name__)

ALGORITHM = "lightgbm"
METRIC = "roc_auc"
MAX_ROWS = 500
"""Row cap: a larger table is subsampled to this many rows, stratified by class, seeded."""

MIN_ROWS = 100
"""Smaller tables are left out: their 5-fold training folds (< 80 rows) leave LightGBM,
whose leaves hold at least 20 rows by default, almost nothing to split, so every
method ties near chance (PMLB's 32-row ``parity5`` scores 0.5 for nearly all)."""

MAX_WORK = 30_000
"""Larger tables are left out to keep the run within about 40 minutes on a loaded
2-core machine. Work = rows used x features x trees per boosting round (one for
two classes, one per class for more): each of the ~50 cross-validations per
dataset grows up to 2,000 rounds (metakb's LightGBM space sets ``10 /
learning_rate`` rounds)."""

DEFAULT_MAX_DATASETS = 20
"""Datasets measured by default: evenly spaced over the eligible ones sorted by rows."""

TOP_K = 5
TIE = 1e-9
"""Two cross-validated scores closer than this are a tie (not a win)."""

TARGETS: dict[str, tuple[str, float]] = {
    "win_rate_top1_vs_default": ("metakb top-1 beats LightGBM defaults on", 0.75),
    "win_rate_top1_vs_flaml": ("metakb top-1 beats FLAML zero-shot on", 0.55),
}

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class LiveSettings:
    """How the live benchmark runs.

    Attributes
    ----------
    budget : int
        Fits of the two searches (Optuna TPE, metakb warm-started BO).
    n_splits : int
        Cross-validation folds (stratified, shuffled with ``seed``).
    max_rows : int
        Row cap (stratified subsample).
    seed : int
        Seeds folds, subsamples, models and optimizers.
    method : str
        The warm starter behind ``metakb_top1``, ``metakb_best5`` and the warm BO.
    other_methods : tuple of str
        Warm starters whose top-1 is also measured.
    flaml : bool
        Measure FLAML's zero-shot LightGBM (needs ``flaml[automl]``).
    max_rounds : int, optional
        Cap on every model's boosting rounds, for smoke tests only (it changes
        the methods: FLAML then keeps the cap instead of its suggestion).
    """

    budget: int = 20
    n_splits: int = 5
    max_rows: int = MAX_ROWS
    seed: int = 0
    method: str = DEFAULT_WARM_STARTER
    other_methods: tuple[str, ...] = ("knn", "portfolio", "cf")
    flaml: bool = True
    max_rounds: int | None = None

    def __post_init__(self) -> None:
        if self.budget < 1 or self.n_splits < 2 or self.max_rows < 2 * self.n_splits:
            raise ValueError("budget >= 1, n_splits >= 2 and max_rows >= 2 * n_splits are needed")


@dataclass(frozen=True)
class LiveTask:
    """One dataset to measure: features (numeric or categorical columns) and class labels.

    Attributes
    ----------
    name : str
        The dataset's name.
    x : pandas.DataFrame
        Features.
    y : pandas.Series
        Class labels.
    kinds : mapping
        ``"categorical"`` / ``"numeric"`` per column of ``x`` (meta-features use them).
    info : dict
        What the report says about the dataset (rows before the cap, OpenML id, ...).
    """

    name: str
    x: pd.DataFrame
    y: pd.Series
    kinds: Mapping[str, str] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)


# --- Which datasets ---------------------------------------------------------------------


def normalize_name(name: object) -> str:
    """Return a name lower-cased, letters and digits only (``kr-vs-kp`` = ``kr_vs_kp``)."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def select_datasets(
    manifest: pd.DataFrame,
    kb_tasks: pd.DataFrame,
    max_datasets: int | None = None,
    *,
    min_rows: int = MIN_ROWS,
    n_splits: int = 5,
    max_rows: int = MAX_ROWS,
    max_work: float = MAX_WORK,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Choose PMLB classification datasets that are not in the knowledge base.

    A dataset is left out when it may be one of the knowledge base's tasks:
    the same OpenML dataset id, the same normalized name, or the same shape
    (rows within 1 %, same number of classes, features within one: the same
    data under another name, e.g. PMLB ``german`` is OpenML ``credit-g``),
    and when it has fewer than ``min_rows`` rows or (when the manifest has a
    ``min_class_rows`` column, see :func:`add_class_counts`) a class with
    fewer rows than ``n_splits`` once capped, or more work than ``max_work``
    (:data:`MAX_WORK`). The eligible datasets are sorted
    by rows (then name) and ``max_datasets`` of them taken evenly spaced, from
    the smallest to the largest.

    Parameters
    ----------
    manifest : pandas.DataFrame
        PMLB's ``manifest.csv``: name, task_type, n_rows, n_features, n_classes,
        openml_dataset_id, file.
    kb_tasks : pandas.DataFrame
        The knowledge base's tasks of the algorithm (``metakb.store.list_tasks``):
        name, openml_dataset_id, n_rows, n_features, n_classes.
    max_datasets : int, optional
        How many to measure (default: every eligible one).
    min_rows : int
        Smaller datasets are left out (see :data:`MIN_ROWS`).
    n_splits : int
        Cross-validation folds: every class needs this many rows.
    max_rows : int
        The row cap the run applies.
    max_work : float
        Datasets with more work are left out (see :data:`MAX_WORK`).

    Returns
    -------
    (pandas.DataFrame, dict)
        The chosen manifest rows; the selection for the report (rule,
        eligible count, left-out names by reason, chosen names).
    """
    if max_datasets is not None and max_datasets < 1:
        raise ValueError("max_datasets must be at least 1")
    pool = manifest[manifest["task_type"] == "classification"].copy()
    kb_ids = set(pd.to_numeric(kb_tasks["openml_dataset_id"], errors="coerce").dropna().astype(int))
    kb_names = {normalize_name(n) for n in kb_tasks["name"].dropna()}
    shapes = kb_tasks[["n_rows", "n_features", "n_classes"]].apply(pd.to_numeric, errors="coerce")

    def reason(row: pd.Series) -> str | None:
        did = pd.to_numeric(row["openml_dataset_id"], errors="coerce")
        if pd.notna(did) and int(did) in kb_ids:
            return "openml_id"
        if normalize_name(row["name"]) in kb_names:
            return "name"
        same = (
            ((shapes["n_rows"] - row["n_rows"]).abs() <= 0.01 * row["n_rows"])
            & (shapes["n_classes"] == row["n_classes"])
            & ((shapes["n_features"] - row["n_features"]).abs() <= 1)
        )
        if bool(same.any()):
            return "shape"
        if row["n_rows"] < min_rows:
            return "under_min_rows"
        if "min_class_rows" in row and row["min_class_rows"] < n_splits:
            return "class_under_n_splits_rows"
        classes = row["n_classes"] if row["n_classes"] > 2 else 1
        if min(row["n_rows"], max_rows) * row["n_features"] * classes > max_work:
            return "over_max_work"
        return None

    pool["reason"] = [reason(row) for _, row in pool.iterrows()]
    left_out = pool[pool["reason"].notna()]
    eligible = (
        pool[pool["reason"].isna()]
        .drop(columns="reason")
        .sort_values(["n_rows", "name"], kind="stable")
        .reset_index(drop=True)
    )
    chosen = eligible
    if max_datasets is not None and max_datasets < len(eligible):
        picks = np.unique(np.round(np.linspace(0, len(eligible) - 1, max_datasets)).astype(int))
        chosen = eligible.iloc[picks].reset_index(drop=True)
    selection = {
        "rule": (
            "PMLB classification datasets minus any with the OpenML dataset id, the "
            "normalized name, or the shape (rows within 1%, same classes, features within "
            f"one) of a knowledge-base task of the algorithm, any under {min_rows} rows, and "
            f"any with a class of fewer than {n_splits} rows after the row cap, and any with "
            f"more than {max_work:,.0f} rows x features x trees per round after the cap; "
            "sorted by rows then name; "
            f"{len(chosen)} taken evenly spaced from smallest to largest"
        ),
        "classification": len(pool),
        "eligible": len(eligible),
        "left_out": {
            str(r): sorted(map(str, g["name"])) for r, g in left_out.groupby("reason", sort=True)
        },
        "chosen": [str(n) for n in chosen["name"]],
    }
    return chosen, selection


def add_class_counts(
    manifest: pd.DataFrame, folder: str | Path, settings: LiveSettings
) -> pd.DataFrame:
    """Return the manifest with ``min_class_rows``: the smallest class once capped.

    Only classification rows are loaded (with :func:`load_task`, as the run will).
    """
    out = manifest.copy()
    counts: list[int | None] = []
    for row in out.itertuples(index=False):
        if row.task_type != "classification":
            counts.append(None)
            continue
        task = load_task(
            Path(folder) / str(row.file), max_rows=settings.max_rows, seed=settings.seed
        )
        counts.append(int(task.y.value_counts().min()))
    out["min_class_rows"] = pd.array(counts, dtype="Int64")
    return out


def pmlb_tasks(
    folder: str | Path, chosen: pd.DataFrame, settings: LiveSettings
) -> Iterable[LiveTask]:
    """Load the chosen datasets of a PMLB folder one at a time (see :func:`load_task`)."""
    for row in chosen.itertuples(index=False):
        did = pd.to_numeric(pd.Series([row.openml_dataset_id]), errors="coerce").iloc[0]
        yield load_task(
            Path(folder) / str(row.file),
            max_rows=settings.max_rows,
            seed=settings.seed,
            openml_dataset_id=None if pd.isna(did) else int(did),
        )


def load_task(
    path: str | Path, *, max_rows: int = MAX_ROWS, seed: int = 0, **info: Any
) -> LiveTask:
    """Load a classification table, subsampled to ``max_rows`` rows stratified by class."""
    # duplicate_columns: PMLB's schizo repeats its target column (the first one is kept).
    table = load_table(path, task_type="classification", duplicate_columns="rename")
    x, y = table.X, table.y
    n = len(x)
    if n > max_rows:
        counts = y.value_counts()
        # A class of one row cannot be stratified; such a table is skipped by run_live anyway.
        stratify = y if counts.min() >= 2 else None
        x, _, y, _ = train_test_split(
            x, y, train_size=max_rows, stratify=stratify, random_state=seed
        )
    kinds = {c: table.kinds[c] for c in x.columns}
    return LiveTask(
        table.name,
        x.reset_index(drop=True),
        pd.Series(y).reset_index(drop=True),
        kinds,
        {**info, "rows_in_file": n, "rows_used": len(x)},
    )


# --- Estimators -------------------------------------------------------------------------


class _Fixed:
    """``(config, x) -> pipeline`` that ignores the configuration: one fixed model."""

    def __init__(self, model: Callable[[], Any], seed: int) -> None:
        self.model = model
        self.seed = seed

    def __call__(self, config: Mapping[str, Any], x: pd.DataFrame) -> Any:
        pipeline = DefaultEstimators(ALGORITHM, "classification", self.seed)({}, x)
        return pipeline.set_params(model=self.model())


class _Capped:
    """A space's pipeline with at most ``max_rounds`` boosting rounds (smoke tests)."""

    def __init__(self, make: SpaceEstimators, max_rounds: int | None) -> None:
        self.make = make
        self.max_rounds = max_rounds

    def __call__(self, config: Mapping[str, Any], x: pd.DataFrame) -> Any:
        pipeline = self.make(config, x)
        if self.max_rounds is not None:
            rounds = min(self.max_rounds, pipeline.get_params()["model__n_estimators"])
            pipeline.set_params(model__n_estimators=rounds)
        return pipeline


class _Memo:
    """The CV objective of the space's configurations, each configuration fitted once.

    ``reused`` accumulates the recorded seconds of configurations served from
    the memo, so a method's wall time can be charged for them.
    """

    def __init__(self, objective: CVObjective) -> None:
        self.objective = objective
        self.results: dict[str, EvalResult] = {}
        self.reused = 0.0

    def __call__(self, config: Mapping[str, Any], fidelity: float = 1.0) -> EvalResult:
        key = config_key(config)
        if key in self.results:
            self.reused += self.results[key].seconds
            return self.results[key]
        result = self.objective(config, fidelity)
        self.results[key] = result
        return result


@dataclass
class _Clock:
    """Wall time of one method, plus the seconds of memoized fits it reused."""

    memo: _Memo
    seconds: float = 0.0

    def __enter__(self) -> _Clock:
        self._start = time.perf_counter()
        self._reused = self.memo.reused
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start + self.memo.reused - self._reused


def _entry(score: float | None, seconds: float, fits: int, config: Any = None) -> dict[str, Any]:
    return {
        "score": None if score is None else round(float(score), 6),
        "seconds": round(seconds, 3),
        "fits": fits,
        "config": config,
    }


# --- One dataset ------------------------------------------------------------------------


def run_task(task: LiveTask, db: str | Path, settings: LiveSettings) -> dict[str, Any]:
    """Measure every method on one dataset.

    Returns
    -------
    dict
        ``name``, ``info``, ``n_classes``, ``meta_feature_seconds`` and
        ``methods``: per method its CV score (None if every fit failed),
        seconds, number of CV evaluations and configuration.
    """
    seed = settings.seed
    kb = KnowledgeBase(db)
    space = get_space(ALGORITHM)

    def objective(make: Any) -> CVObjective:
        return CVObjective(
            task.x,
            task.y,
            make,
            task_type="classification",
            metric=METRIC,
            n_splits=settings.n_splits,
            seed=seed,
        )

    make = _Capped(SpaceEstimators(ALGORITHM, "classification", seed), settings.max_rounds)
    memo = _Memo(objective(make))
    methods: dict[str, dict[str, Any]] = {}

    t0 = time.perf_counter()
    features = extract(task.x, task.y, kinds=task.kinds, task_type="classification", seed=seed)
    query_features = {k: v for k, v in features.values.items() if math.isfinite(v)}
    mf_seconds = time.perf_counter() - t0

    def recommended(method: str, k: int) -> tuple[list[Params], float]:
        start = time.perf_counter()
        recs = kb.recommend(query_features, algorithm=ALGORITHM, k=k, method=method, seed=seed)
        return [r.flow_params for r in recs], time.perf_counter() - start

    # metakb top-1 and best-of-5 (the default warm starter).
    configs, rec_seconds = recommended(settings.method, TOP_K)
    results, fit_seconds = [], []
    for config in configs:
        with _Clock(memo) as clock:
            results.append(memo(config))
        fit_seconds.append(clock.seconds)
    overhead = mf_seconds + rec_seconds
    methods["metakb_top1"] = _entry(results[0].score, overhead + fit_seconds[0], 1, configs[0])
    best_i = int(np.argmax([-np.inf if r.score is None else r.score for r in results]))
    methods["metakb_best5"] = _entry(
        results[best_i].score, overhead + sum(fit_seconds), len(results), configs[best_i]
    )

    for method in settings.other_methods:
        other, seconds = recommended(method, 1)
        with _Clock(memo) as clock:
            result = memo(other[0])
        methods[f"metakb_top1_{method}"] = _entry(
            result.score, mf_seconds + seconds + clock.seconds, 1, other[0]
        )

    # metakb warm-started BO, as `metakb search` runs it, without write-back.
    with _Clock(memo) as clock:
        starter, _ = kb.starter(ALGORITHM, settings.method, task_type="classification", seed=seed)
        query = TaskQuery(query_features, task_id=task.name)
        optimizer = build_optimizer(
            space, "bo", settings.budget, starter=starter, query=query, seed=seed
        )
        enqueue_warm_start(optimizer, starter, query, min(10, max(1, settings.budget // 2)))
        search = run_search(optimizer, memo, settings.budget)
    best = search.best
    methods["metakb_warm_bo"] = _entry(
        None if best is None else best.score,
        mf_seconds + clock.seconds,
        len(search.trials),
        None if best is None else best.config,
    )

    methods["optuna_tpe"] = _optuna(memo, space, settings)

    for name, model in _fixed_models(settings).items():
        start = time.perf_counter()
        result = objective(_Fixed(model, seed))(config={})
        methods[name] = _entry(result.score, time.perf_counter() - start, 1)
        if result.score is None:
            log.warning("%s failed on %s: %s", name, task.name, result.error)
    return {
        "name": task.name,
        "info": dict(task.info),
        "rows": len(task.x),
        "features": task.x.shape[1],
        "n_classes": int(task.y.nunique()),
        "meta_feature_seconds": round(mf_seconds, 3),
        "methods": methods,
    }


def _fixed_models(settings: LiveSettings) -> dict[str, Callable[[], Any]]:
    import lightgbm

    seed, cap = settings.seed, settings.max_rounds
    fixed: dict[str, Any] = {} if cap is None else {"n_estimators": min(cap, 100)}
    models: dict[str, Callable[[], Any]] = {
        "lgbm_default": lambda: lightgbm.LGBMClassifier(
            random_state=seed, n_jobs=1, verbose=-1, **fixed
        )
    }
    if settings.flaml:
        models["flaml_zeroshot"] = lambda: FlamlZeroShot(seed, cap)
    return models


def _optuna(memo: _Memo, space: Any, settings: LiveSettings) -> dict[str, Any]:
    import optuna

    from metakb.integrations.optuna import suggest_config

    def objective(trial: optuna.Trial) -> float:
        result = memo(suggest_config(trial, space))
        return math.nan if result.score is None else result.score

    with _Clock(memo) as clock:
        study = optuna.create_study(
            direction="maximize", sampler=optuna.samplers.TPESampler(seed=settings.seed)
        )
        study.optimize(objective, n_trials=settings.budget)
    done = [t for t in study.trials if t.value is not None and math.isfinite(t.value)]
    best = max(done, key=lambda t: t.value) if done else None  # type: ignore[arg-type,return-value]
    return _entry(
        None if best is None else best.value,
        clock.seconds,
        len(study.trials),
        None if best is None else space.validate(best.params),
    )


# --- Many datasets ----------------------------------------------------------------------


def run_live(
    tasks: Sequence[LiveTask] | Iterable[LiveTask],
    db: str | Path,
    settings: LiveSettings | None = None,
    *,
    total: int | None = None,
    progress: Progress | None = None,
    checkpoint: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Measure every method on every task and summarize.

    Parameters
    ----------
    tasks : iterable of LiveTask
        The datasets (loaded lazily when an iterator is given).
    db : str or Path
        The knowledge base whose trained models warm-start (read only).
    settings : LiveSettings, optional
    total : int, optional
        How many tasks, for ``progress``.
    progress : callable, optional
        ``progress(dataset name, done, total)`` after each dataset.
    checkpoint : callable, optional
        Called with the report so far after each dataset (to save partial results).

    Returns
    -------
    dict
        ``settings``, ``methods``, ``datasets`` (per-dataset results) and ``summary``.
    """
    settings = settings or LiveSettings()
    if settings.flaml and (why := flaml_missing()) is not None:
        raise ImportError(why)
    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    t0 = time.perf_counter()

    def report() -> dict[str, Any]:
        return {
            "settings": {
                "algorithm": ALGORITHM,
                "metric": METRIC,
                "budget": settings.budget,
                "n_splits": settings.n_splits,
                "max_rows": settings.max_rows,
                "seed": settings.seed,
                "warm_starter": settings.method,
                "top_k": TOP_K,
            },
            "seconds": round(time.perf_counter() - t0, 1),
            "methods": list(rows[0]["methods"]) if rows else [],
            "datasets": rows,
            "skipped": skipped,
            "summary": summarize(rows),
        }

    for done, task in enumerate(tasks, start=1):
        smallest = int(task.y.value_counts().min())
        if smallest < settings.n_splits or task.y.nunique() < 2:
            # Stratified folds need every class in every test fold.
            skipped[task.name] = f"smallest class has {smallest} rows (< {settings.n_splits} folds)"
            log.info("skipping %s: %s", task.name, skipped[task.name])
            continue
        rows.append(run_task(task, db, settings))
        if checkpoint is not None:
            checkpoint(report())
        if progress is not None:
            progress(task.name, done, total or done)
    return report()


def _scores(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            r["name"]: {
                m: (np.nan if v["score"] is None else v["score"]) for m, v in r["methods"].items()
            }
            for r in rows
        }
    ).T


def normalized_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Return ``(s - worst) / (best - worst)`` per dataset (row); 1 where every method ties.

    A failed method (NaN) scores 0 on its dataset.
    """
    lo, hi = scores.min(axis=1), scores.max(axis=1)
    span = (hi - lo).where(hi - lo > TIE)
    out = scores.sub(lo, axis=0).div(span, axis=0)
    spread = np.broadcast_to(span.notna().to_numpy()[:, None], out.shape)
    out = out.where(spread, 1.0)
    return out.where(scores.notna(), 0.0).astype(float)


def win_record(a: pd.Series, b: pd.Series) -> dict[str, float]:
    """Return wins, ties and losses of ``a`` against ``b`` (a failure loses) and the win rate."""
    a, b = a.fillna(-np.inf), b.fillna(-np.inf)
    diff = a - b
    both_failed = np.isneginf(a) & np.isneginf(b)
    ties = int((both_failed | (diff.abs() <= TIE)).sum())
    wins = int(((diff > TIE) & ~both_failed).sum())
    n = len(a)
    return {
        "wins": wins,
        "ties": ties,
        "losses": n - wins - ties,
        "n": n,
        "win_rate": round(wins / n, 4) if n else math.nan,
    }


def summarize(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Return per-method means (score, normalized score, rank, seconds), wins and targets."""
    if not rows:
        return {}
    scores = _scores(rows)
    seconds = pd.DataFrame(
        {r["name"]: {m: v["seconds"] for m, v in r["methods"].items()} for r in rows}
    ).T
    norm = normalized_scores(scores)
    ranks = scores.fillna(-np.inf).rank(axis=1, ascending=False, method="average")
    n = len(scores)
    per_method = {
        m: {
            "mean_score": round(float(scores[m].mean()), 5),
            "mean_normalized": round(float(norm[m].mean()), 4),
            "sem_normalized": round(float(norm[m].std(ddof=1) / math.sqrt(n)), 4) if n > 1 else 0.0,
            "mean_rank": round(float(ranks[m].mean()), 3),
            "failures": int(scores[m].isna().sum()),
            "mean_seconds": round(float(seconds[m].mean()), 3),
            "total_seconds": round(float(seconds[m].sum()), 1),
        }
        for m in scores.columns
    }
    wins: dict[str, dict[str, float]] = {}
    pairs = [
        ("top1_vs_default", "metakb_top1", "lgbm_default"),
        ("top1_vs_flaml", "metakb_top1", "flaml_zeroshot"),
        ("best5_vs_default", "metakb_best5", "lgbm_default"),
        ("best5_vs_flaml", "metakb_best5", "flaml_zeroshot"),
        ("warm_bo_vs_optuna", "metakb_warm_bo", "optuna_tpe"),
    ]
    for key, a, b in pairs:
        if a in scores and b in scores:
            wins[key] = win_record(scores[a], scores[b])
    targets: dict[str, dict[str, Any]] = {}
    for key, (text, goal) in TARGETS.items():
        pair = key.removeprefix("win_rate_")
        if pair in wins:
            rate = wins[pair]["win_rate"]
            targets[key] = {"text": text, "target": goal, "value": rate, "met": rate >= goal}
    if "metakb_warm_bo" in scores and "optuna_tpe" in scores:
        warm, tpe = (
            per_method["metakb_warm_bo"]["mean_score"],
            per_method["optuna_tpe"]["mean_score"],
        )
        targets["warm_bo_vs_optuna_mean_score"] = {
            "text": "metakb warm BO mean score >= Optuna TPE mean score",
            "target": tpe,
            "value": warm,
            "met": warm >= tpe,
        }
    return {"datasets": n, "per_method": per_method, "wins": wins, "targets": targets}


# --- Report -----------------------------------------------------------------------------


TITLE = "Live benchmark: real LightGBM fits on PMLB datasets the knowledge base never saw"
"""The page's title (`metakb.bench.render.fill_page`)."""


def render_markdown(report: Mapping[str, Any], command: str, *, load: str = "") -> dict[str, str]:
    """Return the page's generated blocks: ``run`` (command, settings) and ``results`` (tables).

    The hand-written prose (how scores, wins and seconds are read) lives in
    docs/benchmarks/live_pmlb.md between the blocks (`metakb.bench.render.fill_page`).
    """
    s = report["settings"]
    summary = report["summary"]
    methods = report["methods"]
    run = [
        f"Produced by: `{command}`" + (f" (machine load: {load})" if load else "") + ".",
        "",
        f"{summary.get('datasets', 0)} PMLB classification datasets; every method is scored by "
        f"the same stratified {s['n_splits']}-fold cross-validation (seed {s['seed']}) with "
        f"{s['metric']} (one-vs-rest macro for more than two classes); tables over "
        f"{s['max_rows']} rows are subsampled to {s['max_rows']} rows, stratified. The searches "
        f"get {s['budget']} fits each. metakb's warm starter: `{s['warm_starter']}`.",
    ]
    lines: list[str] = []
    if report.get("partial"):
        lines += [
            f"**Partial run**: {len(report['datasets'])} of the "
            f"{len(report.get('selection', {}).get('chosen', []))} chosen datasets finished.",
            "",
        ]
    selection = report.get("selection")
    if selection:
        lines += [f"Datasets: {selection['rule']}.", ""]
        lines.append(
            f"- {selection['classification']} classification datasets, "
            f"{selection['eligible']} eligible, chosen: {', '.join(selection['chosen'])}"
        )
        for why, names in selection["left_out"].items():
            lines.append(f"- left out by {why}: {', '.join(names)}")
    for name, why in report.get("skipped", {}).items():
        lines.append(f"- skipped {name}: {why}")
    lines.append("")
    lines += ["## Targets", "", "| target | value | goal | met |", "|---|---|---|---|"]
    for t in summary.get("targets", {}).values():
        lines.append(
            f"| {t['text']} | {t['value']:.3f} | {t['target']:.3f} | "
            f"{'yes' if t['met'] else 'NO'} |"
        )
    lines += [
        "",
        "## Wins",
        "",
        "| comparison | wins | ties | losses | win rate |",
        "|---|---|---|---|---|",
    ]
    for key, w in summary.get("wins", {}).items():
        lines.append(f"| {key} | {w['wins']} | {w['ties']} | {w['losses']} | {w['win_rate']:.2f} |")
    lines += [
        "",
        "## Per method",
        "",
        "| method | mean score | mean normalized | mean rank | failures | mean s | total s |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in methods:
        p = summary["per_method"][m]
        lines.append(
            f"| {m} | {p['mean_score']:.4f} | {p['mean_normalized']:.3f} ± "
            f"{p['sem_normalized']:.3f} | {p['mean_rank']:.2f} | {p['failures']} | "
            f"{p['mean_seconds']:.1f} | {p['total_seconds']:.0f} |"
        )
    lines += [
        "",
        "## Per dataset (score; seconds)",
        "",
        "| dataset | rows | features | classes | " + " | ".join(methods) + " |",
        "|---|---|---|---|" + "---|" * len(methods),
    ]
    for row in report["datasets"]:
        cells = []
        for m in methods:
            v = row["methods"][m]
            score = "failed" if v["score"] is None else f"{v['score']:.4f}"
            cells.append(f"{score}; {v['seconds']:.1f}")
        lines.append(
            f"| {row['name']} | {row['rows']} | {row['features']} | {row['n_classes']} | "
            + " | ".join(cells)
            + " |"
        )
    return {"run": "\n".join(run), "results": "\n".join(lines)}


def plot_report(report: Mapping[str, Any], path: str | Path) -> None:
    """Draw mean normalized score and mean wall time per method (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per = report["summary"]["per_method"]
    methods = list(report["methods"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    y = np.arange(len(methods))
    left.barh(
        y,
        [per[m]["mean_normalized"] for m in methods],
        xerr=[per[m]["sem_normalized"] for m in methods],
        color="tab:blue",
    )
    left.set_yticks(y, methods)
    left.invert_yaxis()
    left.set_xlim(0, 1)
    left.set_xlabel("mean normalized CV score (1 = best method per dataset)")
    right.barh(y, [per[m]["mean_seconds"] for m in methods], color="tab:orange")
    right.set_yticks(y, [""] * len(methods))
    right.invert_yaxis()
    right.set_xscale("log")
    right.set_xlabel("mean wall seconds per dataset (log)")
    fig.suptitle(f"Live LightGBM benchmark, {report['summary']['datasets']} PMLB datasets")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
