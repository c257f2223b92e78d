import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metakb.bench.metrics import expected_random_regret
from metakb.bench.zeroshot import (
    Table,
    plot_report,
    relative_regret,
    render_markdown,
    run_zeroshot,
    target_lines,
    zeroshot_regret,
)
from metakb.models import WARM_STARTERS
from metakb.models._synthetic import synthetic_meta_dataset


@settings(max_examples=40, deadline=None)
@given(values=st.lists(st.floats(0, 1), min_size=1, max_size=7), k=st.integers(1, 8))
def test_expected_random_regret_is_exact(values, k):
    v = np.array(values)
    draws = list(itertools.combinations(range(len(v)), min(k, len(v))))
    brute = np.mean([1 - v[list(d)].max() for d in draws])
    assert expected_random_regret(v, k) == pytest.approx(brute, abs=1e-9)


def test_zeroshot_smoke_on_synthetic_data():
    data = synthetic_meta_dataset(n_tasks=10, n_configs=25, shared=False, space="svc")
    methods = {name: (lambda f=f: f(seed=0)) for name, f in WARM_STARTERS.items()}
    results = zeroshot_regret(data, methods, ks=(1, 5))
    assert set(results["method"]) == {*WARM_STARTERS, "random", "default", "oracle"}
    assert results["regret"].between(0, 1).all()
    means = results.groupby(["method", "k"])["regret"].mean()
    # Best-of-k can only improve with k.
    for method in WARM_STARTERS:
        assert means[(method, 5)] <= means[(method, 1)] + 1e-12
    # The synthetic optimum follows the meta-features: similarity-based methods must
    # beat picking at random.
    assert means[("transfer", 5)] < means[("random", 5)]
    assert means[("knn", 5)] < means[("random", 5)]


def test_report_and_markdown(tmp_path):
    data = synthetic_meta_dataset(n_tasks=6, n_configs=12)
    report = run_zeroshot(lambda table: data, [Table("lightgbm")], ks=(1, 3), max_tasks=3)
    table = report["tables"][0]
    assert table["tasks"] == 3
    assert set(table["latency_ms"]) == set(WARM_STARTERS)
    text = render_markdown(report, "python pipelines/zeroshot.py --db x")
    assert "| random |" in text and "k=3" in text
    pytest.importorskip("matplotlib")
    plot_report(report, tmp_path / "zeroshot.png")
    assert (tmp_path / "zeroshot.png").stat().st_size > 0


@pytest.mark.slow
def test_real_data_targets(tmp_path: Path):
    """Every method beats random at every k; best-of-5 <= half of random-5 on RF and AdaBoost."""
    data_dir = os.environ.get("METAKB_DATA")
    if not data_dir:
        pytest.skip("METAKB_DATA not set: needs the shared data folder")
    from metakb.bench.zeroshot import ZEROSHOT_TABLES
    from metakb.kb import KnowledgeBase

    kb = KnowledgeBase(tmp_path / "kb.duckdb")
    kb.ingest_published(data_dir)
    report = run_zeroshot(
        lambda t: kb.meta_dataset(t.algorithm, t.metric, min_configs=t.min_configs),
        ZEROSHOT_TABLES,
    )
    for table in report["tables"]:
        regret = table["regret"]
        for method in WARM_STARTERS:
            for k in ("1", "3", "5", "10"):
                assert regret[method][k]["mean"] < regret["random"][k]["mean"], (table, method, k)
        if table["algorithm"] in ("random_forest", "adaboost"):
            best = min(regret[m]["5"]["mean"] for m in WARM_STARTERS)
            assert best <= 0.5 * regret["random"]["5"]["mean"]


def _report(regrets: dict[str, dict[str, dict[str, float]]]) -> dict:
    """A report of two tables with the same regrets, as run_zeroshot would write it."""
    table = {
        "regret": {
            m: {k: {"mean": v, "sem": 0.0} for k, v in by_k.items()} for m, by_k in regrets.items()
        },
    }
    return {
        "ks": [1, 5],
        "tables": [table | {"algorithm": "adaboost"}, table | {"algorithm": "svc"}],
    }


def test_relative_regret_ranks_methods_across_tables():
    report = _report(
        {
            "random": {"1": 0.4, "5": 0.2},
            "a": {"1": 0.2, "5": 0.05},
            "b": {"1": 0.1, "5": 0.2},
            "oracle": {"1": 0.0, "5": 0.0},
        }
    )
    ranked = relative_regret(report)
    assert list(ranked) == ["a", "b"]
    assert ranked["a"] == pytest.approx((0.5 + 0.25) / 2)
    assert ranked["b"] == pytest.approx((0.25 + 1.0) / 2)


def test_target_lines_report_misses():
    report = _report(
        {
            "random": {"1": 0.4, "5": 0.2},
            "a": {"1": 0.2, "5": 0.11},
            "b": {"1": 0.5, "5": 0.15},
        }
    )
    lines = target_lines(report)
    assert any("adaboost: every method" in line and "missed (b at k=1)" in line for line in lines)
    halved = [line for line in lines if "random-5 / 2" in line]
    assert len(halved) == 1 and "missed" in halved[0] and "(a) 0.1100" in halved[0]
    report["tables"][0]["regret"]["a"]["5"]["mean"] = 0.09
    assert "met (margin +0.0100)" in next(x for x in target_lines(report) if "random-5" in x)
