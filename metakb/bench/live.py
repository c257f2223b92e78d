"""Live benchmark: real LightGBM fits on held-out PMLB tables, classification and regression.

The tables are the frozen held-out lists of :mod:`metakb.bench.holdout`
(``LIVE_CLASSIFICATION``, ``LIVE_REGRESSION``): the sweep excludes them, so no
knowledge-base evaluation, setting or model has seen them. Per table, every
method is scored by the same K-fold cross-validation (same folds, same seed;
stratified for classification) with the sweep's metric (ROC AUC, one-vs-rest
macro for more than two classes; negative RMSE), and its wall time is measured:

* ``lgbm_default``: ``LGBMClassifier()`` / ``LGBMRegressor()`` with LightGBM's defaults;
* ``flaml_zeroshot``: FLAML's zero-shot ``flaml.default.LGBMClassifier`` /
  ``LGBMRegressor``, whose hyperparameters are suggested from each training
  fold's meta-features;
* ``metakb_top1_<method>``: the first recommendation of each method of
  :attr:`LiveSettings.methods` for the table's meta-features: a warm starter's
  own first pick (``cf``) or, for ``<starter>+default[@M]``
  (:func:`metakb.bench.lodo.parse_method`), its picks weighed against the
  library default as ``metakb recommend`` does
  (:func:`~metakb.models.select_over_default`); fitted through the space's
  pipeline, so size-dependent values are capped for each fold's rows;
* ``metakb_best5``: the best of the first method's top 5;
* ``optuna_tpe``: Optuna's TPE sampler (its defaults) for ``tpe_budget`` fits
  over the LightGBM space of :mod:`metakb.spaces`;
* ``metakb_warm_bo``: metakb's BO for ``budget`` fits, warm-started from
  ``metakb search``'s default warm starter exactly as ``metakb search`` starts it
  (:func:`~metakb.search.start_optimizer`), without writing anything back.

A configuration asked twice on one table (a warm start evaluating the
recommendations again, say) is fitted once and its recorded time is charged
to every method that asked for it, so each method's wall time is what it
would take alone. Wall time includes computing meta-features and loading the
meta-model for the metakb methods.

Every finished (table, method) result is appended to a JSON-lines log
(:class:`ResultLog`) under a key of the settings it depends on (and of the
trained model it read), so an interrupted run resumes where it stopped and a
rerun with other settings measures afresh.

Aggregates: per-table normalized score ``(s - worst) / (best - worst)`` over
the methods (1 when all tie), its mean per method, for regression the mean
RMSE relative to the default's, strict win rates (ties are not wins) and the
issue's targets.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metakb.bench.holdout import LIVE_CLASSIFICATION, LIVE_REGRESSION
from metakb.bench.lodo import DEFAULT_AWARE, parse_method
from metakb.bench.peers import flaml_missing, flaml_zeroshot
from metakb.datasets import load_table, subsample_table
from metakb.kb import ArtifactError, KnowledgeBase, extrapolation_notes
from metakb.metafeatures import extract
from metakb.models import (
    DEFAULT_RECOMMENDER,
    DEFAULT_WARM_STARTER,
    WARM_STARTERS,
    DefaultAwareWarmStarter,
    TaskQuery,
    WarmStarter,
    select_over_default,
)
from metakb.search import (
    CVObjective,
    DefaultEstimators,
    EvalResult,
    SpaceEstimators,
    config_key,
    run_search,
    start_optimizer,
)
from metakb.spaces import Params, TaskType, get_algorithm
from metakb.sweep import METRICS

log = logging.getLogger(__name__)

ALGORITHM = "lightgbm"
TASK_TYPES: tuple[TaskType, ...] = ("classification", "regression")
HOLDOUT: dict[str, tuple[str, ...]] = {
    "classification": LIVE_CLASSIFICATION,
    "regression": LIVE_REGRESSION,
}
"""The tables measured per task type: those no sweep, setting or model ever saw."""

MAX_ROWS = 500
"""Row cap: a larger table is subsampled to this many rows (stratified by class), seeded."""

TOP_K = 5
TIE = 1e-9
"""Two cross-validated scores closer than this are a tie (not a win)."""

DEFAULT_METHODS: tuple[str, ...] = tuple(
    m
    for base in (DEFAULT_RECOMMENDER, *sorted(set(WARM_STARTERS) - {DEFAULT_RECOMMENDER}))
    for m in (f"{base}{DEFAULT_AWARE}", base)
)
"""Every warm starter weighed against the default (as ``metakb recommend`` does) and alone;
the first, ``metakb recommend``'s default, is the one the targets judge."""

