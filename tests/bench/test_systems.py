import json
from pathlib import Path

import numpy as np
import pytest

from metakb.bench.render import fill_page
from metakb.bench.systems import TITLE, render_systems_markdown, run_systems, scale_meta_dataset
from metakb.models import WARM_STARTERS
from metakb.models._synthetic import synthetic_meta_dataset

DOCS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks"


@pytest.fixture(scope="module")
def base():
    return synthetic_meta_dataset(n_tasks=6, n_configs=10)


def test_scale_up_replicates_tasks_with_jitter(base) -> None:
    big = scale_meta_dataset(base, 200, seed=1)
    sizes = [len(t.y) for t in big.tasks]
    assert 200 <= sum(sizes) < 200 + 10
    assert big.n_tasks == 20 and big.task_ids[:6] == base.task_ids
    replica = big.tasks[6]
    real = base.task(replica.task_id.split("~")[0])
    assert replica.group != real.group and replica.config_ids == real.config_ids
    assert not np.allclose(replica.y, real.y)
    # Meta-features are jittered multiplicatively: same sign, close in log scale.
    row = big.meta_features[6]
    orig = base.meta_features[base.task_ids.index(real.task_id)]
    assert np.all(np.sign(row) == np.sign(orig))
    assert np.allclose(np.log(np.abs(row) + 1e-12), np.log(np.abs(orig) + 1e-12), atol=1.0)
    # Below the real size: a subset of real tasks.
    small = scale_meta_dataset(base, 25, seed=1)
    assert set(small.task_ids) <= set(base.task_ids) and sum(len(t.y) for t in small.tasks) >= 25
    assert scale_meta_dataset(base, 200, seed=1).task_ids == big.task_ids  # same seed, same table
    with pytest.raises(ValueError):
        scale_meta_dataset(base, 0)


def test_systems_smoke_every_method_at_two_sizes(base, tmp_path) -> None:
    report = run_systems(
        base, sizes=(30, 120), queries=3, e2e_calls=2, e2e_cold_calls=1, isolate=False
    )
    runs = report["runs"]
    assert {(r["method"], r["n_evaluations"] >= 120) for r in runs} == {
        (m, big) for m in WARM_STARTERS for big in (False, True)
    }
    for r in runs:
        for key in ("recommend_ms", "end_to_end_warm_ms", "end_to_end_cold_ms"):
            lat = r[key]
            assert 0 < lat["p50_ms"] <= lat["p95_ms"] <= lat["max_ms"], (r["method"], key)
        assert r["fit_seconds"] >= 0 and r["artifact_bytes"] > 0 and r["peak_rss_mb"] > 0
        assert r["training_tasks"] == r["tasks"]
    text = _page(
        tmp_path, render_systems_markdown(report, "python pipelines/bench_systems.py --db x")
    )
    assert "synthetic scale-ups" in text and "| cf |" in text and "Target" in text
    assert "Not cited: no ingest.json beside this page." in text
    with pytest.raises(ValueError, match="unknown method"):
        run_systems(base, sizes=(30,), methods=["nope"], isolate=False)


def test_markdown_cites_ingest_and_metafeature_figures(base, tmp_path) -> None:
    report = run_systems(
        base,
        sizes=(30,),
        methods=["portfolio"],
        queries=2,
        e2e_calls=1,
        e2e_cold_calls=1,
        isolate=False,
    )
    ingest = {
        "added": {"evaluations": 1000},
        "median_seconds": 0.02,
        "repeats": 1,
        "seconds": [0.02],
        "reimport_median_seconds": 0.01,
        "evaluations_per_second": 50_000.0,
        "cpu_seconds": [0.005],
        "load_average": [1.0, 1.0, 1.0],
    }
    metafeatures = {
        "datasets": 3,
        "wall_seconds": 1.0,
        "n_jobs": 1,
        "median_dataset_seconds": 0.1,
        "slowest_seconds": 0.5,
        "slowest_dataset": "x",
        "pymfe": {
            "datasets": ["a", "b"],
            "metakb_seconds": 1.0,
            "pymfe_seconds": 3.0,
            "speedup": 3.0,
        },
    }
    generated = render_systems_markdown(report, "cmd", ingest=ingest, metafeatures=metafeatures)
    text = _page(tmp_path, generated)
    assert "**50,000 evaluations/s** (target > 100,000: missed)" in text
    assert "200,000 per CPU second" in text
    assert "**3.0x faster**" in text


def _page(folder: Path, generated: dict[str, str]) -> str:
    """Fill a copy of the committed systems page with ``generated`` and return its text."""
    page = folder / "systems.md"
    page.write_text((DOCS / "systems.md").read_text())
    fill_page(page, generated, title=TITLE)
    text = page.read_text()
    assert "Each (size, method) runs in a fresh process." in text  # the page's prose stays
    return text


def test_committed_page_rerenders_unchanged(tmp_path) -> None:
    """Re-rendering the committed report (and the reports it cites) leaves its page as it is."""
    report, ingest, metafeatures = (
        json.loads((DOCS / f"{name}.json").read_text())
        for name in ("systems", "ingest", "metafeatures_speed")
    )
    generated = render_systems_markdown(
        report, report["command"], ingest=ingest, metafeatures=metafeatures
    )
    assert _page(tmp_path, generated) == (DOCS / "systems.md").read_text()
