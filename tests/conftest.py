"""Shared fixtures: a tiny published-data folder and a tiny sweep written by the tests."""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import duckdb
import numpy as np
import pytest

from metakb.spaces import ALGORITHMS
from metakb.store import (
    Datasets,
    MetaFeatures,
    Store,
    Tasks,
    put_configs,
    put_datasets,
    put_evaluations,
    put_flows,
    put_meta_features,
    put_tasks,
    transaction,
)

RF_HEADER = (
    "task_id,randomforestclassifier__bootstrap,randomforestclassifier__criterion,"
    "randomforestclassifier__max_depth,randomforestclassifier__max_features,"
    "randomforestclassifier__max_leaf_nodes,randomforestclassifier__min_samples_leaf,"
    "randomforestclassifier__min_samples_split,randomforestclassifier__min_weight_fraction_leaf,"
    "randomforestclassifier__n_estimators,columntransformer__numeric__imputer__strategy,"
    "predictive_accuracy"
)
ADA_HEADER = (
    "task_id,adaboostclassifier__algorithm,adaboostclassifier__learning_rate,"
    "adaboostclassifier__base_estimator__max_depth,adaboostclassifier__n_estimators,"
    "columntransformer__numeric__imputer__strategy,predictive_accuracy"
)
SVC_HEADER = (
    "task_id,columntransformer__numeric__imputer__strategy,svc__C,svc__coef0,svc__degree,"
    "svc__gamma,svc__kernel,svc__max_iter,svc__shrinking,svc__tol,{metric}"
)


