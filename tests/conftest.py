"""Shared fixtures: a tiny published-data folder written by the tests, and the real one."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from metakb.spaces import ALGORITHMS
from metakb.store import Store

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
