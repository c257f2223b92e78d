from __future__ import annotations

import json

import numpy as np
import pytest

from metakb.bench.loto import METHODS, BOSettings, LotoSettings
from metakb.bench.metrics import change_points, expand_change_points
from metakb.bench.render import plot_loto, render_loto_markdown, report_frame
from metakb.bench.tabular import (
    CandidatePrior,
    adaptive_picks,
    constant_tasks_note,
    loto_report,
    run_tabular,
)
from metakb.configs import canonical_json
from metakb.models import TaskQuery, TransferWarmStarter
from metakb.models._synthetic import synthetic_meta_dataset
from metakb.search import (
    AdaptiveWarmStart,
    BayesianOptimization,
    ConditionalPrior,
    LookupObjective,
    QueryPrior,
    run_search,
)

SETTINGS = LotoSettings(budget=12, seeds=(0, 1), n_warm=3, bo=BOSettings(n_trees=5))


@pytest.fixture(scope="module")
def data():
    return synthetic_meta_dataset(n_tasks=6, n_configs=20, shared=False, space="random_forest")


@pytest.fixture(scope="module")
def result(data):
    return run_tabular(data, SETTINGS)


def test_every_method_and_task_has_a_monotone_regret_curve(data, result):
    assert {m for m, _ in result.curves} == set(METHODS)
    assert {t for _, t in result.curves} == set(data.task_ids)
    for regret in result.curves.values():
        assert regret.shape == (2, 12)
        assert ((regret >= 0) & (regret <= 1)).all()
        assert (np.diff(regret, axis=1) <= 0).all()
    # Warm starts evaluate their recommendations first: the same first pick for every seed.
    for (method, _), regret in result.curves.items():
        if method.startswith("bo+"):
            assert regret[0, 0] == regret[1, 0]
    assert set(result.fit_seconds) == {"portfolio", "knn", "transfer", "cf", "prior"}


def test_process_pool_gives_the_same_curves(data, result):
    pooled = run_tabular(data, SETTINGS, workers=2)
    assert pooled.curves.keys() == result.curves.keys()
    for key, regret in result.curves.items():
        np.testing.assert_array_equal(pooled.curves[key], regret)


def test_report_round_trips_and_renders(data, result, tmp_path):
    report = json.loads(json.dumps(loto_report(data, result, SETTINGS, workers=1)))
    assert list(report["regret"]) == list(METHODS)
    assert report["budgets"] == [1, 5, 10]
    assert all(0 <= v <= 1 for by in report["regret"].values() for v in by.values())
    assert all(1 <= r <= len(METHODS) for ranks in report["rank"].values() for r in ranks)
    frame = report_frame(report)
    rebuilt = frame.groupby(["method", "n_evals"])["regret"].mean()
    assert rebuilt.loc[("bo", 10)] == pytest.approx(report["regret"]["bo"]["10"], abs=1e-4)
    # No 50-evaluation budget: no regret target.
    assert set(report["targets"]) == {"rank", "wall_time"}
    assert report["timing"]["cpu_seconds"] > 0
    markdown = render_loto_markdown(report, "cmd")
    assert "| bo+transfer+prior |" in markdown and "## Targets" in markdown
    plot_loto(report, tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 0


def test_change_points_round_trip():
    regret = np.array([0.5, 0.5, 0.2, 0.2, 0.2, 0.0])
    points = change_points(regret)
    assert points == [[1, 0.5], [3, 0.2], [6, 0.0]]
    np.testing.assert_array_equal(expand_change_points(points, 6), regret)


def test_settings_are_validated():
    with pytest.raises(ValueError, match="unknown methods"):
        LotoSettings(methods=("bo", "tpe"))
    with pytest.raises(ValueError, match="budget"):
        LotoSettings(budget=0)


def test_constant_tasks_are_noted():
    report = {"curves": {"a": {"best": 0.5, "worst": 0.5}, "b": {"best": 0.9, "worst": 0.1}}}
    (line,) = constant_tasks_note(report)
    assert line.startswith("- 1 of the 2 tasks") and "(a)" in line
    assert constant_tasks_note({"curves": {"b": report["curves"]["b"]}}) == []


def test_candidate_prior_serves_the_transfer_prior_of_the_search(data):
    """The benchmark's lookup prior gives what `metakb search`'s QueryPrior gives."""
    train, held = data.split_out(data.task_ids[0])
    model = TransferWarmStarter(seed=0).fit(train)
    query = TaskQuery(data.meta_features_of(held.task_id), task_id=held.task_id)
    lookup, live = CandidatePrior(model, query, held.X), QueryPrior(model, query)
    rows = held.X[::-1]
    for n_obs in (0, 1, 5):
        x_obs, y_obs = held.X[:n_obs], held.y[:n_obs]
        got, want = lookup.predict_given(rows, x_obs, y_obs), live.predict_given(rows, x_obs, y_obs)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b)
    np.testing.assert_allclose(lookup.predict(rows)[0], live.predict(rows)[0])
    assert isinstance(lookup, ConditionalPrior) and isinstance(live, ConditionalPrior)


def test_adaptive_picks_are_the_adaptive_warm_start_of_a_search(data):
    """The benchmark's picks are what `metakb search`'s AdaptiveWarmStart asks first."""
    train, held = data.split_out(data.task_ids[1])
    model = TransferWarmStarter(seed=0).fit(train)
    meta = data.meta_features_of(held.task_id)
    query = TaskQuery(meta, candidates=held.configs, task_id=held.task_id)
    values = np.asarray(held.y, dtype=float).copy()
    picks = adaptive_picks(model, query, values, 6)
    values[picks[1]] = np.nan  # a failed run is not shown to the starter
    picks = adaptive_picks(model, query, values, 6)
    optimizer = BayesianOptimization(
        data.space.configspace, seed=0, candidates=held.configs, encoder=data.space.encode_many
    )
    warm = AdaptiveWarmStart(optimizer, model, query, 6, data.space.encode_many)
    result = run_search(warm, LookupObjective(held.configs, list(values)), 6)
    position = {canonical_json(c): i for i, c in enumerate(held.configs)}
    assert [position[canonical_json(t.config)] for t in result.trials] == picks
    assert len(set(picks)) == 6 and warm.report.enqueued == 6
