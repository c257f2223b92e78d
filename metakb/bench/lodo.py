"""Leave one dataset out over the sweep's design matrix: does top-1 beat the library default.

The sweep evaluated the same design on every dataset with per-fold scores, so a
method's pick for a held-out dataset is looked up, not refitted, and compared
with the library default on the same folds:

* **versus the default**: the paired per-fold difference ``d`` (pick minus
  default, oriented so higher is better) has mean ``m`` and standard error
  ``se = sd(d) / sqrt(folds)``; the pick *wins* when ``m > se``, *loses* when
  ``m < -se``, and ties otherwise;
* **improvable** datasets are those where the design's best configuration wins
  against the default by that rule: only there can a method be expected to beat
  it (the target counts strict wins, ``m > 0``, on them);
* **normalized score** ``(value - worst) / (best - worst)`` over the design and
  **best-of-k regret** ``1 - max normalized score of the first k picks``;
* a **constant model**: ROC AUC exactly 0.5 on every fold (a classifier that
  could not split);
* a **sign test** and a **Wilcoxon signed-rank test** of the picks' mean
  differences from the default over datasets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metakb.bench.metrics import normalized_score

CONSTANT_AUC = 0.5
TARGET_IMPROVABLE_WIN_RATE = 0.80
TARGET_LOSS_RATE = 0.05


@dataclass(frozen=True)
class HeldOut:
    """One dataset's design matrix.

    Attributes
    ----------
    task_id, name : str
        The task and its dataset's name.
    config_ids : tuple of str
        The design's configurations evaluated on it (failed ones left out).
    folds : numpy.ndarray
        ``(configs, folds)`` values oriented so that higher is better.
    default : int
        The row of the library default.
    auc : bool
        Whether the values are ROC AUC (a constant model is then detectable).
    """

    task_id: str
    name: str
    config_ids: tuple[str, ...]
    folds: np.ndarray
    default: int
    auc: bool = False

    @property
    def means(self) -> np.ndarray:
        """The mean over folds of every configuration."""
        return np.asarray(self.folds.mean(axis=1))

    def versus_default(self, pick: int) -> tuple[float, float]:
        """Return the paired mean difference from the default and its standard error."""
        d = self.folds[pick] - self.folds[self.default]
        se = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else 0.0
        return float(d.mean()), se

    def outcome(self, pick: int) -> str:
        """``win``, ``tie`` or ``loss`` against the default, one standard error apart."""
        mean, se = self.versus_default(pick)
        return "win" if mean > se else "loss" if mean < -se else "tie"

    @property
    def best(self) -> int:
        """The design's best configuration on this dataset."""
        return int(np.argmax(self.means))

    @property
    def improvable(self) -> bool:
        """Whether the design's best beats the default by more than its standard error."""
        return self.outcome(self.best) == "win"

    def normalized(self, pick: int) -> float:
        """Return the pick's normalized score over the design (1 = the best, 0 = the worst)."""
        means = self.means
        return float(normalized_score(means[pick], means.min(), means.max()))

    def constant(self, pick: int) -> bool:
        """Whether the pick is a constant classifier (ROC AUC 0.5 on every fold)."""
        return self.auc and bool(np.all(np.abs(self.folds[pick] - CONSTANT_AUC) < 1e-12))


def summarize_picks(
    tasks: Sequence[HeldOut], picks: Mapping[str, Sequence[int]], ks: Sequence[int] = (1, 3, 5)
) -> dict[str, Any]:
    """Return one method's figures over the held-out datasets.

    Parameters
    ----------
    tasks : sequence of HeldOut
        The held-out datasets.
    picks : mapping
        Task id -> the method's ranked rows of that task (top-1 first).
    ks : sequence of int
        The best-of-k regrets reported.
    """
    from scipy.stats import binomtest, wilcoxon

    rows = [(t, list(picks[t.task_id])) for t in tasks if picks.get(t.task_id)]
    outcomes = [t.outcome(p[0]) for t, p in rows]
    gains = np.array([t.versus_default(p[0])[0] for t, p in rows])
    improvable = [(t, p) for t, p in rows if t.improvable]
    strict = [t.versus_default(p[0])[0] > 0 for t, p in improvable]
    n = len(rows)
    nonzero = gains[gains != 0]
    up = int((nonzero > 0).sum())
    figures: dict[str, Any] = {
        "datasets": n,
        "wins": outcomes.count("win"),
        "ties": outcomes.count("tie"),
        "losses": outcomes.count("loss"),
        "loss_rate": outcomes.count("loss") / n if n else math.nan,
        "improvable": len(improvable),
        "improvable_beaten": int(sum(strict)),
        "improvable_win_rate": float(np.mean(strict)) if strict else math.nan,
        "constant_models": sum(t.constant(p[0]) for t, p in rows),
        "mean_gain": float(gains.mean()) if n else math.nan,
        "mean_normalized": float(np.mean([t.normalized(p[0]) for t, p in rows])) if n else math.nan,
        "sign_test_p": float(binomtest(up, len(nonzero)).pvalue) if len(nonzero) else math.nan,
        "wilcoxon_p": float(wilcoxon(nonzero).pvalue) if len(nonzero) >= 2 else math.nan,
    }
    for k in ks:
        figures[f"regret@{k}"] = (
            float(np.mean([1.0 - max(t.normalized(i) for i in p[:k]) for t, p in rows]))
            if n
            else math.nan
        )
    figures["meets_targets"] = bool(
        n
        and figures["improvable_win_rate"] >= TARGET_IMPROVABLE_WIN_RATE
        and figures["loss_rate"] <= TARGET_LOSS_RATE
        and figures["constant_models"] == 0
    )
    return figures
