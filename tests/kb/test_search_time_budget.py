"""`KnowledgeBase.search(time_budget=...)` and `metakb search --time-budget` on a tiny table."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from metakb.errors import UsageError
from metakb.kb import KnowledgeBase
from metakb.kb import _search as searching
from metakb.kb._search import SearchPlan
from metakb.store import Store
from tests.conftest import write_synthetic_table
from tests.kb.test_search import FAST, _fake_knowledge_base, _rows, _search


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "kb" / "metakb.duckdb"


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80 rows, 3 features: a forest trial on 2 folds takes a fraction of a second."""
    return write_synthetic_table(tmp_path_factory.mktemp("table") / "tiny.csv", "classification")


def _cold(path: Path, db: Path, **options: Any) -> Any:
    settings: dict[str, Any] = {
        "target": "y",
        "algorithm": "random_forest",
        "method": "random",
        "warm_start": "none",
        **FAST,
    }
    return KnowledgeBase(db).search(path, **{**settings, **options})


def test_a_time_budget_ends_a_search_before_its_trial_budget(table: Path, db: Path) -> None:
    # 200 forest fits on 80 rows take far longer than a fifth of a second.
    found = _cold(table, db, budget=100, time_budget=0.2)
    stop = found.stop
    assert stop is not None and stop.reason == "time_budget"
    assert 1 <= stop.n_trials == len(found.result.trials) < 100
    assert found.to_dict()["stop"]["message"] == stop.message
    assert stop.message.startswith(f"time budget 0.2 s reached after {stop.n_trials} trial")
    stored = _rows(
        db, f"SELECT count(*) FROM evaluations WHERE provenance = 'search:{found.search_id}'"
    )
    assert stored[0][0] == stop.n_trials

    # A resume keeps what was done and spends a new time budget (room for a few more) on the rest.
    room = 3 * max(t.seconds for t in found.result.trials) + 0.3
    again = _cold(table, db, budget=100, time_budget=room, resume=True)
    assert again.result.trials[: stop.n_trials] == found.result.trials
    assert again.stop is not None and again.stop.n_trials > stop.n_trials


@pytest.mark.parametrize("seconds", [0.0, -5.0, float("nan")])
def test_a_time_budget_must_be_positive(table: Path, db: Path, seconds: float) -> None:
    with pytest.raises(UsageError, match="time budget"):
        _cold(table, db, budget=3, time_budget=seconds)
    assert not db.exists()  # refused before anything is written


def test_a_warm_start_predicted_to_overrun_is_skipped_with_a_note(
    table: Path, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_knowledge_base(db)
    first: list[str] = []

    def costs(store: Store, plan: SearchPlan) -> Any:
        # The first configuration asked about (the second warm start's) is predicted huge.
        def cost(config: Mapping[str, Any]) -> float:
            key = json.dumps(dict(config), sort_keys=True)
            first[:] = first or [key]
            return 1e6 if key == first[0] else 1.0

        return cost

    monkeypatch.setattr(searching, "_relative_cost", costs)
    found = _cold(table, db, budget=3, warm_start="portfolio", n_warm=3, time_budget=600.0)
    statuses = [t.status for t in found.result.trials]
    assert statuses == ["ok", "skipped", "ok", "ok"]
    assert any(n.startswith("skipped warm-start configuration (trial 1):") for n in found.notes)
    assert found.stop is not None and found.stop.reason == "budget"
    # Logged for a resume, never stored: it was not evaluated.
    provenance = f"search:{found.search_id}"
    assert _rows(db, f"SELECT count(*) FROM evaluations WHERE provenance = '{provenance}'") == [
        (3,)
    ]
    assert [t.status for t in searching.load_trials(found.log_path)] == statuses


def test_cli_time_budget(capsys: pytest.CaptureFixture[str], table: Path, db: Path) -> None:
    code, out, _ = _search(
        capsys, table, db, "--target", "y", "--budget", "100", "--time-budget", "0.2"
    )
    assert code == 0 and "stopped: time budget 0.2 s reached after " in out
    code, out, _ = _search(
        capsys, table, db, "--target", "y", "--time-budget", "0.2", "--json", "--new"
    )
    assert code == 0 and json.loads(out)["stop"]["reason"] in ("time_budget", "budget")
    code, _, err = _search(capsys, table, db, "--target", "y", "--time-budget", "0", "--new")
    assert code == 2 and "time budget" in err
