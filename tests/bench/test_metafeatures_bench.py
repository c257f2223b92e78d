"""Smoke test of the meta-feature benchmark code on a tiny data folder; real data is slow."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from metakb.bench.metafeatures import (
    PARITY_TITLE,
    SPEED_TITLE,
    featurize_manifest,
    likely_causes,
    measure_speed,
    options_ignored,
    parity_markdown,
    parity_report,
    quality_kind,
    read_manifest,
    speed_markdown,
)
from metakb.bench.render import fill_page


def write_data(root: Path) -> Path:
    rng = np.random.default_rng(0)
    pmlb = root / "pmlb_datasets" / "datasets"
    pmlb.mkdir(parents=True)
    rows = []
    for i, name in enumerate(["alpha", "beta", "gamma"]):
        n = 40 + 10 * i
        frame = pd.DataFrame(
            {"a": rng.normal(size=n), "b": rng.integers(0, 3, n), "target": rng.integers(0, 2, n)}
        )
        with gzip.open(pmlb / f"{name}.tsv.gz", "wt") as fh:
            frame.to_csv(fh, sep="\t", index=False)
        rows.append((name, "classification", n, 2, f"datasets/{name}.tsv.gz", 10 + i))
    pd.DataFrame(
        rows, columns=["name", "task_type", "n_rows", "n_features", "file", "openml_dataset_id"]
    ).to_csv(root / "pmlb_datasets" / "manifest.csv", index=False)
    oml = root / "openml100_sklearn_hpo_runs"
    oml.mkdir()
    pd.DataFrame({"task_id": [1, 2, 3], "openml_dataset_id": [10, 11, 12]}).to_csv(
        oml / "tasks.csv", index=False
    )
    pd.DataFrame(
        {
            "task_id": [1, 2, 3],
            "NumberOfInstances": [40, 50, 61],
            "NumberOfFeatures": [3, 3, 3],
            "ClassEntropy": [0.99, 0.98, 0.97],
            "DecisionStumpErrRate": [0.4, 0.45, 0.5],
            "REPTreeDepth1ErrRate": [0.4, 0.4, 0.4],
            "REPTreeDepth2ErrRate": [0.4, 0.35, 0.4],
            "REPTreeDepth3ErrRate": [0.4, 0.3, 0.4],
        }
    ).to_csv(oml / "task_qualities.csv", index=False)
    tab = root / "tabrepo_lightgbm_2022"
    tab.mkdir()
    pd.DataFrame({"tid": [9], "did": [99], "NumberOfInstances": [5.0]}).to_csv(
        tab / "task_metadata.csv", index=False
    )
    return root


def test_parity_and_speed_reports_on_tiny_data(tmp_path: Path) -> None:
    data = write_data(tmp_path)
    manifest = read_manifest(data)
    results, wall = featurize_manifest(manifest, n_jobs=1)
    assert set(results) == {"alpha", "beta", "gamma"} and wall > 0
    parity = parity_report(data, results)
    by_name = {q["quality"]: q for q in parity["qualities"]}
    assert by_name["NumberOfInstances"]["exact_rate"] == pytest.approx(2 / 3)
    assert by_name["NumberOfInstances"]["mismatches"] == [
        {"dataset": "gamma", "metakb": 60.0, "openml": 61.0}
    ]
    assert by_name["NumberOfFeatures"]["exact_rate"] == 1.0
    assert "median_rel_error" in by_name["ClassEntropy"]
    assert by_name["DecisionStumpErrRate"]["kind"] == "landmarker"
    assert "spearman_as_stored" in by_name["REPTreeDepth1ErrRate"]
    # alpha and gamma have equal stored depths (Weka's defaults), beta does not.
    assert by_name["REPTreeDepth1ErrRate"]["datasets_defaults"] == 2
    report = _page(tmp_path, "metafeatures_parity", parity_markdown(parity), PARITY_TITLE)
    assert "NumberOfInstances" in report and "Spearman" in report
    assert "The type-dependent counts" in report  # the page's prose stays
    assert "| before |" not in report
    assert "| before |" in parity_markdown(parity, parity)["landmarkers"]

    speed, _ = measure_speed(data, n_jobs=1, pymfe_datasets=0)
    assert speed["datasets"] == 3 and speed["slowest_seconds"] > 0
    page = _page(tmp_path, "metafeatures_speed", speed_markdown(speed), SPEED_TITLE)
    assert "All families" in page and "pymfe was not run." in page
    assert "Same process, one core" in page


DOCS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks"


def _page(folder: Path, name: str, generated: dict[str, str], title: str) -> str:
    """Fill a copy of the committed page ``name`` with ``generated`` and return its text."""
    page = folder / f"{name}.md"
    page.write_text((DOCS / f"{name}.md").read_text())
    fill_page(page, generated, title=title)
    return page.read_text()


def test_committed_pages_rerender_unchanged(tmp_path) -> None:
    """Re-rendering the committed reports changes nothing on their pages."""
    speed = json.loads((DOCS / "metafeatures_speed.json").read_text())
    parity = json.loads((DOCS / "metafeatures_parity.json").read_text())
    previous = json.loads((DOCS / "metafeatures_parity_v1.json").read_text())
    for name, generated, title in (
        ("metafeatures_speed", speed_markdown(speed), SPEED_TITLE),
        ("metafeatures_parity", parity_markdown(parity, previous), PARITY_TITLE),
    ):
        assert _page(tmp_path, name, generated, title) == (DOCS / f"{name}.md").read_text()


def test_options_ignored_reads_equal_stored_variants() -> None:
    ref = pd.Series(
        {
            "J48.00001.ErrRate": 0.2,
            "J48.0001.ErrRate": 0.2,
            "J48.001.ErrRate": 0.2,
            "CfsSubsetEval_kNN1NErrRate": 0.1,
            "CfsSubsetEval_NaiveBayesErrRate": 0.3,
            "CfsSubsetEval_DecisionStumpErrRate": 0.1,
        }
    )
    assert options_ignored("J48.0001.", ref) is True
    assert options_ignored("CfsSubsetEval_NaiveBayes", ref) is False
    assert options_ignored("REPTreeDepth2", ref) is None  # not stored
    assert options_ignored("kNN1N", ref) is None  # no options


def test_likely_causes_name_the_kind_differences() -> None:
    counts = {
        "NumberOfNumericFeatures": (0, 4),
        "NumberOfSymbolicFeatures": (5, 1),
        "NumberOfBinaryFeatures": (0, 0),
        "NumberOfFeatures": (5, 5),
    }
    ev: dict[str, Any] = {
        f"{side}_{q}": pair[i]
        for q, pair in counts.items()
        for i, side in enumerate(("metakb", "openml"))
    }
    ev.update(categorical_integer_columns=4, numeric_integer_columns=0, constant_columns=0)
    assert likely_causes(ev) == ["numeric integer attributes with few values read as categorical"]
    ev.update(metakb_NumberOfFeatures=6)
    assert likely_causes(ev)[-1] == "PMLB has +1 columns"
    ev.update(metakb_NumberOfSymbolicFeatures=1, metakb_NumberOfNumericFeatures=4)
    ev.update(metakb_NumberOfFeatures=5, metakb_NumberOfBinaryFeatures=1)
    assert likely_causes(ev) == [
        "OpenML counts values declared in the ARFF header, metakb observed ones"
    ]


def test_quality_kinds() -> None:
    assert quality_kind("NumberOfInstances") == "count"
    assert quality_kind("kNN1NAUC") == "landmarker"
    assert quality_kind("metakb.landmark.LDAAUC") == "statistic"
    assert quality_kind("MeanSkewnessOfNumericAtts") == "statistic"


@pytest.mark.slow
def test_parity_on_real_data() -> None:
    data = os.environ.get("METAKB_DATA")
    if not data:
        pytest.skip("METAKB_DATA not set: needs the shared data folder")
    parity = parity_report(data)
    by_name = {q["quality"]: q for q in parity["qualities"]}
    # Type-independent counts agree exactly wherever PMLB kept OpenML's rows.
    for name in ("NumberOfInstances", "NumberOfClasses", "MajorityClassSize"):
        assert by_name[name]["exact_rate_same_rows"] == 1.0
    assert by_name["ClassEntropy"]["median_rel_error"] < 1e-9
    assert parity["landmarker_spearman_median"] >= 0.8
    assert parity["landmarker_spearman_as_stored_median"] >= 0.8
    # Every dataset whose column kinds differ from OpenML's has its evidence listed.
    kinds = by_name["NumberOfSymbolicFeatures"]["mismatches"]
    assert {m["dataset"] for m in kinds} <= set(parity["type_evidence"])
