"""The sweep-throughput suite on two tiny synthetic tables: both arms, the same fits, a page."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from metakb.bench.commands.sweep_speed import main
from metakb.bench.holdout import HOLDOUT
from metakb.bench.render import BEGIN, END
from metakb.bench.sweep_speed import compare_scores, select_tables, summarize
from metakb.spaces import get_algorithm
from metakb.sweep import build_design

ROWS, FOLDS = 100, 2


def _pmlb(root: Path) -> Path:
    """A PMLB-shaped folder: a manifest and two csv tables (binary, regression)."""
    folder = root / "pmlb_datasets"
    (folder / "datasets").mkdir(parents=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(ROWS, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame.assign(target=(x[:, 0] + 0.5 * rng.normal(size=ROWS) > 0).astype(int)).to_csv(
        folder / "datasets" / "binary.csv", index=False
    )
    frame.assign(target=2 * x[:, 1] + rng.normal(size=ROWS)).to_csv(
        folder / "datasets" / "reg.csv", index=False
    )
    pd.DataFrame(
        {
            "name": ["binary", "reg"],
            "task_type": ["classification", "regression"],
            "n_rows": [ROWS, ROWS],
            "target_column": ["target", "target"],
            "file": ["datasets/binary.csv", "datasets/reg.csv"],
        }
    ).to_csv(folder / "manifest.csv", index=False)
    return root


def test_both_arms_make_the_same_fits_and_the_page_renders(tmp_path: Path) -> None:
    out = tmp_path / "out"
    argv = ["--data", str(_pmlb(tmp_path)), "--out", str(out), "--folds", str(FOLDS)]
    argv += ["--classification", "1", "--regression", "1", "--workers", "0", "--repeats", "1"]
    assert main(argv, prog="test") == 0
    report = json.loads((out / "sweep_speed.json").read_text())
    arms = report["summary"]["arms"]
    assert set(arms) == {"sweep", "plain"}
    fits = 2 * len(build_design(get_algorithm("lightgbm"), "small")) * FOLDS
    assert arms["sweep"]["fits"] == arms["plain"]["fits"] == fits
    assert arms["sweep"]["fits_per_cpu_second"] > 0 and arms["plain"]["fits_per_cpu_second"] > 0
    assert report["summary"]["ratio_fits_per_cpu_second"] > 0
    # The same pipelines, folds and scorer: the plain loop's scores are the stored ones.
    assert report["scores"]["compared"] == fits // FOLDS
    assert report["scores"]["max_abs_difference"] < 1e-9
    page = (out / "sweep_speed.md").read_text()
    assert BEGIN in page and END in page and "**(a) / (b)**" in page
    # Prose outside the markers survives a re-render.
    (out / "sweep_speed.md").write_text(page.replace(BEGIN, f"Hand-written.\n\n{BEGIN}"))
    assert main(["--out", str(out), "--render-only"], prog="test") == 0
    assert "Hand-written." in (out / "sweep_speed.md").read_text()


def test_tables_are_chosen_evenly_by_size_within_range_and_not_held_out() -> None:
    rows = [100 + 10 * i for i in range(9)]
    manifest = pd.DataFrame(
        {
            "name": [f"c{i}" for i in range(9)] + [HOLDOUT[0], "huge", "r0"],
            "task_type": ["classification"] * 11 + ["regression"],
            "n_rows": [*rows, 150, 50_000, 300],
        }
    )
    chosen, selection = select_tables(manifest, {"classification": 3, "regression": 1})
    assert selection["chosen"] == ["c0", "c4", "c8", "r0"]
    assert selection["eligible"] == {"classification": 9, "regression": 1}
    assert list(chosen["name"]) == selection["chosen"]


def test_compare_scores_matches_magnitudes_and_counts_failures() -> None:
    plain = {"t": {"x": -1.5, "y": float("nan"), "z": 0.9, "w": 0.8}}
    stored = {"t": {"x": 1.5, "y": float("nan"), "z": float("nan")}}
    assert compare_scores(plain, stored) == {
        "compared": 1,
        "max_abs_difference": 0.0,
        "failed_in_both": 1,
        "failed_in_one": 1,
        "missing": 1,
    }


def test_summary_takes_medians_over_repeats_and_the_pool_speed_up_from_wall_time() -> None:
    def run(arm: str, cpu: float, wall: float, **extra: object) -> dict[str, object]:
        return {"arm": arm, "fits": 100, "cpu_seconds": cpu, "wall_seconds": wall, **extra}

    runs = [
        run("plain", 10.0, 20.0),
        run("sweep", 12.0, 20.0, evaluation_seconds=16.0),
        run("sweep", 8.0, 20.0, evaluation_seconds=16.0),
        run("plain", 10.0, 20.0),
        run("pool", 1.0, 8.0, executor="process:2", children_cpu_seconds=11.0),
    ]
    components = {"load_wall_seconds": 1.0, "metafeatures_wall_seconds": 2.0}
    summary = summarize(runs, components)
    assert summary["arms"]["sweep"]["fits_per_cpu_second"] == 10.0  # the median of 12 and 8
    assert summary["ratio_fits_per_cpu_second"] == 1.0 and summary["not_slower"]
    assert summary["sweep_wall_shares"] == {
        "evaluations": 0.8,
        "loading": 0.05,
        "metafeatures": 0.1,
        "writes_and_rest": 0.05,
    }
    assert summary["pool"]["wall_speedup"] == 2.5
    assert summary["pool"]["cpu_seconds_with_workers"] == 12.0