def _gz(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(text)


def write_tiny_data(root: Path) -> Path:
    """Write a miniature copy of the published data folder's formats under ``root``.

    Two OpenML tasks (3 and 6, the second with an unresolved dataset id), three
    runs of each flow per task; three TabRepo configurations on two tasks, one
    of them OpenML task 3 again; two PMLB files, one the same OpenML dataset.
    """
    o = root / "openml100_sklearn_hpo_runs"
    o.mkdir(parents=True)
    (o / "tasks.csv").write_text(
        "task_id,n_random_forest_flow6969,openml_dataset_id,dataset_name,dataset_id_source,"
        "NumberOfInstances,NumberOfFeatures,NumberOfClasses,NumberOfMissingValues\n"
        "3,3,3,kr-vs-kp,qualities_match_lcdb,3196.0,37.0,2.0,0.0\n"
        "6,3,,letter,,20000.0,17.0,26.0,0.0\n"
    )
    rf_rows = [
        "3,True,entropy,None,0.80,None,18,9,0.0,100,median,0.969",
        "3,False,gini,None,0.19,None,20,19,0.0,100,mean,0.968",
        "3,True,gini,None,0.50,None,1,2,0.0,100,most_frequent,0.990",
        "6,True,entropy,None,0.80,None,18,9,0.0,100,median,0.901",
        "6,False,gini,None,0.19,None,20,19,0.0,100,mean,0.850",
        "6,True,gini,None,0.50,None,1,2,0.0,100,most_frequent,0.950",
    ]
    _gz(o / "random_forest_flow6969.csv.gz", "\n".join([RF_HEADER, *rf_rows]) + "\n")
    ada_rows = [
        "3,SAMME,0.137,9,161,median,0.996",
        "3,SAMME.R,0.043,2,198,mean,0.975",
        "3,SAMME,1.5,1,50,mean,0.700",
        "6,SAMME,0.137,9,161,median,0.800",
        "6,SAMME.R,0.043,2,198,mean,0.600",
        "6,SAMME,1.5,1,50,mean,0.300",
    ]
    _gz(o / "adaboost_flow6970.csv.gz", "\n".join([ADA_HEADER, *ada_rows]) + "\n")
    svc_rows = [
        "3,mean,10243.0,,,0.00032,rbf,-1,True,3.2e-05,{v1}",
        "3,median,51.06,0.742,1.0,0.93,poly,-1,True,0.00029,{v2}",
        "6,mean,10243.0,,,0.00032,rbf,-1,True,3.2e-05,{v2}",
    ]
    for metric in ("predictive_accuracy", "area_under_roc_curve", "f_measure"):
        body = "\n".join(row.format(v1=0.97, v2=0.95) for row in svc_rows)
        _gz(
            o / f"svc_flow8784_{metric}.csv.gz",
            SVC_HEADER.format(metric=metric) + "\n" + body + "\n",
        )
    (o / "task_qualities.csv").write_text(
        "task_id,ClassEntropy,DecisionStumpAUC,MeanSkewnessOfNumericAtts,NumberOfInstances\n"
        "3,0.998,0.79,,3196.0\n"
        "6,4.69,0.61,0.12,20000.0\n"
    )

    t = root / "tabrepo_lightgbm_2022"
    t.mkdir()
    qualities = (
        "MajorityClassSize,MaxNominalAttDistinctValues,MinorityClassSize,NumberOfClasses,"
        "NumberOfFeatures,NumberOfInstances,NumberOfInstancesWithMissingValues,"
        "NumberOfMissingValues,NumberOfNumericFeatures,NumberOfSymbolicFeatures"
    )
    (t / "task_metadata.csv").write_text(
        "tid,ttid,did,name,task_type,status,estimation_procedure,evaluation_measures,"
        f"target_feature,{qualities}\n"
        "3,TaskType.SUPERVISED_CLASSIFICATION,3,kr-vs-kp,Supervised Classification,active,"
        "10-fold Crossvalidation,predictive_accuracy,class,1669,2,1527,2,37,3196,0,0,0,37\n"
        "2280,TaskType.SUPERVISED_REGRESSION,197,cpu_act,Supervised Regression,active,"
        "10-fold Crossvalidation,,usr,,,,0,22,8192,0,0,22,0\n"
    )
    (t / "configs_lightgbm_flat.csv").write_text(
        "config,used_in_results,extra_trees,learning_rate,num_leaves,feature_fraction,"
        "min_data_in_leaf\n"
        "LightGBM_c1,True,,,,,\n"
        "LightGBM_c2,True,True,,,,\n"
        "LightGBM_r1,True,,0.01,64,0.7,10\n"
        "LightGBM_r2,False,,0.02,32,0.5,3\n"
    )
    header = "task_id,config,problem_type,time_train_s,metric_error,time_infer_s,rank"
    results = [
        f"{tid},LightGBM_{c},{kind},{1.5 + i},{err},0.01,{i + 1}"
        for tid, kind, errs in (
            (3, "binary", (0.02, 0.03, 0.01)),
            (2280, "regression", (2.5, 2.7, 2.4)),
        )
        for i, (c, err) in enumerate(zip(("c1", "c2", "r1"), errs, strict=True))
    ]
    _gz(t / "results_by_task.csv.gz", "\n".join([header, *results]) + "\n")

    p = root / "pmlb_datasets"
    _gz(p / "datasets" / "kr-vs-kp.tsv.gz", "a\tb\ttarget\n1\t0\t1\n0\t1\t0\n1\t1\t1\n")
    _gz(p / "datasets" / "tiny_new.tsv.gz", "x\ttarget\n0.5\t1\n0.1\t0\n")
    (p / "manifest.csv").write_text(
        "name,task_type,n_rows,n_features,n_classes,n_missing,target_column,file,file_bytes,"
        "openml_dataset_id,openml_name,openml_NumberOfInstances,openml_id_source\n"
        "kr-vs-kp,classification,3,2,2.0,0,target,datasets/kr-vs-kp.tsv.gz,60,3.0,kr-vs-kp,3,x\n"
        "tiny_new,classification,2,1,2.0,0,target,datasets/tiny_new.tsv.gz,40,,,,\n"
    )
    return root


def write_synthetic_table(path: Path, task_type: str, *, n_rows: int = 80, seed: int = 0) -> Path:
    """Write a CSV of three numeric columns and a target ``y`` of ``task_type``.

    The target is a noisy linear signal (regression, a float column) or its
    sign (classification, 0/1), so ``load_table`` infers the task type.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_rows, 3))
    signal = x[:, 0] - 0.5 * x[:, 1] + rng.normal(scale=0.2, size=n_rows)
    y = signal if task_type == "regression" else (signal > 0).astype(int)
    rows = [f"{a:.5f},{b:.5f},{c:.5f},{t}" for (a, b, c), t in zip(x, y, strict=True)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(["a,b,c,y", *rows]) + "\n")
    return path


@pytest.fixture(scope="module")
def forest_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 rows, 5 features of breast_cancer: a forest trial takes well under a second."""
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame
    path = tmp_path_factory.mktemp("table") / "tiny.csv"
    frame[[*frame.columns[:5], "target"]].sample(60, random_state=0).to_csv(path, index=False)
    return path


# What write_tiny_data holds, as `metakb stats` should count it.
TINY_COUNTS = {
    "tasks": 3,  # openml:3, openml:6, openml:2280
    "datasets": 4,  # openml:3, task:6, openml:197, pmlb:tiny_new
    "flows": 4,
    "evaluations": 6 + 6 + 9 + 6,
}


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    """A tiny published-data folder in tmp_path."""
    return write_tiny_data(tmp_path / "data")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """An empty knowledge base location in tmp_path."""
    return Store(tmp_path / "kb" / "metakb.duckdb", wait_s=0.5)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real published data folder, or skip when METAKB_DATA is not set."""
    env = os.environ.get("METAKB_DATA")
    if not env or not Path(env).is_dir():
        pytest.skip("METAKB_DATA not set: needs the shared data folder")
    return Path(env)


@pytest.fixture
def only_task_type(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """Return ``narrow(name, task_type)``: the registered algorithm supports only that type.

    Every algorithm metakb knows supports both task types; this is how tests
    see what a one-task-type record does (the registry is restored afterwards).
    """

    def narrow(name: str, task_type: str) -> None:
        record = ALGORITHMS[name]
        base = record.base
        if base is not None:
            base = replace(base, estimators={task_type: base.estimators[task_type]})
        narrowed = replace(
            record,
            estimators={task_type: record.estimators[task_type]},
            base=base,
            task_params={k: v for k, v in record.task_params.items() if k == task_type},
        )
        monkeypatch.setitem(ALGORITHMS, name, narrowed)

    return narrow


@pytest.fixture(autouse=True)
def _no_shipped_metadataset(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Point the shipped meta-dataset's lookup at an absent folder: tests choose their own."""
    monkeypatch.setenv("METAKB_METADATASET", str(tmp_path_factory.getbasetemp() / "no-metadataset"))
    yield


SWEEP = "sweep:standard"


def _local_table(
    con: duckdb.DuckDBPyConnection, name: str, n_rows: int, n_features: int
) -> tuple[str, str]:
    """Write a local dataset, its task and meta-features as `register_table` would."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    dataset_id, task_id = f"local:{digest}", f"local:{digest[:16]}:target"
    put_datasets(
        con,
        Datasets(
            dataset_id=dataset_id,
            name=name,
            task_type="classification",
            n_rows=n_rows,
            n_features=n_features,
            n_classes=[2],
            target="target",
            file_path=[f"/home/someone/pmlb/{name}.tsv.gz"],
            content_hash=digest,
            source="local",
        ),
    )
    put_tasks(
        con,
        Tasks(
            task_id=task_id,
            dataset_id=dataset_id,
            name=name,
            task_type="classification",
            target="target",
            estimation_procedure="stratified k-fold CV",
            metric="predictive_accuracy",
            source="local",
        ),
    )
    put_meta_features(
        con,
        MetaFeatures(
            dataset_id=dataset_id,
            name=["ClassEntropy", "NumberOfClasses", "NumberOfFeatures", "NumberOfInstances"],
            value=[None, 2.0, float(n_features), float(n_rows)],
            family=["info_theory", "simple", "simple", "simple"],
            computed_by="metakb",
            version="1",
            seconds=[0.02, 0.001, 0.001, 0.001],
            reason=["constant column", None, None, None],
        ),
    )
    return dataset_id, task_id


def write_tiny_sweep(store: Store, *, n_datasets: int = 3, n_configs: int = 12) -> None:
    """Write what `metakb sweep` leaves, in miniature, and rows of other producers.

    ``n_datasets`` local datasets x (random_forest, lightgbm) x ``n_configs``
    configurations (the same design on each), provenance ``sweep:standard``,
    3-fold values, the last configuration failed with an error. Not the sweep's:
    a search's trials on the first sweep task and on a table of its own.
    """
    from metakb.search import TrialRecord
    from metakb.sources.local import flow_rows, trial_rows
    from metakb.spaces import get_space

    rng = np.random.default_rng(0)
    with store.write() as con, transaction(con):
        tasks = [
            _local_table(con, f"pmlb_tiny_{d}", 60 + 40 * d, 3 + d)[1] for d in range(n_datasets)
        ]
        for algorithm in ("random_forest", "lightgbm"):
            space = get_space(algorithm)
            put_flows(con, flow_rows(space))
            design = space.sample(n_configs, seed=0)
            for task_id in tasks:
                folds = rng.uniform(0.6, 0.95, size=(n_configs, 3))
                records = [
                    TrialRecord(i, config, 1.0, float(folds[i].mean()), 0.1 + i / 100, "ok")
                    for i, config in enumerate(design[:-1])
                ]
                records.append(
                    TrialRecord(n_configs - 1, design[-1], 1.0, None, 0.01, "failed", "boom")
                )
                configs, evaluations = trial_rows(
                    records,
                    space=space,
                    task_id=task_id,
                    metric="accuracy",
                    provenance=SWEEP,
                    folds=[list(f) for f in folds[:-1]] + [[]],
                )
                put_configs(con, configs)
                put_evaluations(con, evaluations)
        space = get_space("random_forest")
        other = _local_table(con, "users_table", 50, 2)[1]
        extra = space.sample(2, seed=99)
        for task_id, config in ((tasks[0], extra[0]), (other, extra[1])):
            record = TrialRecord(0, config, 1.0, 0.5, 0.2, "ok")
            configs, evaluations = trial_rows(
                [record], space=space, task_id=task_id, metric="accuracy", provenance="search:x"
            )
            put_configs(con, configs)
            put_evaluations(con, evaluations)


@pytest.fixture
def sweep_store(tmp_path: Path) -> Store:
    """A knowledge base in tmp_path holding a tiny sweep (see :func:`write_tiny_sweep`)."""
    store = Store(tmp_path / "sweep" / "metakb.duckdb", wait_s=0.5)
    write_tiny_sweep(store)
    return store
