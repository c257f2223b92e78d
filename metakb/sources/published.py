"""Importers for the published OpenML-derived meta-datasets in a data folder.

The folder (``--data-dir`` / ``$METAKB_DATA``) holds, each in its own
sub-folder with a README:

* ``openml100_sklearn_hpo_runs``: random-search runs of three scikit-learn
  flows on the OpenML100 tasks (RandomForest 6969, AdaBoost 6970, SVC 8784
  with three metrics), the tasks' OpenML qualities and a task manifest;
* ``tabrepo_lightgbm_2022``: 104 LightGBM configurations on 93 OpenML tasks;
* ``pmlb_datasets``: 164 dataset files with a manifest.

Every file is read and validated before anything is written, then each file
is written in a transaction of its own, so a garbled file leaves the knowledge
base as it was, and a second import adds nothing.
"""

from __future__ import annotations

import csv
import logging
import os
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from metakb.configs import config_ids_and_json
from metakb.datasets import file_hash
from metakb.errors import DataSourceError
from metakb.spaces import ALGORITHMS
from metakb.store import (
    Configs,
    Datasets,
    Evaluations,
    Flows,
    MetaFeatures,
    Rows,
    Store,
    Tasks,
    put_rows,
    record_ingest_run,
    transaction,
)

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

OPENML100 = "openml100_sklearn_hpo_runs"
TABREPO = "tabrepo_lightgbm_2022"
PMLB = "pmlb_datasets"
SOURCES = (OPENML100, TABREPO, PMLB)


@dataclass(frozen=True)
class RunTable:
    """One published file of runs: an algorithm's OpenML flow and a metric column."""

    file: str
    algorithm: str
    flow_name: str
    metric: str

    @property
    def flow_id(self) -> str:
        """The knowledge-base key of the algorithm's flow."""
        return ALGORITHMS[self.algorithm].space.flow_ids[0]

    @property
    def openml_flow_id(self) -> int:
        """The OpenML id of the algorithm's flow."""
        return ALGORITHMS[self.algorithm].openml_flow_ids[0]


OPENML100_RUNS = (
    RunTable(
        "random_forest_flow6969.csv.gz",
        "random_forest",
        "sklearn.Pipeline(columntransformer, randomforestclassifier)",
        "predictive_accuracy",
    ),
    RunTable(
        "adaboost_flow6970.csv.gz",
        "adaboost",
        "sklearn.Pipeline(columntransformer, adaboostclassifier)",
        "predictive_accuracy",
    ),
    *(
        RunTable(
            f"svc_flow8784_{metric}.csv.gz",
            "svc",
            "sklearn.Pipeline(columntransformer, svc)",
            metric,
        )
        for metric in ("predictive_accuracy", "area_under_roc_curve", "f_measure")
    ),
)

_TABREPO_SPACE = ALGORITHMS["lightgbm"].space
TABREPO_FLOW = _TABREPO_SPACE.flow_ids[0]
# AutoGluon's LightGBM defaults (the space's defaults), which TabRepo's
# configurations leave implicit when a parameter is absent; filled in so every
# configuration is explicit.
TABREPO_DEFAULTS: dict[str, Any] = dict(_TABREPO_SPACE.configspace.get_default_configuration())


@dataclass
class FileResult:
    """What importing one file did."""

    source: str
    file: str
    rows: int
    added: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class ImportSummary:
    """What a whole import did, file by file, and which sources were absent."""

    data_dir: str
    files: list[FileResult] = field(default_factory=list)
    skipped_sources: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def added(self) -> dict[str, int]:
        """Return the rows added per table over all files."""
        total: dict[str, int] = {}
        for result in self.files:
            for table, n in result.added.items():
                total[table] = total.get(table, 0) + n
        return total


@dataclass
class _Batch:
    """Rows read from one source file, ready to write in one transaction."""

    source: str
    path: Path
    rows: int
    tables: list[Rows]


def resolve_data_dir(data_dir: str | Path | None) -> Path:
    """Return the data folder: the argument, else ``$METAKB_DATA``; refuse a missing one."""
    if data_dir is None:
        env = os.environ.get("METAKB_DATA")
        if not env:
            raise DataSourceError(
                "no data folder given: pass one or set METAKB_DATA to the published data folder"
            )
        data_dir = env
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise DataSourceError(f"data folder {path} does not exist or is not a folder")
    return path.resolve()


