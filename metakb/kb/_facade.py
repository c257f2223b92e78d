"""`KnowledgeBase`: the one object the edges (CLI, app, pipelines, integrations) talk to."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from metakb.datasets import DEFAULT_MAX_BYTES
from metakb.errors import MetakbError
from metakb.kb import _recommend, _train
from metakb.kb._artifacts import Manifest, load_model
from metakb.kb._layout import Layout
from metakb.kb._recommend import RecommendedConfig
from metakb.kb._train import MIN_CONFIGS
from metakb.models import DEFAULT_RECOMMENDER, DEFAULT_WARM_STARTER, MetaDataset, WarmStarter
from metakb.spaces import DEFAULT_ALGORITHM, Params
from metakb.store import (
    Store,
    get_best_by_flow,
    get_evaluation_counts,
    get_evaluations,
    get_meta_feature_matrix,
    get_stats,
    get_task,
    list_dataset_files,
    list_tasks,
    resolve_flow,
)

if TYPE_CHECKING:
    from metakb.datasets import Table
    from metakb.kb._quickstart import QuickstartResult, SearchComparison
    from metakb.kb._recommend import TableMatch
    from metakb.kb._search import TableSearch
    from metakb.metafeatures import FeaturizeSummary, MetaFeatureResult
    from metakb.search import SearchResult, TrialRecord
    from metakb.sources.openml import OpenMLIngestSummary
    from metakb.sources.published import ImportSummary
    from metakb.sources.shipped import MetadatasetManifest
    from metakb.sweep import SweepReport

Progress = Callable[[str, int, int], None]
SearchProgress = Callable[["TrialRecord", "SearchResult"], None]


class KnowledgeBase:
    """A metakb knowledge base: one DuckDB file and the folders beside it.

    It owns the :class:`~metakb.store.Store` (every read and write goes
    through it) and the :class:`Layout` (trained models, search logs, the
    OpenML cache), and offers the verbs users need. The command line, the
    app, the pipelines and the integrations call these verbs and nothing
    behind them.

    Parameters
    ----------
    path : str or Path, optional
        The DuckDB file (default ``$METAKB_DB`` or ``data/metakb.duckdb``);
        created on the first write.
    wait_s : float
        How long to keep retrying while another process holds the file.

    Examples
    --------
    >>> from metakb.kb import KnowledgeBase
    >>> kb = KnowledgeBase("data/metakb.duckdb")  # doctest: +SKIP
    >>> kb.ingest_published("../shared/data")  # doctest: +SKIP
    >>> kb.train(["lightgbm"])  # doctest: +SKIP
    >>> kb.recommend({"NumberOfInstances": 5000}, algorithm="lightgbm", k=3)  # doctest: +SKIP
    """

    def __init__(self, path: str | Path | None = None, *, wait_s: float = 3.0) -> None:
        self.store = Store(path, wait_s=wait_s)
        self.layout = Layout(self.store.path)

    def __repr__(self) -> str:
        return f"KnowledgeBase({str(self.path)!r})"

    @property
    def path(self) -> Path:
        """The DuckDB file."""
        return self.store.path

    # -- reads ------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Return counts per table and evaluations by flow and metric."""
        with self.store.read() as con:
            return get_stats(con)

    def tasks(self, flow: str | None = None) -> pd.DataFrame:
        """Return the tasks (only those evaluated with ``flow``: id, OpenML id or algorithm).

        Raises
        ------
        MetakbError
            No such flow in the knowledge base.
        """
        with self.store.read() as con:
            if flow is not None and not resolve_flow(con, flow):
                raise MetakbError(
                    f"no flow {flow!r} in the knowledge base; `metakb stats` lists them"
                )
            return list_tasks(con, flow)

    def task(self, ref: str, *, top: int = 5) -> dict[str, Any] | None:
        """Return one task (key, OpenML id, name or key prefix) with its evaluations, or None."""
        with self.store.read() as con:
            return get_task(con, ref, top=top)

    def evaluations(
        self, task_id: str, flow_id: str | None = None, metric: str | None = None
    ) -> pd.DataFrame:
        """Return a task's evaluations with their configurations."""
        with self.store.read() as con:
            return get_evaluations(con, task_id, flow_id, metric)

    def meta_feature_matrix(self, computed_by: str = "openml") -> pd.DataFrame:
        """Return datasets x meta-features as computed by ``computed_by``."""
        with self.store.read() as con:
            return get_meta_feature_matrix(con, computed_by)

    def best_by_flow(self) -> pd.DataFrame:
        """Return the best value of each task per flow and metric."""
        with self.store.read() as con:
            return get_best_by_flow(con)

    def evaluation_counts(self) -> pd.DataFrame:
        """Return evaluations per source and flow."""
        with self.store.read() as con:
            return get_evaluation_counts(con)

    def dataset_files(self) -> pd.DataFrame:
        """Return the datasets that have a local file."""
        with self.store.read() as con:
            return list_dataset_files(con)

    def meta_dataset(
        self,
        algorithm: str,
        metric: str | None = None,
        *,
        task_type: str | None = None,
        min_configs: int = MIN_CONFIGS,
    ) -> MetaDataset:
        """Return one algorithm's evaluations as the models' :class:`~metakb.models.MetaDataset`.

        Only tasks of ``task_type`` when given (what :meth:`train` learns
        from), else every task; see :func:`metakb.kb._train.load_meta_dataset`.

        Raises
        ------
        MetakbError
            The algorithm is unknown or the knowledge base holds no usable runs of it.
        """
        return _train.load_meta_dataset(
            self.store, algorithm, metric, task_type=task_type, min_configs=min_configs
        )

    def fold_results(self, provenance_prefix: str, task_type: str | None = None) -> pd.DataFrame:
        """Return the per-fold evaluations of a sweep (``sweep:lightgbm:``), see the store's."""
        from metakb.store import get_fold_results

        with self.store.read() as con:
            return get_fold_results(con, provenance_prefix, task_type)

    # -- writes -----------------------------------------------------------------------

    def migrate(self) -> int:
        """Upgrade the file to this metakb's schema; return the version it had."""
        return self.store.upgrade()

    def ingest_published(
        self,
        data_dir: str | Path | None = None,
        *,
        sources: Sequence[str] | None = None,
        metadataset_dir: str | Path | None = None,
        progress: Progress | None = None,
    ) -> ImportSummary:
        """Import the published meta-datasets, then the shipped one (idempotent).

        Without a data folder (argument or ``$METAKB_DATA``) only the shipped
        meta-dataset is imported; ``sources`` may name it (``"metadataset"``).
        See :func:`metakb.sources.shipped.import_with_metadataset`.
        """
        from metakb.sources.shipped import import_with_metadataset

        return import_with_metadataset(
            self.store,
            data_dir,
            sources=tuple(sources) if sources else None,
            metadataset_dir=metadataset_dir,
            progress=progress,
        )

    def import_metadataset(
        self, folder: str | Path | None = None, *, progress: Progress | None = None
    ) -> ImportSummary:
        """Import a meta-dataset folder (default: the shipped one), checking its sha256s.

        See :func:`metakb.sources.shipped.import_metadataset`.
        """
        from metakb.sources.shipped import import_metadataset

        return import_metadataset(self.store, folder, progress=progress)

    def export_metadataset(
        self, folder: str | Path, *, provenance_prefix: str | None = None, command: str = ""
    ) -> MetadatasetManifest:
        """Write the sweep's evaluations and what they reference to ``folder`` as Parquet.

        ``provenance_prefix`` defaults to the sweep's (``sweep:``). See
        :func:`metakb.sources.shipped.export_metadataset`.
        """
        from metakb.sources.shipped import SWEEP_PREFIX, export_metadataset

        return export_metadataset(
            self.store, folder, provenance_prefix=provenance_prefix or SWEEP_PREFIX, command=command
        )

    def ingest_openml(self, **options: Any) -> OpenMLIngestSummary:
        """Pull runs from OpenML, resumably (the options of ``sources.openml.ingest_openml``)."""
        # Imported here: openml-python is slow to import and only this verb needs it.
        from metakb.sources.openml import ingest_openml

        return ingest_openml(self.store, cache_dir=self.layout.openml_cache, **options)

    def featurize(
        self,
        *,
        families: Sequence[str] | None = None,
        n_jobs: int = 2,
        progress: Progress | None = None,
    ) -> FeaturizeSummary:
        """Compute and store the meta-features of every dataset with a local file."""
        from metakb.metafeatures import featurize_all

        return featurize_all(self.store, families=families, n_jobs=n_jobs, progress=progress)

    # -- models -----------------------------------------------------------------------

    def train(
        self,
        algorithms: Sequence[str] | None = None,
        methods: Sequence[str] | None = None,
        *,
        seed: int = 0,
        min_configs: int = MIN_CONFIGS,
        progress: Progress | None = None,
    ) -> list[Manifest]:
        """Fit and save the warm starters of each algorithm the knowledge base has runs of.

        Each of the algorithm's task types gets its own models, learned from
        the tasks of that type only (none when it has no runs on such tasks).

        Parameters
        ----------
        algorithms : sequence of str, optional
            Algorithms to train for (default: every algorithm with a space and
            runs); a named one without runs on tasks of any of its task types
            is an error.
        methods : sequence of str, optional
            Names from :data:`~metakb.models.WARM_STARTERS` (default: all).
        seed : int
            Seed passed to every model.
        min_configs : int
            Tasks with fewer evaluated configurations are left out.
        progress : callable, optional
            ``progress(description, done, total)``.

        Returns
        -------
        list of Manifest
            One per saved artifact (algorithm, task type and method).
        """
        return _train.train(
            self.store,
            self.layout,
            algorithms,
            methods,
            seed=seed,
            min_configs=min_configs,
            progress=progress,
        )

    def load_model(
        self,
        algorithm: str,
        method: str = DEFAULT_WARM_STARTER,
        *,
        task_type: str = "classification",
    ) -> tuple[WarmStarter, Manifest]:
        """Return a model saved by :meth:`train` for ``task_type`` and its manifest.

        Raises
        ------
        ArtifactError
            None saved, of another version, or not matching its manifest's hash.
        """
        space = _train.space_of(algorithm)
        return load_model(self.layout.artifact(space.name, method, task_type), cached=True)

    def starter(
        self,
        algorithm: str,
        method: str = DEFAULT_WARM_STARTER,
        *,
        task_type: str = "classification",
        seed: int = 0,
        notes: list[str] | None = None,
    ) -> tuple[WarmStarter, Mapping[str, Sequence[float]]]:
        """Return the warm starter for ``task_type`` (fitted now if none is saved), its size ranges.

        See :func:`metakb.kb._train.load_starter`.
        """
        return _train.load_starter(
            self.store, self.layout, algorithm, method, task_type=task_type, seed=seed, notes=notes
        )

    def recommend(
        self,
        meta_features: Mapping[str, float] | MetaFeatureResult | None = None,
        *,
        algorithm: str = DEFAULT_ALGORITHM,
        k: int = 10,
        method: str | None = None,
        task: str | None = None,
        task_type: str | None = None,
        observations: Sequence[tuple[Params, float]] = (),
        seed: int = 0,
        min_configs: int = MIN_CONFIGS,
        leave_out: Sequence[str] = (),
        n_rows: int | None = None,
        max_relative_cost: float | None = None,
        metric: str | None = None,
    ) -> list[RecommendedConfig]:
        """Recommend configurations of ``algorithm`` for a new task or a task in the knowledge base.

        Parameters
        ----------
        meta_features : mapping or MetaFeatureResult, optional
            The new task's meta-features (OpenML quality names), or what
            :func:`metakb.metafeatures.extract` returned for its table (whose
            task type is then the default ``task_type``). Required unless ``task`` is given.
        algorithm : str
            A name of :data:`~metakb.spaces.ALGORITHMS` (or a flow id).
        k : int
            How many configurations.
        method : str, optional
            A name from :data:`~metakb.models.WARM_STARTERS` (default
            :data:`~metakb.models.DEFAULT_RECOMMENDER`).
        task : str, optional
            A task already in the knowledge base (key, OpenML task id, name or
            unique key prefix, see :func:`~metakb.store.find_task`): its
            meta-features come from the store and every task of its dataset is
            left out of the training data (the model is fitted afresh without them).
        task_type : {'classification', 'regression'}, optional
            The new task's task type: the recommendations come from a model
            learned from tasks of that type only (default: the task's own with
            ``task``, else the algorithm's first, classification).
        observations : sequence of (params, value)
            Configurations already evaluated on the task, with metric values (in
            the metric's own direction). ``transfer`` then reweights its past
            tasks by how well they order them and recommends what complements
            them (never one of them again); ``cf`` updates its task factors.
        seed : int
            Seed of a model fitted afresh.
        min_configs : int
            Tasks with fewer evaluated configurations are left out of a model fitted afresh.
        leave_out : sequence of str
            Task keys whose datasets the recommendation must not learn from (the
            new task's own copies, :meth:`match_table`): when the saved model
            learned from one of them, one is fitted afresh without them.
        n_rows : int, optional
            The rows the model will be fitted on: size-dependent values the
            table is too small for are capped in ``config`` (default: the
            meta-features' NumberOfInstances; None there: as they are).
        max_relative_cost : float, optional
            Only configurations predicted to fit in at most this multiple of
            the default's fit time (``relative_cost``; an unknown cost is
            left out); more candidates compete, so that up to ``k`` remain.
        metric : str, optional
            Learn from the runs scored by this cross-validation metric only
            (one of :data:`~metakb.search.TASK_METRICS` for the task type, as
            ``search`` takes). By default each task is read in its own
            metric, as ``train`` learns; when the saved model learned from
            another, one is fitted now (not saved) and a
            :class:`ModelFittedWarning` says so.

        Returns
        -------
        list of RecommendedConfig
            Best first; ``config`` holds the estimator's keyword arguments
            (``estimator``), ``flow_params`` the configuration under the flow's
            parameter names. The algorithm's library default is always a
            candidate and leads unless the model predicts its first pick beats
            it by more than the gain's spread
            (:func:`~metakb.models.select_over_default`); each recommendation
            carries ``predicted_gain``, ``gain_sd``, ``reason`` and
            ``relative_cost``, the predicted fit time over the default's.

        Raises
        ------
        MetakbError
            Unknown algorithm or method, a task type the algorithm does not
            support (or not ``task``'s), no task of the task type with runs of
            the algorithm, no trained model (or one refused), no such task,
            ``task_type`` not that of a :class:`~metakb.metafeatures.MetaFeatureResult`,
            too few runs scored by ``metric``.
        UsageError
            An unknown method or ``metric``, or a metric of the other task type.
        ValueError
            A meta-feature value that is not a number (NaN and infinities are
            allowed: the models treat them as missing).

        Warns
        -----
        ExtrapolationWarning
            The task's number of instances, features or classes lies outside
            every training task's (:func:`~metakb.kb.extrapolation_notes` says which).
        ModelFittedWarning
            No usable saved model, or none learned from ``metric``: one was fitted now.
        """
        name = method or DEFAULT_RECOMMENDER
        _train.method_of(name)
        return _recommend.recommend(
            self.store,
            self.layout,
            meta_features,
            algorithm=algorithm,
            k=k,
            method=name,
            task=task,
            task_type=task_type,
            observations=observations,
            seed=seed,
            min_configs=min_configs,
            leave_out=leave_out,
            n_rows=n_rows,
            max_relative_cost=max_relative_cost,
            metric=metric,
        )

    def match_table(self, table: Table) -> list[TableMatch]:
        """Return the knowledge-base datasets ``table`` is a copy of: same file, or name and shape.

        See :func:`metakb.store.find_table_datasets`.
        """
        return _recommend.match_table(self.store, table)

    # -- searches and the main job ----------------------------------------------------

    def sweep(
        self,
        algorithm: str | None,
        datasets: str,
        *,
        design: str | None = None,
        n_splits: int = 5,
        max_rows: int | None = None,
        executor: str = "inprocess",
        trial_timeout: float | None = 600.0,
        exclude: Sequence[str] = (),
        task_type: str | None = None,
        resume: bool = False,
        seed: int = 0,
        progress: Progress | None = None,
    ) -> SweepReport:
        """Evaluate a design of configurations on many tables and store every evaluation.

        Parameters
        ----------
        algorithm : str or None
            The algorithm swept (default :data:`~metakb.spaces.DEFAULT_ALGORITHM`).
        datasets : str
            A folder of tables (with or without a ``manifest.csv``), ``sklearn``
            (scikit-learn's bundled datasets) or ``kb`` (this knowledge base's
            datasets that have a local file).
        design : str, optional
            A key of :data:`~metakb.sweep.DESIGNS` (default ``standard``).
        n_splits : int
            Cross-validation folds.
        max_rows : int, optional
            Row cap per table (default :data:`~metakb.sweep.DEFAULT_MAX_ROWS`).
        executor : str
            Where fits run (``inprocess``, ``process:N``, ``dask:local:N``, ``dask:tcp://...``).
        trial_timeout : float, optional
            Seconds one configuration's cross-validation may take.
        exclude : sequence of str
            Dataset names to leave out.
        task_type : str, optional
            Sweep only tables of this task type.
        resume : bool
            Continue an earlier run of the same sweep (without it, an earlier run is an error).
        seed : int
            Seed of folds, cuts, models and the design.
        progress : callable, optional
            ``progress(description, done, total)``.

        Raises
        ------
        MetakbError
            Unknown design, no tables, or an earlier run of the sweep without ``resume``.
        """
        from metakb.kb._sweep import sweep
        from metakb.sweep import DEFAULT_DESIGN, DEFAULT_MAX_ROWS, SweepSettings

        settings = SweepSettings(
            algorithm=_train.space_of(algorithm or DEFAULT_ALGORITHM).name,
            design=design or DEFAULT_DESIGN,
            n_splits=n_splits,
            max_rows=DEFAULT_MAX_ROWS if max_rows is None else max_rows,
            executor=executor,
            trial_timeout=trial_timeout,
            seed=seed,
        )
        return sweep(
            self.store,
            self.layout,
            datasets,
            settings,
            resume=resume,
            exclude=exclude,
            task_type=task_type,
            progress=progress,
        )

    def search(
        self,
        path: str | Path,
        *,
        target: str | None = None,
        algorithm: str | None = None,
        budget: int = 20,
        method: str | None = None,
        warm_start: str | None = None,
        executor: str = "inprocess",
        seed: int = 0,
        resume: bool = False,
        new: bool = False,
        time_limit: float | None = None,
        time_budget: float | None = None,
        n_warm: int | None = None,
        n_splits: int = 5,
        metric: str | None = None,
        on_trial: SearchProgress | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> TableSearch:
        """Run a warm-started search on a table file; every trial is written back.

        Parameters
        ----------
        path : str or Path
            The table (CSV, TSV, Parquet, ARFF).
        target : str, optional
            Target column (default: ``target`` or ``class``).
        algorithm : str, optional
            A name of :data:`~metakb.spaces.ALGORITHMS` (default
            :data:`~metakb.spaces.DEFAULT_ALGORITHM`).
        budget : int
            Number of trials (a multi-fidelity trial counts as one; the lowest
            fidelity follows the budget, see :func:`metakb.search.min_fidelity`).
        method : str, optional
            A name of :data:`~metakb.search.OPTIMIZERS` (default
            :data:`~metakb.search.DEFAULT_OPTIMIZER`).
        warm_start : str, optional
            A name of :data:`~metakb.models.WARM_STARTERS` whose recommendations
            are evaluated first, or ``"none"`` for a cold search (default
            :data:`~metakb.models.DEFAULT_WARM_STARTER`). A predicting one is
            also ``bo``/``bohb``'s prior.
        executor : str
            A spec of :func:`metakb.search.open_executor` (``inprocess``,
            ``dask:local:N``, ``dask:tcp://HOST:PORT``, ``process:N``).
        seed : int
            Seeds the optimizer, folds and models.
        resume : bool
            Replay the search's log and continue it instead of starting over.
        new : bool
            Start over although the search's log holds trials (without
            ``resume`` or ``new`` that is a :class:`~metakb.errors.SearchExistsError`).
        time_limit : float, optional
            Seconds per trial; a longer trial fails.
        time_budget : float, optional
            Wall-clock seconds for this call's trials: no trial starts that is
            expected to end after it (the mean time so far, scaled by the
            trial's predicted fit cost where the knowledge base's fit times
            tell), and a warm-start configuration predicted to take longer
            than all the time left is skipped with a note. With ``budget``,
            whichever ends first; ``TableSearch.stop`` says which. A resume
            gets the whole time budget again (earlier runs' time not counted).
        n_warm : int, optional
            Recommendations to start from (default :func:`metakb.search.default_n_warm`).
        n_splits : int
            Cross-validation folds.
        metric : str, optional
            A key of :data:`~metakb.search.SCORERS` (default accuracy / neg_rmse).
        on_trial : callable, optional
            ``on_trial(record, result_so_far)`` after each trial is logged and
            stored (progress display; raising stops the search, which can be resumed).
        max_bytes : int
            Refuse a table larger than this, on disk or decompressed.

        Returns
        -------
        TableSearch

        Raises
        ------
        MetakbError
            A bad file, target, algorithm, method or warm start; a task type the
            algorithm does not support; a table too small to cross-validate or
            with infinite values; a warm start without a trained model or runs
            to fit one; a rerun of a search with trials, without ``resume`` or
            ``new``. Nothing is written then. (Unknown names, a budget below
            one and a time budget not above zero are its subclass
            :class:`~metakb.errors.UsageError`.) A knowledge
            base another process keeps busy for 10 minutes
            (:meth:`~metakb.store.Store.patient`; the trials so far are in the log).
        """
        from metakb.kb._search import (
            check_rerun,
            check_time_budget,
            plan_search,
            prepare_search,
            run_prepared,
        )
        from metakb.search import DEFAULT_OPTIMIZER

        check_time_budget(time_budget)
        plan = plan_search(
            path,
            target=target,
            algorithm=algorithm or DEFAULT_ALGORITHM,
            budget=budget,
            method=method or DEFAULT_OPTIMIZER,
            warm_start=warm_start or DEFAULT_WARM_STARTER,
            n_splits=n_splits,
            metric=metric,
            seed=seed,
            max_bytes=max_bytes,
        )
        check_rerun(self.layout, plan, resume=resume, new=new)
        # Another writer (a second search, an import) is waited out, not a failed trial.
        store = self.store.patient()
        prepared = prepare_search(store, self.layout, plan, n_warm=n_warm, time_limit=time_limit)
        return run_prepared(
            store,
            self.layout,
            prepared,
            executor=executor,
            resume=resume,
            time_limit=time_limit,
            time_budget=time_budget,
            on_trial=on_trial,
        )

    def quickstart(self, data_dir: str | Path | None = None, **options: Any) -> QuickstartResult:
        """Build (or top up) the knowledge base from the best source available."""
        from metakb.kb._quickstart import run_quickstart

        return run_quickstart(self.store, self.layout, data_dir, **options)

    def compare_searches(self, **options: Any) -> SearchComparison:
        """Run a warm-started and a cold search on an example table; return both curves."""
        from metakb.kb._quickstart import compare_searches

        return compare_searches(self, **options)


def recommend(
    meta_features: Mapping[str, float] | MetaFeatureResult | None = None,
    *,
    db: str | Path | None = None,
    **options: Any,
) -> list[RecommendedConfig]:
    """Recommend from the knowledge base at ``db``: :meth:`KnowledgeBase.recommend` in one call.

    Examples
    --------
    >>> import metakb
    >>> recs = metakb.recommend({"NumberOfInstances": 5000, "NumberOfFeatures": 20},
    ...                         algorithm="lightgbm", k=3)  # doctest: +SKIP
    >>> recs = metakb.recommend(metakb.metafeatures.extract(X, y), k=3)  # doctest: +SKIP
    """
    return KnowledgeBase(db).recommend(meta_features, **options)


def load_warm_starter(
    algorithm: str = DEFAULT_ALGORITHM,
    method: str = DEFAULT_WARM_STARTER,
    *,
    db: str | Path | None = None,
    task_type: str = "classification",
    seed: int = 0,
) -> WarmStarter:
    """Return the warm starter of ``algorithm`` for ``task_type``, as ``search`` uses it.

    The model ``metakb train`` saved next to the knowledge base at ``db``
    (default ``$METAKB_DB`` or ``data/metakb.duckdb``); when none is saved
    (or it is refused: another version, a file not matching its manifest),
    one is fitted now from the knowledge base's runs and not saved. Hand it
    to :func:`metakb.search.start_optimizer` as ``starter`` or call its
    ``recommend``. :meth:`KnowledgeBase.load_model` loads only a saved one,
    with its manifest.

    Parameters
    ----------
    algorithm : str
        A name of :data:`~metakb.spaces.ALGORITHMS` (or a flow id).
    method : str
        A name of :data:`~metakb.models.WARM_STARTERS`.
    db : str or Path, optional
        The knowledge base file.
    task_type : {'classification', 'regression'}
        The task type of the tables it will warm-start.
    seed : int
        Seed of a model fitted now.

    Raises
    ------
    MetakbError
        Unknown algorithm or method, a task type the algorithm does not
        support, or no saved model and no runs to fit one on.

    Examples
    --------
    >>> import metakb
    >>> starter = metakb.load_warm_starter("lightgbm", "transfer")  # doctest: +SKIP
    """
    _train.method_of(method)
    starter, _ = KnowledgeBase(db).starter(algorithm, method, task_type=task_type, seed=seed)
    return starter


def train(
    db: str | Path | None = None,
    algorithms: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    **options: Any,
) -> list[Manifest]:
    """Train the warm starters of the knowledge base at ``db``: :meth:`KnowledgeBase.train`."""
    return KnowledgeBase(db).train(algorithms, methods, **options)
