import inspect
from functools import partial

import numpy as np
import pytest

from metakb.bench.sensitivity import (
    DEFAULT_SETTING,
    TRANSFER_GRID,
    fair_choice,
    grid_regret,
    render_markdown,
    setting_label,
)
from metakb.bench.zeroshot import zeroshot_regret
from metakb.models import TransferWarmStarter
from metakb.models._synthetic import synthetic_meta_dataset


def test_default_setting_is_transfers_defaults():
    defaults = inspect.signature(TransferWarmStarter).parameters
    share, width, n_tasks = DEFAULT_SETTING
    assert (defaults["global_weight"].default, defaults["bandwidth"].default) == (share, width)
    assert defaults["n_tasks"].default == n_tasks
    assert DEFAULT_SETTING in TRANSFER_GRID


def test_each_setting_ranks_as_a_model_built_with_it():
    data = synthetic_meta_dataset(n_tasks=8, n_configs=20, shared=False, space="svc")
    grid = [DEFAULT_SETTING, (0.0, 2.0, None)]
    report = grid_regret(data, grid, ks=(1, 3))
    for share, width, n_tasks in grid:
        factory = partial(
            TransferWarmStarter, global_weight=share, bandwidth=width, n_tasks=n_tasks or 1000
        )
        built = zeroshot_regret(data, {"t": factory}, ks=(1, 3))
        built = built[built["method"] == "t"]
        expected = built.pivot(index="task_id", columns="k", values="regret")
        got = np.array(report["regret"][setting_label((share, width, n_tasks))])
        np.testing.assert_allclose(got, expected.loc[report["tasks"]].to_numpy())
    hindsight = np.array(report["hindsight"])
    assert ((hindsight >= 0) & (hindsight <= 1)).all()


def _table(regrets: dict[str, list[float]], n_tasks: int = 4) -> dict:
    return {
        "tasks": [f"t{i}" for i in range(n_tasks)],
        "ks": [1, 5],
        "regret": {label: [list(v)] * n_tasks for label, v in regrets.items()},
        "random": [[0.5, 0.2]] * n_tasks,
        "hindsight": [0.01] * n_tasks,
    }


def test_fair_choice_never_looks_at_the_table_it_scores():
    base, other = setting_label(DEFAULT_SETTING), setting_label((0.0, 0.5, 10))
    # "other" is better on a and b, worse on c: c is scored with what a and b prefer.
    tables = {
        "a": _table({base: [0.3, 0.1], other: [0.2, 0.05]}),
        "b": _table({base: [0.3, 0.1], other: [0.25, 0.08]}),
        "c": _table({base: [0.1, 0.05], other: [0.4, 0.2]}),
    }
    summary = fair_choice(tables)
    assert summary["c"]["chosen"]["label"] == other
    assert summary["c"]["paired"]["mean"] == pytest.approx(((0.4 + 0.2) - (0.1 + 0.05)) / 2)
    assert summary["a"]["chosen"]["label"] == base  # b prefers other less than c dislikes it
    assert summary["c"]["k5"] == {"min": 0.05, "median": pytest.approx(0.125), "max": 0.2}
    text = render_markdown(tables, "python pipelines/transfer_sensitivity.py --db KB")
    assert "| c (4) |" in text and "## a: every setting" in text
    # A k where random's regret is 0 (every configuration equal) is skipped, not divided by.
    tables["c"]["random"] = [[0.0, 0.2]] * 4
    assert fair_choice(tables)["a"]["chosen"]["label"] == base
    with pytest.raises(ValueError, match="two tables"):
        fair_choice({"a": tables["a"]})
