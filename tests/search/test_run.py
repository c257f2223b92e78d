from __future__ import annotations

import json

import numpy as np
import pytest

from metakb.configs import canonical_json, config_id
from metakb.search import (
    OPTIMIZERS,
    Hyperband,
    LookupObjective,
    SearchError,
    SearchResult,
    TrialLog,
    TrialRecord,
    load_trials,
    open_executor,
    result_rows,
    run_search,
)
from metakb.search._space import SpaceSampler
from tests.search.conftest import SleepyObjective, ToyObjective, toy_value


class InterruptError(Exception):
    pass


def test_run_search_spends_the_budget_and_reports_each_trial(space):
    seen = []
    result = run_search(
        OPTIMIZERS["bo"](space, seed=0),
        ToyObjective(fail_linear=True),
        12,
        on_trial=lambda record, so_far: seen.append((record.trial_id, len(so_far.trials))),
    )
    assert len(result.trials) == 12
    assert seen == [(i, i + 1) for i in range(12)]
    failed = [t for t in result.trials if t.config["kernel"] == "linear"]
    assert all(t.status == "failed" and t.score is None and t.error for t in failed)
    best = result.best
    assert best is not None and best.score == max(t.score for t in result.trials if t.score)


def test_fidelity_budget_counts_full_evaluation_equivalents(space):
    result = run_search(
        OPTIMIZERS["hyperband"](space, seed=0, min_fidelity=1 / 9),
        ToyObjective(),
        5.0,
        budget_unit="fidelity",
    )
    spent = sum(t.fidelity for t in result.trials)
    assert 5.0 <= spent < 6.0
    assert result.best.fidelity == 1.0


def test_objective_exceptions_become_failed_trials(space):
    def broken(config, fidelity):
        raise RuntimeError("boom")

    result = run_search(OPTIMIZERS["random"](space, seed=0), broken, 3)
    assert [t.status for t in result.trials] == ["failed"] * 3
    assert result.best is None
    assert result.to_dict()["best"] is None


def test_candidate_search_stops_when_candidates_run_out(space):
    configs = SpaceSampler(space).sample(np.random.default_rng(0), 7)
    objective = LookupObjective(configs, [toy_value(c) for c in configs])
    for name in ("bo", "hyperband"):
        optimizer = OPTIMIZERS[name](space, seed=0, candidates=objective.candidates)
        result = run_search(optimizer, objective, 100, n_parallel=3)
        assert 7 <= len(result.trials) < 100
        assert result.best.score == pytest.approx(objective.best_value)


def _interrupted(name, space, stop_after, n_parallel=1):
    records = []

    def keep(record, _):
        records.append(record)
        if len(records) == stop_after:
            raise InterruptError

    with pytest.raises(InterruptError):
        run_search(
            OPTIMIZERS[name](space, seed=4),
            ToyObjective(),
            30,
            on_trial=keep,
            n_parallel=n_parallel,
        )
    # Records go through JSON, as when loaded back from a file or the knowledge base.
    return [TrialRecord.from_dict(json.loads(json.dumps(r.to_dict()))) for r in records]


@pytest.mark.parametrize("name", ["bo", "hyperband", "bohb"])
def test_an_interrupted_search_resumes_where_it_stopped(name, space):
    straight = run_search(OPTIMIZERS[name](space, seed=4), ToyObjective(), 30)
    previous = _interrupted(name, space, 11)
    objective = ToyObjective()
    resumed = run_search(OPTIMIZERS[name](space, seed=4), objective, 30, previous=previous)
    assert len(objective.calls) == 19  # only the missing trials are evaluated
    assert [(t.config, t.fidelity) for t in resumed.trials] == [
        (t.config, t.fidelity) for t in straight.trials
    ]


def test_a_trial_log_on_disk_resumes_a_search(space, tmp_path):
    log = TrialLog(tmp_path / "runs" / "trials.json")
    assert load_trials(log.path) == []

    def stop_after_six(record, result):
        log(record, result)
        if len(result.trials) == 6:
            raise InterruptError

    with pytest.raises(InterruptError):
        run_search(OPTIMIZERS["bohb"](space, seed=1), ToyObjective(), 15, on_trial=stop_after_six)
    previous = load_trials(log.path)
    assert len(previous) == 6
    resumed = run_search(
        OPTIMIZERS["bohb"](space, seed=1), ToyObjective(), 15, previous=previous, on_trial=log
    )
    straight = run_search(OPTIMIZERS["bohb"](space, seed=1), ToyObjective(), 15)
    assert [t.config for t in resumed.trials] == [t.config for t in straight.trials]
    assert load_trials(log.path) == resumed.trials
    log.path.write_text("{not json", encoding="utf-8")
    with pytest.raises(SearchError, match="cannot read the trial log"):
        load_trials(log.path)


