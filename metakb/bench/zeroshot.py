"""Leave-one-task-out zero-shot regret of warm starters, with random, default and oracle baselines.

For every task of a :class:`~metakb.models.MetaDataset` the task's whole
dataset group is held out, each method is fitted on the rest and asked for
``k`` configurations among the held-out task's own evaluated configurations
(their values hidden), and the normalized regret of the best of its top
``k`` is recorded: ``1 - (best of top k - task min) / (task max - task min)``
(HPO-B's definition; 0 = the task's best configuration).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from math import comb

import numpy as np
import pandas as pd

from metakb.configs import canonical_json
from metakb.models import MetaDataset, TaskData, TaskQuery, WarmStarter

log = logging.getLogger(__name__)

ZEROSHOT_KS: tuple[int, ...] = (1, 3, 5, 10)

Progress = Callable[[str, int, int], None]


def expected_random_regret(normalized: np.ndarray, k: int) -> float:
    """Return the expected regret of the best of ``k`` configurations drawn without replacement.

    Exact: with values sorted ascending, the ``i``-th smallest (1-based) is the
    best of the draw with probability ``C(i-1, k-1) / C(n, k)``.
    """
    v = np.sort(np.asarray(normalized, dtype=float))
    n = len(v)
    k = min(k, n)
    total = comb(n, k)
    probs = np.array([comb(i - 1, k - 1) / total for i in range(1, n + 1)])
    return float(1.0 - probs @ v)


def _default_regret(task: TaskData, default_x: np.ndarray) -> float:
    # The default configuration is rarely among a task's random-search points:
    # take the evaluated configuration nearest to it in the encoded space.
    i = int(np.argmin(((task.X - default_x) ** 2).sum(axis=1)))
    return float(1.0 - task.normalized[i])


def zeroshot_regret(
    data: MetaDataset,
    methods: Mapping[str, Callable[[], WarmStarter]],
    ks: Sequence[int] = ZEROSHOT_KS,
    *,
    task_ids: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Measure zero-shot regret leave-one-task-out.

    Parameters
    ----------
    data : MetaDataset
        The table to measure on.
    methods : mapping of str to callable
        Method name -> factory returning an unfitted warm starter.
    ks : sequence of int
        Numbers of recommendations to score.
    task_ids : sequence of str, optional
        Tasks to hold out (default: every task).
    progress : callable, optional
        ``progress(description, done, total)``.

    Returns
    -------
    pandas.DataFrame
        One row per held-out task, method and k: task_id, method, k, regret,
        plus ``fit_s`` and ``recommend_s`` for the methods. Baselines are the
        methods ``random`` (expected regret of k random configurations),
        ``default`` and ``oracle``.
    """
    ids = list(task_ids) if task_ids is not None else list(data.task_ids)
    default_x = data.space.encode(data.space.default())
    k_max = max(ks)
    rows: list[dict[str, object]] = []
    for done, task_id in enumerate(ids):
        train, held = data.split_out(task_id)
        query = TaskQuery(
            meta_features=data.meta_features_of(task_id),
            candidates=held.configs,
            task_id=task_id,
        )
        position = {canonical_json(c): i for i, c in enumerate(held.configs)}
        for k in ks:
            rows.append(_row(task_id, "random", k, expected_random_regret(held.normalized, k)))
            rows.append(_row(task_id, "default", k, _default_regret(held, default_x)))
            rows.append(_row(task_id, "oracle", k, 0.0))
        for name, factory in methods.items():
            t0 = time.perf_counter()
            model = factory().fit(train)
            t1 = time.perf_counter()
            recs = model.recommend(query, k_max)
            t2 = time.perf_counter()
            picked = [position[canonical_json(r.config)] for r in recs]
            for k in ks:
                top = picked[:k]
                regret = float(1.0 - held.normalized[top].max()) if top else 1.0
                rows.append(_row(task_id, name, k, regret, fit_s=t1 - t0, recommend_s=t2 - t1))
        if progress is not None:
            progress(f"{data.space.name}: leave one task out", done + 1, len(ids))
    return pd.DataFrame(rows)


def _row(task_id: str, method: str, k: int, regret: float, **extra: float) -> dict[str, object]:
    return {"task_id": task_id, "method": method, "k": k, "regret": regret, **extra}


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Return mean regret (and its standard error) per method and k, methods as rows."""
    grouped = results.groupby(["method", "k"])["regret"]
    out = pd.DataFrame({"mean": grouped.mean(), "sem": grouped.sem(), "tasks": grouped.size()})
    return out.reset_index()


def recommendation_latency(
    model: WarmStarter,
    queries: Sequence[TaskQuery],
    k: int = 10,
    *,
    repeats: int = 3,
) -> dict[str, float]:
    """Return p50 / p95 / max latency in milliseconds of ``model.recommend`` over ``queries``."""
    times = []
    for _ in range(repeats):
        for query in queries:
            t0 = time.perf_counter()
            model.recommend(query, k)
            times.append((time.perf_counter() - t0) * 1000.0)
    arr = np.asarray(times)
    return {
        "p50_ms": float(np.percentile(arr, 50)),
        "p95_ms": float(np.percentile(arr, 95)),
        "max_ms": float(arr.max()),
        "calls": len(arr),
    }