def import_published(
    store: Store,
    data_dir: str | Path | None = None,
    *,
    sources: tuple[str, ...] = SOURCES,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import the published meta-datasets found in ``data_dir`` into ``store``.

    Parameters
    ----------
    store : Store
        The knowledge base to write to (created if missing).
    data_dir : str or Path, optional
        The data folder; defaults to ``$METAKB_DATA``.
    sources : tuple of str
        Which sub-folders to import; absent ones are skipped and reported.
    progress : callable, optional
        Called as ``progress(description, done, total)`` after each file.

    Returns
    -------
    ImportSummary
        Rows read and added per file.

    Raises
    ------
    DataSourceError
        When the folder or one of its files is missing or malformed; nothing
        is written in that case.
    """
    start = time.perf_counter()
    root = resolve_data_dir(data_dir)
    unknown = sorted(set(sources) - set(SOURCES))
    if unknown:
        raise DataSourceError(f"unknown source(s) {unknown}; known: {', '.join(SOURCES)}")
    summary = ImportSummary(data_dir=str(root))
    readers = {OPENML100: _read_openml100, TABREPO: _read_tabrepo, PMLB: _read_pmlb}
    batches: list[_Batch] = []
    for source in sources:
        folder = root / source
        if not folder.is_dir():
            summary.skipped_sources.append(source)
            continue
        try:
            batches.extend(readers[source](folder))
        except ValueError as exc:  # a batch record refused the rows read (e.g. a null key)
            raise DataSourceError(f"{folder}: {exc}") from exc
    if not batches:
        raise DataSourceError(f"{root} holds none of the published sources ({', '.join(SOURCES)})")
    report = progress or (lambda description, done, total: None)
    with store.write() as con:
        for done, batch in enumerate(batches, start=1):
            summary.files.append(_write_batch(con, batch))
            report("importing published data", done, len(batches))
    summary.seconds = time.perf_counter() - start
    return summary


def _write_batch(con: duckdb.DuckDBPyConnection, batch: _Batch) -> FileResult:
    start = time.perf_counter()
    result = FileResult(source=batch.source, file=str(batch.path), rows=batch.rows)
    with transaction(con):
        for rows in batch.tables:
            result.added[rows.table] = result.added.get(rows.table, 0) + put_rows(con, rows)
        record_ingest_run(
            con,
            f"published:{batch.source}/{batch.path.name}",
            source=batch.source,
            status="done",
            selection={"file": str(batch.path), "sha256": file_hash(batch.path)},
            rows_added=sum(result.added.values()),
        )
    result.seconds = time.perf_counter() - start
    log.info("imported %s: %s", batch.path.name, result.added)
    return result


def _read(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """Read one CSV file (optionally gzip'd); a missing file or column is a one-line error.

    pandas' C parser reads these files about five times faster than DuckDB's
    sniffing reader, and yields the same values (types are re-checked below
    and canonicalized in :func:`metakb.configs.config_ids_and_json`).
    """
    if not path.is_file():
        raise DataSourceError(f"{path}: file not found")
    try:
        # Only an empty field is missing, as for DuckDB's reader: a parameter value
        # such as "NA" stays a string and canonicalizes as it always has.
        frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except (OSError, EOFError, ValueError, zlib.error, csv.Error) as exc:
        # OSError: not gzip; EOFError: truncated gzip; ValueError: the parser's errors.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataSourceError(f"{path}: cannot be read as CSV ({first})") from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataSourceError(f"{path}: missing column(s) {', '.join(missing)}")
    if frame.empty:
        raise DataSourceError(f"{path}: no rows")
    return frame


def _int_column(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any():
        raise DataSourceError(
            f"{path}: column {column} has non-numeric value {frame[column][bad].iloc[0]!r}"
        )
    return values.astype("Int64")


def _key(prefix: str, ids: pd.Series) -> pd.Series:
    return prefix + ids.astype("Int64").astype(str)


def _flow(
    flow_id: str,
    openml_flow_id: int | None,
    name: str,
    algorithm: str,
    params: list[str],
    source: str,
) -> Flows:
    return Flows(
        flow_id=flow_id,
        openml_flow_id=openml_flow_id,
        name=name,
        algorithm=algorithm,
        parameters=[params],
        source=source,
    )


def _configs(
    flow_id: str, params: pd.DataFrame, keep: np.ndarray | None = None, **columns: Any
) -> tuple[Configs, list[str]]:
    """Return the configurations of ``params``' rows and every row's id.

    Only the rows in the mask ``keep`` are kept; without one, the first row of each id.
    """
    ids, texts = config_ids_and_json(flow_id, params)
    config_ids, params_json = _strings(ids), _strings(texts)
    if keep is None:
        keep = ~config_ids.duplicated().to_numpy()
    config_ids, params_json = config_ids[keep], params_json[keep]
    return Configs(config_id=config_ids, flow_id=flow_id, params=params_json, **columns), ids


def _strings(values: list[str]) -> pd.Series:
    # Through Arrow: pandas 3 converts a list of Python strings to its Arrow-backed
    # "str" ten times slower itself; an object column instead made DuckDB's scan slower.
    return pd.Series(pd.array(pa.array(values, type=pa.large_string()), dtype="str"))


def _tasks(task_ids: pd.Series, source: str, **columns: Any) -> Tasks:
    return Tasks(
        task_id=_key("openml:", task_ids).to_numpy(),
        openml_task_id=task_ids.astype("Int64").to_numpy(),
        source=source,
        **columns,
    )


# --- OpenML100 scikit-learn runs -------------------------------------------------------


def _openml100_dataset_keys(tasks: pd.DataFrame, path: Path) -> pd.Series:
    """Dataset key per task: ``openml:<did>`` when known, else ``task:<tid>``."""
    tid = _int_column(tasks, "task_id", path)
    did = _int_column(tasks, "openml_dataset_id", path)
    keys = _key("task:", tid)
    known = did.notna()
    keys[known] = _key("openml:", did[known])
    return pd.Series(keys.to_numpy(), index=tid.to_numpy())


def _read_openml100(folder: Path) -> list[_Batch]:
    manifest_path = folder / "tasks.csv"
    manifest = _read(
        manifest_path,
        (
            "task_id",
            "openml_dataset_id",
            "dataset_name",
            "NumberOfInstances",
            "NumberOfFeatures",
            "NumberOfClasses",
        ),
    )
    dataset_of = _openml100_dataset_keys(manifest, manifest_path)
    tid = _int_column(manifest, "task_id", manifest_path)
    datasets = Datasets(
        dataset_id=dataset_of.to_numpy(),
        openml_dataset_id=_int_column(manifest, "openml_dataset_id", manifest_path).to_numpy(),
        name=manifest["dataset_name"].to_numpy(),
        task_type="classification",
        n_rows=_int_column(manifest, "NumberOfInstances", manifest_path).to_numpy(),
        # OpenML's NumberOfFeatures counts the target; n_features does not.
        n_features=(_int_column(manifest, "NumberOfFeatures", manifest_path) - 1).to_numpy(),
        n_classes=_int_column(manifest, "NumberOfClasses", manifest_path).to_numpy(),
        source=OPENML100,
    )
    tasks = _tasks(
        tid,
        OPENML100,
        dataset_id=dataset_of.loc[tid.to_numpy()],
        name=manifest["dataset_name"],
        task_type="classification",
        estimation_procedure="10-fold Crossvalidation",
        metric="predictive_accuracy",
    )
    batches = [_Batch(OPENML100, manifest_path, len(manifest), [datasets, tasks])]
    for spec in OPENML100_RUNS:
        batches.append(_read_run_table(folder / spec.file, spec))
    batches.append(_read_qualities(folder / "task_qualities.csv", dataset_of))
    return batches


def _read_run_table(path: Path, spec: RunTable) -> _Batch:
    frame = _read(path, ("task_id", spec.metric))
    params = frame.drop(columns=["task_id", spec.metric])
    if params.shape[1] == 0:
        raise DataSourceError(f"{path}: no hyperparameter columns")
    task_ids = _int_column(frame, "task_id", path)
    if task_ids.isna().any():
        raise DataSourceError(f"{path}: empty task_id in row {int(task_ids.isna().argmax()) + 2}")
    values = pd.to_numeric(frame[spec.metric], errors="coerce")
    configs, ids = _configs(spec.flow_id, params)
    evaluations = Evaluations(
        task_id=_key("openml:", task_ids).to_numpy(),
        config_id=_strings(ids),
        metric=spec.metric,
        value=values.to_numpy(dtype=float),
        source=OPENML100,
        provenance=path.name,
    )
    flow = _flow(
        spec.flow_id,
        spec.openml_flow_id,
        spec.flow_name,
        spec.algorithm,
        list(params.columns),
        OPENML100,
    )
    tasks = _tasks(pd.Series(task_ids.unique()), OPENML100, task_type="classification")
    return _Batch(OPENML100, path, len(frame), [flow, configs, tasks, evaluations])


def quality_family(name: str) -> str:
    """Return the meta-feature family of an OpenML quality name."""
    if name.endswith(("AUC", "ErrRate", "Kappa")):
        return "landmarking"
    if any(
        k in name
        for k in ("Entropy", "MutualInformation", "EquivalentNumberOfAtts", "NoiseToSignal")
    ):
        return "infotheory"
    if any(
        k in name
        for k in (
            "Kurtosis",
            "Skewness",
            "Means",
            "StdDev",
            "Quartile",
            "Cardinality",
            "AutoCorrelation",
            "DistinctValues",
        )
    ):
        return "statistical"
    return "general"


def _qualities(wide: pd.DataFrame, dataset_ids: np.ndarray, source: str) -> MetaFeatures:
    """Turn one row of qualities per dataset into one row per (dataset, quality)."""
    numeric = wide.apply(pd.to_numeric, errors="coerce")
    numeric.insert(0, "dataset_id", dataset_ids)
    long = numeric.melt(id_vars="dataset_id", var_name="_quality", value_name="_value")
    long = long.dropna(subset=["_value"]).drop_duplicates(["dataset_id", "_quality"])
    return MetaFeatures(
        dataset_id=long["dataset_id"],
        name=long["_quality"],
        value=long["_value"],
        family=long["_quality"].map(quality_family),
        computed_by="openml",
        version=source,
    )


def _read_qualities(path: Path, dataset_of: pd.Series) -> _Batch:
    frame = _read(path, ("task_id",))
    task_ids = _int_column(frame, "task_id", path)
    unknown = sorted(set(task_ids.dropna()) - set(dataset_of.index))
    # A task missing from the manifest still has a dataset: key it by its task.
    keys = [dataset_of.get(t, f"task:{t}") if not pd.isna(t) else None for t in task_ids.tolist()]
    if unknown:
        log.warning("%s: %d task(s) not in tasks.csv", path, len(unknown))
    long = _qualities(frame.drop(columns=["task_id"]), np.asarray(keys, dtype=object), OPENML100)
    return _Batch(OPENML100, path, len(frame), [long])


# --- TabRepo LightGBM ----------------------------------------------------------------

_TABREPO_QUALITIES = (
    "MajorityClassSize",
    "MaxNominalAttDistinctValues",
    "MinorityClassSize",
    "NumberOfClasses",
    "NumberOfFeatures",
    "NumberOfInstances",
    "NumberOfInstancesWithMissingValues",
    "NumberOfMissingValues",
    "NumberOfNumericFeatures",
    "NumberOfSymbolicFeatures",
)


def _harmonize_tabrepo(qualities: pd.DataFrame, classification: np.ndarray) -> pd.DataFrame:
    """Put TabRepo's qualities in the convention of metakb's extractor and of OpenML100.

    TabRepo's OpenML qualities count a nominal target in
    MaxNominalAttDistinctValues (yeast, with numeric features only, has 10:
    its classes) and leave it empty for regression tasks without nominal
    features, while the OpenML100 qualities and
    :mod:`metakb.metafeatures.statistical` store -1 when no feature is nominal.
    Without this, a new numeric-only table (-1) looks unlike every numeric-only
    TabRepo task to the meta-models that use this quality (kNN, CF).
    """
    out = qualities.apply(pd.to_numeric, errors="coerce")
    nominal_features = out["NumberOfSymbolicFeatures"] - classification.astype(float)
    out.loc[nominal_features.eq(0).to_numpy(), "MaxNominalAttDistinctValues"] = -1.0
    return out


def _read_tabrepo(folder: Path) -> list[_Batch]:
    meta_path = folder / "task_metadata.csv"
    meta = _read(
        meta_path,
        (
            "tid",
            "did",
            "name",
            "task_type",
            "target_feature",
            "estimation_procedure",
            "evaluation_measures",
            *_TABREPO_QUALITIES,
        ),
    )
    tid = _int_column(meta, "tid", meta_path)
    did = _int_column(meta, "did", meta_path)
    kind = np.where(
        meta["task_type"].str.contains("Regression", case=False, na=False),
        "regression",
        "classification",
    )
    classes = _int_column(meta, "NumberOfClasses", meta_path)
    datasets = Datasets(
        dataset_id=_key("openml:", did).to_numpy(),
        openml_dataset_id=did.to_numpy(),
        name=meta["name"].to_numpy(),
        task_type=kind,
        n_rows=_int_column(meta, "NumberOfInstances", meta_path).to_numpy(),
        n_features=(_int_column(meta, "NumberOfFeatures", meta_path) - 1).to_numpy(),
        n_classes=classes.where(classes > 0).to_numpy(),
        target=meta["target_feature"].to_numpy(),
        source=TABREPO,
    )
    tasks = _tasks(
        tid,
        TABREPO,
        dataset_id=_key("openml:", did),
        name=meta["name"],
        task_type=kind,
        target=meta["target_feature"],
        estimation_procedure=meta["estimation_procedure"],
        metric=meta["evaluation_measures"],
    )
    qualities = _qualities(
        _harmonize_tabrepo(meta[list(_TABREPO_QUALITIES)], kind == "classification"),
        _key("openml:", did).to_numpy(dtype=object),
        TABREPO,
    )
    configs_path = folder / "configs_lightgbm_flat.csv"
    flat = _read(configs_path, ("config", "used_in_results", *TABREPO_DEFAULTS))
    config_ids, configs_batch = _tabrepo_configs(flat, configs_path)
    results = _read_tabrepo_results(folder / "results_by_task.csv.gz", config_ids)
    return [
        _Batch(
            TABREPO,
            meta_path,
            len(meta),
            [datasets, tasks, qualities],
        ),
        configs_batch,
        results,
    ]


def _tabrepo_configs(flat: pd.DataFrame, path: Path) -> tuple[dict[str, str], _Batch]:
    params = flat[list(TABREPO_DEFAULTS)].copy()
    for name, default in TABREPO_DEFAULTS.items():
        params[name] = params[name].astype(object).where(params[name].notna(), default)
    used = flat["used_in_results"].astype(str).str.lower().eq("true").to_numpy()
    configs, ids = _configs(TABREPO_FLOW, params, used, name=flat["config"].to_numpy()[used])
    flow = _flow(
        TABREPO_FLOW,
        None,
        "AutoGluon LightGBM (TabRepo 2022)",
        "lightgbm",
        list(TABREPO_DEFAULTS),
        TABREPO,
    )
    config_ids = dict(zip(flat["config"], ids, strict=True))
    batch = _Batch(TABREPO, path, len(flat), [flow, configs])
    return config_ids, batch


def _read_tabrepo_results(path: Path, config_ids: dict[str, str]) -> _Batch:
    frame = _read(path, ("task_id", "config", "metric_error", "time_train_s", "time_infer_s"))
    unknown = sorted(set(frame["config"]) - set(config_ids))
    if unknown:
        raise DataSourceError(
            f"{path}: configuration(s) not in configs_lightgbm_flat.csv: "
            f"{', '.join(map(str, unknown[:5]))}"
        )
    task_ids = _int_column(frame, "task_id", path)
    evaluations = Evaluations(
        task_id=_key("openml:", task_ids).to_numpy(),
        config_id=frame["config"].map(config_ids).to_numpy(),
        metric="metric_error",
        value=pd.to_numeric(frame["metric_error"], errors="coerce").to_numpy(float),
        runtime_s=pd.to_numeric(frame["time_train_s"], errors="coerce").to_numpy(float),
        infer_s=pd.to_numeric(frame["time_infer_s"], errors="coerce").to_numpy(float),
        source=TABREPO,
        provenance=path.name,
    )
    tasks = _tasks(pd.Series(task_ids.unique()), TABREPO)
    return _Batch(TABREPO, path, len(frame), [tasks, evaluations])


# --- PMLB dataset files -------------------------------------------------------------


def _read_pmlb(folder: Path) -> list[_Batch]:
    path = folder / "manifest.csv"
    manifest = _read(
        path,
        (
            "name",
            "task_type",
            "file",
            "n_rows",
            "n_features",
            "n_classes",
            "target_column",
            "openml_dataset_id",
        ),
    )
    files = [folder / str(f) for f in manifest["file"]]
    absent = [str(f) for f in files if not f.is_file()]
    if absent:
        raise DataSourceError(f"{path}: {len(absent)} listed file(s) missing, e.g. {absent[0]}")
    did = _int_column(manifest, "openml_dataset_id", path)
    keys = "pmlb:" + manifest["name"].astype(str)
    keys[did.notna()] = _key("openml:", did[did.notna()])
    classes = _int_column(manifest, "n_classes", path)
    datasets = Datasets(
        dataset_id=keys.to_numpy(),
        openml_dataset_id=did.to_numpy(),
        name=manifest["name"].to_numpy(),
        task_type=manifest["task_type"].to_numpy(),
        n_rows=_int_column(manifest, "n_rows", path).to_numpy(),
        n_features=_int_column(manifest, "n_features", path).to_numpy(),
        n_classes=classes.where(classes > 0).to_numpy(),
        target=manifest["target_column"].to_numpy(),
        file_path=[str(f.resolve()) for f in files],
        content_hash=[file_hash(f) for f in files],
        source=PMLB,
    )
    return [_Batch(PMLB, path, len(manifest), [datasets])]