WIN_RATE_TARGETS: dict[str, tuple[str, float]] = {
    "top1_vs_default": ("metakb top-1 ({}) beats LightGBM defaults on", 0.75),
    "top1_vs_flaml": ("metakb top-1 ({}) beats FLAML zero-shot on", 0.60),
}

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class LiveSettings:
    """How the live benchmark runs.

    Attributes
    ----------
    task_type : {'classification', 'regression'}
        The tables' task type (LightGBM's classifier or regressor, the sweep's metric).
    methods : tuple of str
        Methods whose top-1 is measured (:func:`metakb.bench.lodo.parse_method`
        names). The first one's top-1 is judged by the targets and its top 5
        are ``metakb_best5``. The BO is warm-started as ``metakb search`` starts
        it, from :data:`~metakb.models.DEFAULT_WARM_STARTER`.
    budget : int
        Fits of metakb's warm-started BO.
    tpe_budget : int
        Fits of Optuna's TPE.
    n_splits : int
        Cross-validation folds (shuffled with ``seed``; stratified for classification).
    max_rows : int
        Row cap (stratified subsample for classification).
    seed : int
        Seeds folds, subsamples, models and optimizers.
    flaml : bool
        Measure FLAML's zero-shot LightGBM (needs ``flaml[automl]``).
    max_rounds : int, optional
        Cap on every model's boosting rounds, for smoke tests only (it changes
        the methods: FLAML then keeps the cap instead of its suggestion).
    """

    task_type: TaskType = "classification"
    methods: tuple[str, ...] = DEFAULT_METHODS
    budget: int = 20
    tpe_budget: int = 50
    n_splits: int = 5
    max_rows: int = MAX_ROWS
    seed: int = 0
    flaml: bool = True
    max_rounds: int | None = None

    def __post_init__(self) -> None:
        if self.task_type not in TASK_TYPES:
            raise ValueError(f"task_type must be one of {TASK_TYPES}, not {self.task_type!r}")
        if self.budget < 1 or self.tpe_budget < 1:
            raise ValueError("budget and tpe_budget must be at least 1")
        if self.n_splits < 2 or self.max_rows < 2 * self.n_splits:
            raise ValueError("n_splits >= 2 and max_rows >= 2 * n_splits are needed")
        if not self.methods or len(set(self.methods)) != len(self.methods):
            raise ValueError("methods must be a non-empty list without repeats")
        for method in self.methods:
            parse_method(method)  # raises on an unknown name

    @property
    def metric(self) -> str:
        """The sweep's metric for the task type (``roc_auc``, ``neg_rmse``)."""
        return METRICS[self.task_type]

    @property
    def primary(self) -> str:
        """The method the targets judge."""
        return self.methods[0]

    @property
    def warm_starter(self) -> str:
        """The warm starter of the warm-started BO (``metakb search``'s default)."""
        return DEFAULT_WARM_STARTER

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as the report records them."""
        return {
            "algorithm": ALGORITHM,
            "task_type": self.task_type,
            "metric": self.metric,
            "methods": list(self.methods),
            "primary": self.primary,
            "warm_starter": self.warm_starter,
            "budget": self.budget,
            "tpe_budget": self.tpe_budget,
            "n_splits": self.n_splits,
            "max_rows": self.max_rows,
            "seed": self.seed,
            "top_k": TOP_K,
            "max_rounds": self.max_rounds,
        }


@dataclass(frozen=True)
class LiveTask:
    """One table to measure: features (numeric or categorical columns) and target.

    Attributes
    ----------
    name : str
        The table's name.
    x : pandas.DataFrame
        Features.
    y : pandas.Series
        Class labels or numeric target.
    kinds : mapping
        ``"categorical"`` / ``"numeric"`` per column of ``x`` (meta-features use them).
    info : dict
        What the report says about the table (rows before the cap, OpenML id, ...).
    """

    name: str
    x: pd.DataFrame
    y: pd.Series
    kinds: Mapping[str, str] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)


# --- Which tables -----------------------------------------------------------------------


def holdout_tasks(
    folder: str | Path, settings: LiveSettings, names: Sequence[str] | None = None
) -> Iterator[LiveTask]:
    """Load the held-out tables of ``settings.task_type`` from a PMLB folder, one at a time.

    Parameters
    ----------
    folder : str or Path
        PMLB's folder (``manifest.csv`` and the files it names).
    settings : LiveSettings
    names : sequence of str, optional
        A subset of the held-out list (default: all of it, in its order).

    Raises
    ------
    ValueError
        A name not in the held-out list, or not in the manifest.
    """
    held = HOLDOUT[settings.task_type]
    names = list(held if names is None else names)
    if unknown := [n for n in names if n not in held]:
        raise ValueError(
            f"not held-out {settings.task_type} tables: {', '.join(unknown)} "
            "(metakb.bench.holdout lists the tables the sweep never saw)"
        )
    manifest = pd.read_csv(Path(folder) / "manifest.csv").set_index("name")
    if missing := [n for n in names if n not in manifest.index]:
        raise ValueError(f"not in {Path(folder) / 'manifest.csv'}: {', '.join(missing)}")
    for name in names:
        row = manifest.loc[name]
        did = pd.to_numeric(pd.Series([row["openml_dataset_id"]]), errors="coerce").iloc[0]
        yield load_task(
            Path(folder) / str(row["file"]),
            task_type=settings.task_type,
            max_rows=settings.max_rows,
            seed=settings.seed,
            openml_dataset_id=None if pd.isna(did) else int(did),
        )


def load_task(
    path: str | Path,
    *,
    task_type: TaskType = "classification",
    max_rows: int = MAX_ROWS,
    seed: int = 0,
    **info: Any,
) -> LiveTask:
    """Load a table cut to ``max_rows`` rows as the sweep cuts it (stratified by class).

    The cut is :func:`~metakb.datasets.subsample_table`'s; ``info`` goes into the task's.
    """
    # duplicate_columns: PMLB's schizo repeats its target column (the first one is kept).
    table = load_table(path, task_type=task_type, duplicate_columns="rename")
    n = len(table.X)
    cut = subsample_table(table, max_rows, seed=seed)
    kinds = {c: cut.kinds[c] for c in cut.X.columns}
    return LiveTask(
        cut.name,
        cut.X.reset_index(drop=True),
        cut.y.reset_index(drop=True),
        kinds,
        {**info, "rows_in_file": n, "rows_used": len(cut.X)},
    )


# --- Resume log -------------------------------------------------------------------------


class ResultLog:
    """Finished (table, method) results, one JSON object per line, appended as they finish.

    Each line holds ``table``, ``method``, ``key`` (a hash of what the result
    depends on, :func:`result_key`) and the result. A line cut short by a kill
    is ignored (its result is measured again).

    Parameters
    ----------
    path : str or Path
        The log file (created on the first append).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> dict[tuple[str, str, str], dict[str, Any]]:
        """Return ``{(table, method, key): result}`` of every complete line."""
        done: dict[tuple[str, str, str], dict[str, Any]] = {}
        if not self.path.exists():
            return done
        for line in self.path.read_text().splitlines():
            try:
                entry = json.loads(line)
                done[(entry["table"], entry["method"], entry["key"])] = entry["result"]
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
        return done

    def append(self, table: str, method: str, key: str, result: Mapping[str, Any]) -> None:
        """Append one result (flushed, so a kill after it returns loses nothing)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps({"table": table, "method": method, "key": key, "result": result})
        # A line cut short by a kill has no newline: start on a fresh line after it.
        lead = ""
        if self.path.exists() and self.path.stat().st_size:
            with self.path.open("rb") as fh:
                fh.seek(-1, 2)
                lead = "" if fh.read(1) == b"\n" else "\n"
        with self.path.open("a") as fh:
            fh.write(f"{lead}{text}\n")
            fh.flush()


def result_key(settings: LiveSettings, method: str, model: str | None = None) -> str:
    """Return a short hash of everything ``method``'s result on a table depends on.

    ``model`` identifies the trained meta-model a metakb method read (its
    manifest's hash), so results of an older knowledge base are not reused.
    """
    parts: dict[str, Any] = {
        "task_type": settings.task_type,
        "metric": settings.metric,
        "n_splits": settings.n_splits,
        "max_rows": settings.max_rows,
        "seed": settings.seed,
        "max_rounds": settings.max_rounds,
        "model": model,
    }
    if method == "metakb_warm_bo":
        parts["budget"] = settings.budget
    elif method == "optuna_tpe":
        parts["budget"] = settings.tpe_budget
    text = json.dumps({"method": method, **parts}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- Estimators -------------------------------------------------------------------------


class _Fixed:
    """``(config, x) -> pipeline`` that ignores the configuration: one fixed model."""

    def __init__(self, model: Callable[[], Any], task_type: TaskType, seed: int) -> None:
        self.model = model
        self.task_type = task_type
        self.seed = seed

    def __call__(self, config: Mapping[str, Any], x: pd.DataFrame) -> Any:
        pipeline = DefaultEstimators(ALGORITHM, self.task_type, self.seed)({}, x)
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


@dataclass
class _Starter:
    model: WarmStarter
    ranges: Mapping[str, Sequence[float]]
    load_seconds: float
    model_id: str


class Starters:
    """The knowledge base's warm starters of one task type, each loaded (or fitted) once per run.

    Parameters
    ----------
    kb : KnowledgeBase
        Only read.
    task_type : {'classification', 'regression'}
    seed : int
        Seed of a model fitted on the fly (when none is saved).
    """

    def __init__(self, kb: KnowledgeBase, task_type: TaskType, seed: int) -> None:
        self.kb = kb
        self.task_type = task_type
        self.seed = seed
        self._loaded: dict[str, _Starter] = {}

    def model_id(self, base: str) -> str:
        """Return the saved model's hash, or ``fitted:<db>`` when one is fitted on the fly."""
        try:
            _, manifest = self.kb.load_model(ALGORITHM, base, task_type=self.task_type)
        except ArtifactError:
            return f"fitted:{self.kb.path}"
        return manifest.sha256

    def get(self, base: str) -> _Starter:
        """Return warm starter ``base``, its size ranges, the seconds it took to load and its id."""
        if base not in self._loaded:
            start = time.perf_counter()
            model, ranges = self.kb.starter(
                ALGORITHM, base, task_type=self.task_type, seed=self.seed
            )
            self._loaded[base] = _Starter(
                model, ranges, time.perf_counter() - start, self.model_id(base)
            )
        return self._loaded[base]

    def recommend(self, method: str, query: TaskQuery, k: int) -> list[Params]:
        """Return ``method``'s ``k`` configurations for ``query``, as ``metakb recommend`` picks.

        ``<starter>+default[@M]`` weighs the starter's picks against the library
        default with margin ``M`` (1 when absent) and the extrapolation check,
        exactly as :meth:`KnowledgeBase.recommend` does; a plain name returns
        the starter's own picks.
        """
        base, margin = parse_method(method)
        starter = self.get(base)
        if margin is None or not isinstance(starter.model, DefaultAwareWarmStarter):
            return [r.config for r in starter.model.recommend(query, k)]
        record = get_algorithm(ALGORITHM)
        outside = extrapolation_notes(query.meta_features, starter.ranges, ALGORITHM)
        recs = select_over_default(
            starter.model,
            query,
            k,
            default=record.library_config(),
            space=record.space,
            extrapolation=outside,
            margin=margin,
        )
        return [r.config for r in recs]


# --- One table --------------------------------------------------------------------------


def method_names(settings: LiveSettings) -> list[str]:
    """Return the report's method columns, in order."""
    return [
        *(f"metakb_top1_{m}" for m in settings.methods),
        "metakb_best5",
        "metakb_warm_bo",
        "optuna_tpe",
        "lgbm_default",
        *(("flaml_zeroshot",) if settings.flaml else ()),
    ]


def _starter_of(settings: LiveSettings, method: str) -> str | None:
    """Return the warm starter a metakb method reads (None for the others)."""
    if method.startswith("metakb_top1_"):
        return parse_method(method.removeprefix("metakb_top1_"))[0]
    if method in ("metakb_best5", "metakb_warm_bo"):
        return settings.warm_starter
    return None


def run_task(
    task: LiveTask,
    starters: Starters,
    settings: LiveSettings,
    *,
    done: Mapping[str, dict[str, Any]] | None = None,
    record: Callable[[str, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Measure every method of ``settings`` on one table, skipping those in ``done``.

    Parameters
    ----------
    task : LiveTask
    starters : Starters
        The warm starters (loaded once per run).
    settings : LiveSettings
    done : mapping, optional
        Method -> its result measured earlier (reused as it is).
    record : callable, optional
        ``record(method, result)`` after each method finishes (to log it).

    Returns
    -------
    dict
        ``name``, ``info``, ``rows``, ``features``, ``n_classes`` and ``methods``:
        per method its CV score (None if every fit failed), seconds, number of
        CV evaluations and configuration.
    """
    seed, task_type = settings.seed, settings.task_type
    done = dict(done or {})
    methods: dict[str, dict[str, Any]] = {}
    space = get_algorithm(ALGORITHM).space

    def finish(name: str, result: dict[str, Any]) -> None:
        methods[name] = result
        if record is not None:
            record(name, result)

    def objective(make: Any) -> CVObjective:
        return CVObjective(
            task.x,
            task.y,
            make,
            task_type=task_type,
            metric=settings.metric,
            n_splits=settings.n_splits,
            seed=seed,
        )

    memo = _Memo(
        objective(_Capped(SpaceEstimators(ALGORITHM, task_type, seed), settings.max_rounds))
    )
    todo = [m for m in method_names(settings) if m not in done]
    query = TaskQuery()
    mf_seconds = 0.0
    if any(_starter_of(settings, m) is not None for m in todo):
        t0 = time.perf_counter()
        features = extract(task.x, task.y, kinds=task.kinds, task_type=task_type, seed=seed)
        query = TaskQuery(
            {k: v for k, v in features.values.items() if math.isfinite(v)}, task_id=task.name
        )
        mf_seconds = time.perf_counter() - t0

    def evaluate(configs: Sequence[Params]) -> tuple[list[EvalResult], list[float]]:
        results, seconds = [], []
        for config in configs:
            with _Clock(memo) as clock:
                results.append(memo(config))
            seconds.append(clock.seconds)
        return results, seconds

    def recommended(method: str, k: int) -> tuple[list[Params], float]:
        load = starters.get(parse_method(method)[0]).load_seconds  # loaded once, outside the clock
        start = time.perf_counter()
        configs = starters.recommend(method, query, k)
        # What a user pays on one table: meta-features, loading the model, recommending.
        return configs, mf_seconds + load + time.perf_counter() - start

    # The first method's top-1 and best of 5 come from one list (the top-1 leads it).
    primary = f"metakb_top1_{settings.primary}"
    if primary in todo or "metakb_best5" in todo:
        configs, overhead = recommended(settings.primary, TOP_K)
        results, seconds = evaluate(configs)
        if primary in todo:
            finish(primary, _entry(results[0].score, overhead + seconds[0], 1, configs[0]))
        if "metakb_best5" in todo:
            best = int(np.argmax([-np.inf if r.score is None else r.score for r in results]))
            finish(
                "metakb_best5",
                _entry(results[best].score, overhead + sum(seconds), len(results), configs[best]),
            )

    for method in settings.methods[1:]:
        name = f"metakb_top1_{method}"
        if name in todo:
            configs, overhead = recommended(method, 1)
            results, seconds = evaluate(configs[:1])
            finish(name, _entry(results[0].score, overhead + seconds[0], 1, configs[0]))

    if "metakb_warm_bo" in todo:
        # As `metakb search` starts it, without write-back.
        starter = starters.get(settings.warm_starter)
        with _Clock(memo) as clock:
            started = start_optimizer(
                space, "bo", settings.budget, starter=starter.model, query=query, seed=seed
            )
            search = run_search(started.optimizer, memo, settings.budget)
        best_trial = search.best
        finish(
            "metakb_warm_bo",
            _entry(
                None if best_trial is None else best_trial.score,
                mf_seconds + starter.load_seconds + clock.seconds,
                len(search.trials),
                None if best_trial is None else best_trial.config,
            ),
        )

    if "optuna_tpe" in todo:
        finish("optuna_tpe", _optuna(memo, space, settings))

    for name, model in _fixed_models(settings).items():
        if name in todo:
            start = time.perf_counter()
            result = objective(_Fixed(model, task_type, seed))(config={})
            finish(name, _entry(result.score, time.perf_counter() - start, 1))
            if result.score is None:
                log.warning("%s failed on %s: %s", name, task.name, result.error)
    methods.update(done)
    return {
        "name": task.name,
        "info": dict(task.info),
        "rows": len(task.x),
        "features": task.x.shape[1],
        "n_classes": int(task.y.nunique()) if task_type == "classification" else None,
        "methods": {m: methods[m] for m in method_names(settings)},
    }


def _fixed_models(settings: LiveSettings) -> dict[str, Callable[[], Any]]:
    import lightgbm

    seed, cap = settings.seed, settings.max_rounds
    fixed: dict[str, Any] = {} if cap is None else {"n_estimators": min(cap, 100)}
    lgbm = (
        lightgbm.LGBMClassifier
        if settings.task_type == "classification"
        else lightgbm.LGBMRegressor
    )
    models: dict[str, Callable[[], Any]] = {
        "lgbm_default": lambda: lgbm(random_state=seed, n_jobs=1, verbose=-1, **fixed)
    }
    if settings.flaml:
        models["flaml_zeroshot"] = lambda: flaml_zeroshot(settings.task_type, seed, cap)
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
        study.optimize(objective, n_trials=settings.tpe_budget)
    done = [t for t in study.trials if t.value is not None and math.isfinite(t.value)]
    best = max(done, key=lambda t: t.value) if done else None  # type: ignore[arg-type,return-value]
    return _entry(
        None if best is None else best.value,
        clock.seconds,
        len(study.trials),
        None if best is None else space.validate(best.params),
    )


# --- Many tables ------------------------------------------------------------------------


def _unusable(task: LiveTask, settings: LiveSettings) -> str | None:
    """Why the table cannot be cross-validated as the benchmark does (None: it can)."""
    if settings.task_type == "regression":
        return "constant target" if task.y.nunique() < 2 else None
    smallest = int(task.y.value_counts().min())
    if smallest < settings.n_splits or task.y.nunique() < 2:
        # Stratified folds need every class in every test fold.
        return f"smallest class has {smallest} rows (< {settings.n_splits} folds)"
    return None


def run_live(
    tasks: Iterable[LiveTask],
    db: str | Path,
    settings: LiveSettings | None = None,
    *,
    results: ResultLog | None = None,
    total: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Measure every method on every task and summarize.

    Parameters
    ----------
    tasks : iterable of LiveTask
        The tables (loaded lazily when an iterator is given).
    db : str or Path
        The knowledge base whose trained models warm-start (read only).
    settings : LiveSettings, optional
    results : ResultLog, optional
        Where each (table, method) result is appended as it finishes; results
        already there under the same key are reused, not measured again.
    total : int, optional
        How many tasks, for ``progress``.
    progress : callable, optional
        ``progress(table name, done, total)`` after each table.

    Returns
    -------
    dict
        ``settings``, ``methods``, ``datasets`` (per-table results), ``skipped``,
        ``reused`` (results read from the log) and ``summary``.
    """
    settings = settings or LiveSettings()
    if settings.flaml and (why := flaml_missing()) is not None:
        raise ImportError(why)
    starters = Starters(KnowledgeBase(db), settings.task_type, settings.seed)
    names = method_names(settings)
    starter_of = {m: _starter_of(settings, m) for m in names}
    keys = {
        m: result_key(settings, m, None if b is None else starters.model_id(b))
        for m, b in starter_of.items()
    }
    logged = results.load() if results is not None else {}
    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    reused = 0
    t0 = time.perf_counter()
    for n, task in enumerate(tasks, start=1):
        if (why := _unusable(task, settings)) is not None:
            skipped[task.name] = why
            log.info("skipping %s: %s", task.name, why)
            continue
        done = {m: logged[key] for m in names if (key := (task.name, m, keys[m])) in logged}
        reused += len(done)

        def record(method: str, result: dict[str, Any], name: str = task.name) -> None:
            if results is not None:
                results.append(name, method, keys[method], result)

        rows.append(run_task(task, starters, settings, done=done, record=record))
        if progress is not None:
            progress(task.name, n, total or n)
    return {
        "settings": settings.to_dict(),
        "seconds": round(time.perf_counter() - t0, 1),
        "methods": names,
        "datasets": rows,
        "skipped": skipped,
        "reused": reused,
        "summary": summarize(rows, primary=settings.primary, task_type=settings.task_type),
    }


def _frame(rows: Sequence[Mapping[str, Any]], field_name: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            r["name"]: {
                m: (np.nan if v[field_name] is None else v[field_name])
                for m, v in r["methods"].items()
            }
            for r in rows
        }
    ).T


def normalized_scores(scores: pd.DataFrame) -> pd.DataFrame:
    """Return ``(s - worst) / (best - worst)`` per table (row); 1 where every method ties.

    A failed method (NaN) scores 0 on its table.
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


def summarize(
    rows: Sequence[Mapping[str, Any]],
    *,
    primary: str = DEFAULT_METHODS[0],
    task_type: str = "classification",
) -> dict[str, Any]:
    """Return per-method means (score, normalized score, rank, seconds), wins and targets.

    For regression, also each method's mean RMSE relative to ``lgbm_default``'s
    on the same table (scores are negative RMSEs, so the ratio of scores); the
    warm BO versus TPE target then compares those ratios, as raw RMSEs of
    different tables share no scale.

    Parameters
    ----------
    rows : sequence of dict
        :func:`run_task` results.
    primary : str
        The method whose top-1 the targets judge.
    task_type : {'classification', 'regression'}
    """
    if not rows:
        return {}
    scores = _frame(rows, "score")
    seconds = _frame(rows, "seconds")
    norm = normalized_scores(scores)
    ranks = scores.fillna(-np.inf).rank(axis=1, ascending=False, method="average")
    relative = (
        scores.div(scores["lgbm_default"], axis=0)
        if task_type == "regression" and "lgbm_default" in scores
        else None
    )
    n = len(scores)
    per_method: dict[str, dict[str, Any]] = {}
    for m in scores.columns:
        per_method[m] = {
            "mean_score": round(float(scores[m].mean()), 5),
            "mean_normalized": round(float(norm[m].mean()), 4),
            "sem_normalized": round(float(norm[m].std(ddof=1) / math.sqrt(n)), 4) if n > 1 else 0.0,
            "mean_rank": round(float(ranks[m].mean()), 3),
            "failures": int(scores[m].isna().sum()),
            "mean_seconds": round(float(seconds[m].mean()), 3),
            "total_seconds": round(float(seconds[m].sum()), 1),
        }
        if relative is not None:
            per_method[m]["mean_relative_rmse"] = round(float(relative[m].mean()), 5)
    top1 = f"metakb_top1_{primary}"
    pairs = [
        *(
            (f"{m} vs {b}", m, b)
            for m in scores.columns
            if m.startswith("metakb_top1_") or m == "metakb_best5"
            for b in ("lgbm_default", "flaml_zeroshot")
        ),
        ("metakb_warm_bo vs optuna_tpe", "metakb_warm_bo", "optuna_tpe"),
    ]
    wins = {
        key: win_record(scores[a], scores[b]) for key, a, b in pairs if a in scores and b in scores
    }
    targets: dict[str, dict[str, Any]] = {}
    for key, (text, goal) in WIN_RATE_TARGETS.items():
        other = "lgbm_default" if key == "top1_vs_default" else "flaml_zeroshot"
        if (pair := f"{top1} vs {other}") in wins:
            rate = wins[pair]["win_rate"]
            targets[key] = {
                "text": text.format(primary),
                "target": goal,
                "value": rate,
                "met": rate >= goal,
            }
    if "metakb_warm_bo" in scores and "optuna_tpe" in scores:
        warm, tpe = per_method["metakb_warm_bo"], per_method["optuna_tpe"]
        if relative is not None:
            targets["warm_bo_vs_optuna_mean_score"] = {
                "text": "metakb warm BO mean RMSE / default <= Optuna TPE's",
                "target": tpe["mean_relative_rmse"],
                "value": warm["mean_relative_rmse"],
                "met": warm["mean_relative_rmse"] <= tpe["mean_relative_rmse"],
            }
        else:
            targets["warm_bo_vs_optuna_mean_score"] = {
                "text": "metakb warm BO mean score >= Optuna TPE mean score",
                "target": tpe["mean_score"],
                "value": warm["mean_score"],
                "met": warm["mean_score"] >= tpe["mean_score"],
            }
    return {"datasets": n, "per_method": per_method, "wins": wins, "targets": targets}


# --- Report -----------------------------------------------------------------------------


TITLES: dict[str, str] = {
    "classification": (
        "Live benchmark: real LightGBM fits on PMLB datasets the knowledge base never saw"
    ),
    "regression": (
        "Live benchmark, regression: real LightGBM fits on held-out PMLB regression tables"
    ),
}
"""Each page's title (`metakb.bench.render.fill_page`)."""
TITLE = TITLES["classification"]
PAGES: dict[str, str] = {"classification": "live_pmlb", "regression": "live_pmlb_regression"}
"""Each task type's page, JSON report and result log name under the output folder."""


def render_markdown(report: Mapping[str, Any], command: str, *, load: str = "") -> dict[str, str]:
    """Return the page's generated blocks: ``run`` (command, settings) and ``results`` (tables).

    The hand-written prose (how scores, wins and seconds are read) lives in
    docs/benchmarks/live_pmlb*.md between the blocks (`metakb.bench.render.fill_page`).
    """
    s = report["settings"]
    task_type = s.get("task_type", "classification")
    regression = task_type == "regression"
    summary = report["summary"]
    methods = report["methods"]
    scoring = (
        f"stratified {s['n_splits']}-fold cross-validation (seed {s['seed']}) with {s['metric']} "
        "(one-vs-rest macro for more than two classes)"
        if not regression
        else f"{s['n_splits']}-fold cross-validation (seed {s['seed']}) with {s['metric']}"
    )
    searches = (
        f"metakb's warm BO gets {s['budget']} fits, Optuna TPE {s['tpe_budget']}"
        if "tpe_budget" in s
        else f"The searches get {s['budget']} fits each"
    )
    run = [
        f"Produced by: `{command}`" + (f" (machine load: {load})" if load else "") + ".",
        "",
        f"{summary.get('datasets', 0)} PMLB {task_type} datasets; every method is scored by "
        f"the same {scoring}; tables over {s['max_rows']} rows are subsampled to "
        f"{s['max_rows']} rows{'' if regression else ', stratified'}. {searches}. "
        f"metakb's warm starter: `{s['warm_starter']}`"
        + (f"; the targets judge `{s['primary']}`." if "primary" in s else "."),
    ]
    lines: list[str] = []
    selection = report.get("selection", {})
    if selection:
        lines += [f"Datasets: {selection['rule']}.", ""]
        if "eligible" in selection:
            lines.append(
                f"- {selection['classification']} classification datasets, "
                f"{selection['eligible']} eligible, chosen: {', '.join(selection['chosen'])}"
            )
        else:
            lines.append(f"- chosen: {', '.join(selection['chosen'])}")
        for why, names in selection.get("left_out", {}).items():
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
    first = "mean RMSE / default" if regression else "mean score"
    lines += [
        "",
        "## Per method",
        "",
        f"| method | {first} | mean normalized | mean rank | failures | mean s | total s |",
        "|---|---|---|---|---|---|---|",
    ]
    for m in methods:
        p = summary["per_method"][m]
        mean = p["mean_relative_rmse"] if regression else p["mean_score"]
        lines.append(
            f"| {m} | {mean:.4f} | {p['mean_normalized']:.3f} ± "
            f"{p['sem_normalized']:.3f} | {p['mean_rank']:.2f} | {p['failures']} | "
            f"{p['mean_seconds']:.1f} | {p['total_seconds']:.0f} |"
        )
    lines += [
        "",
        "## Per dataset (RMSE / lgbm_default's, lgbm_default: its RMSE; seconds)"
        if regression
        else "## Per dataset (score; seconds)",
        "",
        f"| dataset | rows | features | {'' if regression else 'classes | '}"
        + " | ".join(methods)
        + " |",
        ("|---|---|---|" if regression else "|---|---|---|---|") + "---|" * len(methods),
    ]
    for row in report["datasets"]:
        cells = [_cell(row, m, regression) for m in methods]
        lines.append(
            f"| {row['name']} | {row['rows']} | {row['features']} | "
            + ("" if regression else f"{row['n_classes']} | ")
            + " | ".join(cells)
            + " |"
        )
    return {"run": "\n".join(run), "results": "\n".join(lines)}


def _cell(row: Mapping[str, Any], method: str, regression: bool) -> str:
    v = row["methods"][method]
    score, default = v["score"], row["methods"].get("lgbm_default", {}).get("score")
    if score is None:
        text = "failed"
    elif not regression:
        text = f"{score:.4f}"
    elif method == "lgbm_default":
        text = f"{-score:.4g}"
    elif default:
        text = f"{score / default:.3f}"  # both are negative RMSEs
    else:
        text = f"RMSE {-score:.4g}"
    return f"{text}; {v['seconds']:.1f}"


def plot_report(report: Mapping[str, Any], path: str | Path) -> None:
    """Draw mean normalized score and mean wall time per method (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    per = report["summary"]["per_method"]
    methods = list(report["methods"])
    task_type = report["settings"].get("task_type", "classification")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4 + 0.15 * len(methods)))
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
    fig.suptitle(
        f"Live LightGBM benchmark, {report['summary']['datasets']} PMLB {task_type} datasets"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
