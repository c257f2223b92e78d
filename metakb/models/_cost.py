"""How long a configuration takes to fit, relative to the library default, from stored fit times.

A recommendation that scores a little better but fits twenty times longer
than the defaults is a different offer from one that costs the same; this
says which, from the fit times the knowledge base holds (TabRepo's training
times, metakb's own sweeps and searches).

Two estimates, the first that has data:

1. **measured**: the median, over the past tasks where both were fitted, of
   the configuration's fit time divided by the default's;
2. **modelled**: a log-linear model of fit time on the configuration's
   encoding with one intercept per task, ``log t = a_task + b . x(config)``,
   fitted on every task with two or more timed configurations, so that tasks
   on which the default was never fitted (TabRepo's) still inform it; the
   ratio is ``exp(b . (x(config) - x(default)))``. Per-task intercepts absorb
   each task's size and machine, so only relative times are learned.

Neither: the cost is unknown (None), never a guess.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from metakb.configs import canonical_json
from metakb.spaces import Params, SearchSpace

# Ridge penalty of the modelled estimate, on encoded [0, 1] features: keeps the
# fit defined when a hyperparameter never varies in the timed configurations.
_RIDGE = 1e-3


@dataclass(frozen=True)
class RelativeCost:
    """A configuration's predicted fit time as a multiple of the library default's.

    Attributes
    ----------
    value : float or None
        Fit time / the default's fit time; None when the knowledge base has
        no fit times to tell.
    basis : str
        Where it comes from: ``"the default"``, ``"measured on 12 tasks"``,
        ``"modelled from 2,300 fits on 93 tasks"`` or ``"unknown: ..."``.
    """

    value: float | None
    basis: str


class FitCostModel:
    """Relative fit times of a space's configurations, learned from stored fit times.

    Parameters
    ----------
    space : SearchSpace
        The configurations' space.
    default : mapping
        The configuration costs are relative to (the library default).
    min_fits : int
        The modelled estimate needs at least this many timed fits (beyond one
        per task) per encoded dimension; fewer: only measured ratios are used.
    """

    def __init__(self, space: SearchSpace, default: Mapping[str, object], min_fits: int = 3):
        self.space = space
        self.default = space.validate(default)
        self.min_fits = min_fits

    def fit(self, times: pd.DataFrame) -> FitCostModel:
        """Learn from ``times``: task_id, params (canonical JSON or dict), runtime_s.

        Rows whose parameters are not a configuration of the space, or whose
        runtime is not a positive number, are left out.
        """
        keys, configs = _configs(self.space, times["params"])
        runtime = pd.to_numeric(times["runtime_s"], errors="coerce").to_numpy(float)
        keep = np.array([k is not None for k in keys], dtype=bool)
        keep &= np.isfinite(runtime) & (runtime > 0)
        frame = pd.DataFrame(
            {
                "task": times["task_id"].to_numpy()[keep],
                "key": [k for k, ok in zip(keys, keep, strict=True) if ok],
                "log_t": np.log(runtime[keep]),
            }
        )
        frame = frame.groupby(["task", "key"], as_index=False).agg(log_t=("log_t", "median"))
        self.default_key_ = canonical_json(self.default)
        self.configs_: dict[str, Params] = {k: c for k, c in configs.items() if k is not None}
        self.measured_ = _measured(frame, self.default_key_)
        self.coef_, self.n_fits_, self.n_tasks_ = self._model(frame)
        return self

    def relative_cost(self, config: Mapping[str, object]) -> RelativeCost:
        """Return ``config``'s predicted fit time relative to the default's."""
        key = canonical_json(self.space.validate(config))
        if key == self.default_key_:
            return RelativeCost(1.0, "the default")
        ratios = self.measured_.get(key)
        if ratios is not None:
            n = len(ratios)
            return RelativeCost(float(np.exp(np.median(ratios))), _tasks("measured on", n))
        if self.coef_ is None:
            return RelativeCost(None, "unknown: too few stored fit times")
        delta = self.space.encode(config) - self.space.encode(self.default)
        value = float(np.exp(np.clip(delta @ self.coef_, -50.0, 50.0)))
        return RelativeCost(
            value, f"modelled from {self.n_fits_:,} fits on {_tasks('', self.n_tasks_).strip()}"
        )

    def _model(self, frame: pd.DataFrame) -> tuple[np.ndarray | None, int, int]:
        # Within-task centring is the one-intercept-per-task regression's solution for b.
        counts = frame.groupby("task")["key"].transform("size")
        used = frame[counts >= 2]
        n_tasks = int(used["task"].nunique())
        dims = self.space.n_dims
        if len(used) - n_tasks < self.min_fits * dims:
            return None, 0, 0
        x = self.space.encode_many([self.configs_[k] for k in used["key"]], validated=True)
        y = used["log_t"].to_numpy(float)
        groups = used["task"].to_numpy()
        xc = x - pd.DataFrame(x).groupby(groups).transform("mean").to_numpy()
        yc = y - pd.Series(y).groupby(groups).transform("mean").to_numpy()
        coef = np.linalg.solve(xc.T @ xc + _RIDGE * len(y) * np.eye(dims), xc.T @ yc)
        return coef, len(used), n_tasks


def _configs(space: SearchSpace, params: pd.Series) -> tuple[list[str | None], dict[str, Params]]:
    """Return each row's canonical key (None: not in the space) and the configurations by key."""
    by_text: dict[str, str | None] = {}
    configs: dict[str, Params] = {}
    keys: list[str | None] = []
    for raw in params:
        text = raw if isinstance(raw, str) else json.dumps(raw, sort_keys=True)
        if text not in by_text:
            try:
                config = space.validate(json.loads(text))
            except (ValueError, TypeError):
                by_text[text] = None
            else:
                key = canonical_json(config)
                configs[key] = config
                by_text[text] = key
        keys.append(by_text[text])
    return keys, configs


def _measured(frame: pd.DataFrame, default_key: str) -> dict[str, np.ndarray]:
    """Return ``{key: log(t / t_default) on every task where both were timed}``."""
    default = frame[frame["key"] == default_key].set_index("task")["log_t"]
    both = frame[frame["task"].isin(default.index) & (frame["key"] != default_key)]
    ratios = both["log_t"].to_numpy() - default.loc[both["task"]].to_numpy()
    return {
        str(key): ratios[np.asarray(index)]
        for key, index in both.reset_index(drop=True).groupby("key").indices.items()
    }


def _tasks(prefix: str, n: int) -> str:
    return f"{prefix} {n:,} task{'' if n == 1 else 's'}"
