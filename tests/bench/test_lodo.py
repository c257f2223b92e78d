"""Leave-one-dataset-out scoring: paired wins against the default, improvable sets, constants."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metakb.bench.lodo import HeldOut, noise_floor, summarize_picks


def _task(name: str, rows: list[list[float]], auc: bool = True) -> HeldOut:
    return HeldOut(name, name, tuple(f"c{i}" for i in range(len(rows))), np.array(rows), 0, auc)


# Row 0 is the default; row 1 clearly better; row 2 noisy around it; row 3 a constant model.
CLEAR = _task("clear", [[0.80, 0.82, 0.81], [0.90, 0.91, 0.92], [0.79, 0.84, 0.80], [0.5] * 3])
FLAT = _task("flat", [[0.90, 0.91, 0.92], [0.91, 0.90, 0.92], [0.89, 0.91, 0.93], [0.5] * 3])


def test_outcomes_are_one_paired_standard_error_apart() -> None:
    assert CLEAR.outcome(1) == "win" and CLEAR.outcome(2) == "tie"
    assert CLEAR.outcome(3) == "loss" and CLEAR.outcome(0) == "tie"
    mean, se = CLEAR.versus_default(1)
    assert mean == pytest.approx(0.1) and se == pytest.approx(0.01 / np.sqrt(3))
    assert CLEAR.improvable and not FLAT.improvable
    assert CLEAR.constant(3) and not CLEAR.constant(1)
    assert not _task("r", [[1.0, 2.0], [0.5, 0.5]], auc=False).constant(1)


def test_summary_counts_wins_improvable_and_constants() -> None:
    good = summarize_picks([CLEAR, FLAT], {"clear": [1, 0], "flat": [0, 1]})
    assert (good["wins"], good["ties"], good["losses"]) == (1, 1, 0)
    assert good["improvable"] == 1 and good["improvable_win_rate"] == 1.0
    assert good["constant_models"] == 0 and good["meets_targets"]
    assert good["regret@1"] == pytest.approx((0.0 + 1 - FLAT.normalized(0)) / 2)
    bad = summarize_picks([CLEAR, FLAT], {"clear": [3], "flat": [3]})
    assert bad["losses"] == 2 and bad["loss_rate"] == 1.0 and bad["constant_models"] == 2
    assert bad["improvable_win_rate"] == 0.0 and not bad["meets_targets"]
    assert bad["mean_normalized"] == 0.0 and bad["sign_test_p"] == pytest.approx(0.5)


def test_noise_floor_is_students_t_and_the_best_fixed_configuration() -> None:
    floor = noise_floor([CLEAR, FLAT])
    # Two degrees of freedom: P(T < -1) = (1 - 1 / sqrt(3)) / 2.
    assert floor["folds"] == [3] and floor["chance"] == pytest.approx((1 - 3**-0.5) / 2)
    # c1 wins on "clear" and ties on "flat"; c3, the constant model, loses on both.
    assert floor["fixed_min_config"] == "c1" and floor["fixed_min_loss_rate"] == 0.0
    assert floor["fixed_median_loss_rate"] == pytest.approx(0.0)


def test_run_lodo_on_a_tiny_sweep_scores_every_method(tmp_path: Path) -> None:
    from metakb import KnowledgeBase
    from metakb.bench.lodo import held_out_tasks, run_lodo
    from metakb.spaces import get_algorithm
    from tests.sweep.test_run import _tables

    folder = tmp_path / "tables"
    folder.mkdir()
    _tables(folder)
    rng = np.random.default_rng(1)
    for i in range(3):  # more binary tables, so every held-out one has neighbours
        x = rng.normal(size=(80, 3))
        y = (x[:, i] + 0.5 * rng.normal(size=80) > 0).astype(int)
        np.savetxt(
            folder / f"more{i}.csv", np.c_[x, y], delimiter=",", header="a,b,c,target", comments=""
        )
    kb = KnowledgeBase(tmp_path / "kb.duckdb")
    kb.sweep("lightgbm", str(folder), design="small", n_splits=3)
    algorithm = get_algorithm("lightgbm")
    data = kb.meta_dataset("lightgbm", task_type="classification", min_configs=2)
    tasks = held_out_tasks(kb.fold_results("sweep:lightgbm:", "classification"), algorithm)
    assert {t.name for t in tasks} == {"binary", "more0", "more1", "more2"}  # one_class failed
    out = run_lodo(data, tasks, algorithm, ["knn", "portfolio", "knn+default@1e9"], k=3)
    assert set(out["methods"]) == {
        "library_default",
        "oracle",
        "knn",
        "portfolio",
        "knn+default@1e9",
    }
    for method, figures in out["methods"].items():
        assert figures["datasets"] == 4, method
        assert figures["wins"] + figures["ties"] + figures["losses"] == 4
    assert out["methods"]["oracle"]["regret@1"] == 0.0
    assert out["methods"]["library_default"]["ties"] == 4
    assert all(len(rows) >= 1 for rows in out["picks"]["knn"].values())
    # Weighed against the default, the default is among the picks.
    for task in tasks:
        assert task.default in out["picks"]["knn+default@1e9"][task.task_id]


def test_lodo_page_renders_every_table_and_method(tmp_path: Path) -> None:
    import json

    from metakb.bench.commands.lodo import main
    from metakb.bench.lodo import summarize_picks

    figures = summarize_picks([CLEAR, FLAT], {"clear": [1], "flat": [0]})
    report = {
        "command": "metakb bench lodo --db KB",
        "load": "machine load before: -; after: -",
        "tables": [
            {
                "algorithm": "lightgbm",
                "task_type": "classification",
                "meta_dataset": "area_under_roc_curve",
                "training_tasks": 2,
                "datasets": ["clear", "flat"],
                "methods": {"knn": figures},
            }
        ],
    }
    (tmp_path / "lodo.json").write_text(json.dumps(report))
    assert main(["--db", "unused", "--out", str(tmp_path), "--render-only"]) == 0
    page = (tmp_path / "lodo.md").read_text()
    assert "## lightgbm, classification" in page and "| knn | 2 | 1 | 1 | 0 |" in page


def test_method_names_carry_the_margin() -> None:
    from metakb.bench.lodo import parse_method

    assert parse_method("knn") == ("knn", None)
    assert parse_method("knn+default") == ("knn", 1.0)
    assert parse_method("cf+default@0.25") == ("cf", 0.25)
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        parse_method("nope")


def test_report_json_keeps_each_list_of_picks_on_one_line() -> None:
    import json

    from metakb.bench.commands.lodo import _compact

    report = {"picks": {"knn": {"t1": [3, 1, 0], "t2": []}}, "x": [-1, 2]}
    text = _compact(json.dumps(report, indent=2))
    assert json.loads(text) == report and '"t1": [3, 1, 0]' in text and '"x": [-1, 2]' in text