def test_a_parallel_search_resumes_and_reruns_in_flight_trials(space):
    previous = _interrupted("hyperband", space, 10, n_parallel=3)
    resumed = run_search(
        OPTIMIZERS["hyperband"](space, seed=4), ToyObjective(), 30, previous=previous, n_parallel=3
    )
    assert len(resumed.trials) == 30
    assert resumed.trials[:10] == previous
    ids = [t.trial_id for t in resumed.trials]
    assert len(set(ids)) == 30


def test_a_resume_with_another_seed_reevaluates(space):
    previous = _interrupted("bo", space, 8)
    objective = ToyObjective()
    resumed = run_search(OPTIMIZERS["bo"](space, seed=99), objective, 10, previous=previous)
    assert len(resumed.trials) == 10
    assert len(objective.calls) == 10  # nothing matched: nothing reused


def test_json_and_knowledge_base_rows(space):
    result = run_search(OPTIMIZERS["random"](space, seed=0), ToyObjective(fail_linear=True), 8)
    payload = json.loads(json.dumps(result.to_dict()))
    assert set(payload) == {"best", "stop", "trials"}
    assert set(payload["trials"][0]) == {"config", "score", "fidelity", "seconds", "status"}
    rows = result_rows(result, task_id="local:abc", metric="accuracy", flow_id="metakb:svc")
    ok = [t for t in result.trials if t.status == "ok"]
    assert len(rows) == len(ok)
    assert list(rows.columns) == [
        "task_id",
        "config_id",
        "params",
        "metric",
        "value",
        "fidelity",
        "runtime_s",
        "source",
        "provenance",
    ]
    assert rows["config_id"].iloc[0] == config_id("metakb:svc", ok[0].config)
    assert rows["params"].iloc[0] == canonical_json(ok[0].config)
    assert set(rows["source"]) == {"local"}
    every = result_rows(result, task_id="t", metric="accuracy", include_failed=True)
    assert len(every) == 8 and "config_id" not in every.columns


def test_a_hanging_trial_times_out(space):
    result = run_search(
        OPTIMIZERS["random"](space, seed=1),
        SleepyObjective(0.5),
        8,
        trial_timeout=0.1,
    )
    assert {t.config["kernel"] for t in result.trials} >= {"rbf", "poly"}
    timed_out = [t for t in result.trials if t.status == "failed"]
    assert timed_out and all("time limit" in t.error for t in timed_out)
    assert all(t.config["kernel"] == "rbf" for t in timed_out)


def test_process_pool_and_dask_local_cluster_run_searches(space):
    configs = SpaceSampler(space).sample(np.random.default_rng(0), 30)
    objective = LookupObjective(configs, [toy_value(c) for c in configs])
    sequential = run_search(
        OPTIMIZERS["random"](space, seed=2, candidates=objective.candidates), objective, 10
    )
    for spec in ("process:2", "dask:local:2"):
        result = run_search(
            OPTIMIZERS["random"](space, seed=2, candidates=objective.candidates),
            objective,
            10,
            executor=spec,
        )
        assert sorted(t.score for t in result.trials) == sorted(t.score for t in sequential.trials)


def test_open_executor_rejects_unknown_specs():
    with pytest.raises(SearchError, match="unknown executor"):
        open_executor("threads:4", ToyObjective())
    assert isinstance(SearchResult().trials, list)


def test_a_real_cross_validated_search_with_hyperband():
    from ConfigSpace import ConfigurationSpace, Float, Integer
    from sklearn.datasets import load_breast_cancer

    from metakb.search import CVObjective, DefaultEstimators

    space = ConfigurationSpace()
    space.add(
        [
            Integer("n_estimators", (4, 16)),
            Float("max_features", (0.1, 1.0)),
            Integer("min_samples_leaf", (1, 20), log=True),
        ]
    )
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    objective = CVObjective(
        x,
        y,
        DefaultEstimators("random_forest", "classification"),
        task_type="classification",
        metric="roc_auc",
        n_splits=3,
    )
    result = run_search(Hyperband(space, seed=0, min_fidelity=1 / 9), objective, 13)
    assert [t.status for t in result.trials] == ["ok"] * 13
    assert sorted({t.fidelity for t in result.trials}) == pytest.approx([1 / 9, 1 / 3, 1.0])
    assert result.best.fidelity == 1.0 and result.best.score > 0.95


def test_resume_without_ordering_information_still_reuses_results(space):
    previous = _interrupted("random", space, 7)
    unordered = [TrialRecord.from_dict({**r.to_dict(), "asked_after": 0}) for r in previous]
    objective = ToyObjective()
    optimizer = OPTIMIZERS["random"](space, seed=4)
    resumed = run_search(optimizer, objective, 10, previous=unordered[::-1])
    assert len(objective.calls) == 3
    assert len(resumed.trials) == 10 and optimizer.n_pending == 0
