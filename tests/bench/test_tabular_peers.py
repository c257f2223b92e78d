from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("optuna")
pytest.importorskip("smac")

from metakb.bench.loto import PRIOR_METHOD, BOSettings, LotoSettings, run_loto
from metakb.bench.tabular_peers import peers_report, peers_search
from metakb.models._synthetic import synthetic_meta_dataset

METHODS = ("random", "bo", PRIOR_METHOD, "optuna-tpe", "smac-bo")


def test_peers_smoke(tmp_path):
    data = synthetic_meta_dataset(n_tasks=4, n_configs=20, shared=False, space="random_forest")
    settings = LotoSettings(
        budget=6, seeds=(0,), n_warm=2, bo=BOSettings(n_trees=4, n_initial=2), methods=METHODS
    )
    smac = [data.task_ids[0]]
    result = run_loto(data, settings, search=peers_search(smac))
    assert {m for m, _ in result.curves} == set(METHODS)
    assert [t for m, t in result.curves if m == "smac-bo"] == smac
    for (method, _), regret in result.curves.items():
        assert regret.shape == (1, 6)
        assert ((regret >= 0) & (regret <= 1)).all(), method
        assert (np.diff(regret, axis=1) <= 0).all()
    report = json.loads(
        json.dumps(
            peers_report(data, result, settings, workers=1, smac_tasks=smac, warm=PRIOR_METHOD)
        )
    )
    # The main summary leaves SMAC3 out (it ran on one task); the subset has every method.
    assert list(report["regret"]) == [m for m in METHODS if m != "smac-bo"]
    assert list(report["subset"]["regret"]) == list(METHODS)
    assert report["subset"]["task_ids"] == smac
    assert report["targets"]["rank"]["best"] == PRIOR_METHOD
    assert "beats_smac-bo" in report["targets"]["rank_subset"]
    assert all(1 <= r <= 5 for ranks in report["subset"]["rank"].values() for r in ranks)
