"""A tiny synthetic MetaDataset with a known structure, for tests and smoke benchmarks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from metakb.models._metadataset import MetaDataset, build_meta_dataset
from metakb.spaces import SPACES


def synthetic_meta_dataset(
    n_tasks: int = 12,
    n_configs: int = 30,
    *,
    shared: bool = True,
    space: str = "lightgbm",
    seed: int = 0,
) -> MetaDataset:
    """Return tasks whose best region in the space depends smoothly on two meta-features.

    Each task has a hidden optimum ``c`` in the encoded space, a function of its
    meta-features ``f1``, ``f2``; a configuration's value is ``-|x - c|^2`` plus
    noise, so similar tasks prefer similar configurations. Two consecutive tasks
    share a dataset (``openml_dataset_id``) to exercise grouping.

    Parameters
    ----------
    n_tasks, n_configs : int
        Table size.
    shared : bool
        Whether all tasks evaluate the same configurations (else sampled per task).
    space : str
        The search space.
    seed : int
        Seed of everything random.
    """
    rng = np.random.default_rng(seed)
    sp = SPACES[space]
    f = rng.uniform(-1, 1, size=(n_tasks, 2))
    common = sp.sample(n_configs, seed=seed)
    evaluations, tasks, metas = [], [], []
    for t in range(n_tasks):
        configs = common if shared else sp.sample(n_configs, seed=seed + 1000 + t)
        x = sp.encode_many(configs, validated=True)
        centre = 0.5 + 0.35 * np.tanh(f[t, 0] + np.linspace(-1, 1, sp.n_dims) * f[t, 1])
        values = -((x - centre) ** 2).sum(axis=1) + rng.normal(scale=0.01, size=len(configs))
        tid = f"synthetic:{t}"
        evaluations += [
            {"task_id": tid, "params": c, "value": float(v)}
            for c, v in zip(configs, values, strict=True)
        ]
        tasks.append({"task_id": tid, "dataset_id": f"d:{t}", "openml_dataset_id": t // 2})
        metas += [
            {"dataset_id": f"d:{t}", "name": "f1", "value": f[t, 0]},
            {"dataset_id": f"d:{t}", "name": "f2", "value": f[t, 1]},
            {"dataset_id": f"d:{t}", "name": "NumberOfInstances", "value": 100.0 * (t + 1)},
        ]
    return build_meta_dataset(
        pd.DataFrame(evaluations),
        pd.DataFrame(tasks),
        pd.DataFrame(metas),
        space=sp,
        flow_id=sp.flow_ids[0],
        metric="synthetic_score",
        direction="max",
    )
