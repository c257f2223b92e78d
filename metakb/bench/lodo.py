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
* the **relative gain** ``m / |default's score|`` (RMSEs share no scale);
* **normalized score** ``(value - worst) / (best - worst)`` over the design and
  **best-of-k regret** ``1 - max normalized score of the first k picks``;
* a **constant model**: ROC AUC exactly 0.5 on every fold (a classifier that
  could not split);
* a **sign test** and a **Wilcoxon signed-rank test** of the picks' mean
  differences from the default over datasets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from metakb.bench.metrics import normalized_score
from metakb.configs import config_id
from metakb.models import (
    WARM_STARTERS,
    DefaultAwareWarmStarter,
    MetaDataset,
    TaskQuery,
    select_over_default,
)
from metakb.spaces import Algorithm
from metakb.sweep import fold_values

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
    # Relative to the default's score: RMSEs of different tables share no scale.
    relative = [g / abs(float(t.means[t.default])) for g, (t, _) in zip(gains, rows, strict=True)]
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
        "mean_relative_gain": float(np.mean([r for r in relative if math.isfinite(r)]))
        if n
        else math.nan,
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


def noise_floor(tasks: Sequence[HeldOut]) -> dict[str, Any]:
    """Return how often a pick loses by more than one standard error from noise alone.

    ``chance``: the probability that the mean of ``folds`` paired differences
    with expectation zero falls below minus its standard error (Student's t
    with ``folds - 1`` degrees of freedom, normal differences): a pick exactly
    as good as the default on average "loses" this often. ``fixed``: every
    design configuration's share of the datasets where it loses, the lowest
    of them and its id (a description of the sweep, not a method: it is
    chosen with every dataset seen).
    """
    from scipy.stats import t as student

    folds = sorted({t.folds.shape[1] for t in tasks})
    common = sorted(set.intersection(*(set(t.config_ids) for t in tasks))) if tasks else []
    rates = {
        cid: float(np.mean([t.outcome(t.config_ids.index(cid)) == "loss" for t in tasks]))
        for cid in common
        if any(cid != t.config_ids[t.default] for t in tasks)
    }
    lowest = min(rates, key=rates.__getitem__) if rates else None
    return {
        "folds": folds,
        "chance": float(student.cdf(-1.0, folds[0] - 1)) if len(folds) == 1 else math.nan,
        "fixed_min_loss_rate": rates[lowest] if lowest else math.nan,
        "fixed_min_config": lowest,
        "fixed_median_loss_rate": float(np.median(list(rates.values()))) if rates else math.nan,
    }


BASELINES: tuple[str, ...] = ("library_default", "oracle")
"""Reference picks: always the library default, and the design's best on the dataset."""

Progress = Callable[[str, int, int], None]


def held_out_tasks(results: pd.DataFrame, algorithm: Algorithm) -> list[HeldOut]:
    """Return every task's design matrix from a sweep's per-fold results.

    Parameters
    ----------
    results : pandas.DataFrame
        :meth:`metakb.KnowledgeBase.fold_results` of one algorithm and task type.
    algorithm : Algorithm
        The algorithm swept (its library default is the reference).

    Tasks without a successful library-default evaluation are left out (the
    comparison needs it); failed configurations are left out of a task's rows.
    """
    flow_id = algorithm.space.flow_ids[0]
    default = config_id(flow_id, algorithm.space.to_flow_params(algorithm.library_config()))
    tasks = []
    for task_id, group in results.groupby("task_id", sort=True):
        ok = group[group["value"].notna() & group["fold_values"].notna()]
        folds = [fold_values(v) for v in ok["fold_values"]]
        if default not in set(ok["config_id"]) or len({len(f) for f in folds}) != 1:
            continue
        sign = -1.0 if ok["direction"].iloc[0] == "min" else 1.0
        ids = tuple(str(c) for c in ok["config_id"])
        tasks.append(
            HeldOut(
                task_id=str(task_id),
                name=str(ok["name"].iloc[0]),
                config_ids=ids,
                folds=sign * np.asarray(folds, dtype=float),
                default=ids.index(default),
                auc=ok["metric"].iloc[0] == "area_under_roc_curve",
            )
        )
    return tasks


DEFAULT_AWARE = "+default"
"""Suffix of a method whose picks are weighed against the library default
(:func:`~metakb.models.select_over_default`, as ``metakb recommend`` does)."""


def parse_method(method: str) -> tuple[str, float | None]:
    """Return ``(warm starter, margin)`` of a method name (margin None: the model's own picks).

    ``method`` is a key of ``WARM_STARTERS``, or one followed by ``+default``
    (weighed against the library default with margin 1, as ``metakb recommend``
    does) or ``+default@M`` (margin ``M``: a pick leads when its predicted gain
    exceeds ``M`` times its spread).
    """
    base, aware, rest = method.partition(DEFAULT_AWARE)
    if base not in WARM_STARTERS or (rest and not rest.startswith("@")):
        raise ValueError(f"unknown method {method!r}")
    if not aware:
        return base, None
    return base, float(rest.removeprefix("@")) if rest else 1.0


def run_lodo(
    data: MetaDataset,
    tasks: Sequence[HeldOut],
    algorithm: Algorithm,
    methods: Sequence[str],
    *,
    k: int = 5,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Hold each dataset out, fit every method on the rest, and score its picks.

    Parameters
    ----------
    data : MetaDataset
        Everything the methods may learn from (published runs and the sweep);
        a held-out task's whole dataset group is removed before fitting.
    tasks : sequence of HeldOut
        The sweep's datasets to hold out in turn (tasks of ``data``).
    algorithm : Algorithm
        The algorithm (to map recommended configurations to design rows).
    methods : sequence of str
        Method names (:func:`parse_method`); each warm starter is fitted once
        per held-out dataset and shared by its margins.
    k : int
        Picks asked of every method.
    seed : int
        Seed of the methods.
    progress : callable, optional
        ``progress(description, done, total)``.

    Returns
    -------
    dict
        ``{"methods": {method: summarize_picks(...)}, "picks": {method: {task: rows}}}``.
    """
    flow_id = algorithm.space.flow_ids[0]
    default = algorithm.library_config()
    index = {t: i for i, t in enumerate(data.task_ids)}
    held = [t for t in tasks if t.task_id in index]
    picks: dict[str, dict[str, list[int]]] = {m: {} for m in (*BASELINES, *methods)}
    for done, task in enumerate(held, start=1):
        train, own = data.split_out(task.task_id)
        values = data.meta_features[index[task.task_id]]
        row_of = {cid: i for i, cid in enumerate(task.config_ids)}
        configs_of = {
            row_of[cid]: config
            for cid, config in zip(own.config_ids, own.configs, strict=True)
            if cid in row_of
        }
        query = TaskQuery(
            meta_features={
                n: float(v)
                for n, v in zip(data.meta_feature_names, values, strict=True)
                if math.isfinite(v)
            },
            candidates=tuple(configs_of[i] for i in sorted(configs_of)),
            task_id=task.task_id,
        )
        order = np.argsort(-task.means)
        picks["library_default"][task.task_id] = [task.default]
        picks["oracle"][task.task_id] = [int(i) for i in order[:k]]
        fitted: dict[str, Any] = {}
        for method in methods:
            base, margin = parse_method(method)
            if base not in fitted:
                fitted[base] = WARM_STARTERS[base](seed=seed).fit(train)
            model = fitted[base]
            if margin is None or not isinstance(model, DefaultAwareWarmStarter):
                recs = model.recommend(query, k)
            else:
                recs = select_over_default(
                    model, query, k, default=default, space=algorithm.space, margin=margin
                )
            rows = [
                row_of.get(config_id(flow_id, algorithm.space.to_flow_params(r.config)))
                for r in recs
            ]
            picks[method][task.task_id] = [r for r in rows if r is not None]
        if progress is not None:
            progress("leave one dataset out", done, len(held))
    return {
        "datasets": [t.name for t in held],
        "noise_floor": noise_floor(held),
        "methods": {m: summarize_picks(held, p) for m, p in picks.items()},
        "picks": picks,
    }


TITLE = "Leave one dataset out: top-1 against the library default on the sweep's tables"

_COLUMNS = (
    ("datasets", "datasets", "{}"),
    ("wins", "wins", "{}"),
    ("ties", "ties", "{}"),
    ("losses", "losses", "{}"),
    ("improvable", "improvable", "{}"),
    ("improvable_win_rate", "beats default where improvable", "{:.2f}"),
    ("loss_rate", "loses by > 1 SE", "{:.2f}"),
    ("constant_models", "constant models", "{}"),
    ("mean_relative_gain", "mean relative gain", "{:+.4f}"),
    ("mean_normalized", "mean normalized", "{:.3f}"),
    ("regret@1", "regret@1", "{:.3f}"),
    ("regret@3", "regret@3", "{:.3f}"),
    ("regret@5", "regret@5", "{:.3f}"),
    ("sign_test_p", "sign test p", "{:.3g}"),
    ("wilcoxon_p", "Wilcoxon p", "{:.3g}"),
    ("meets_targets", "targets met", "{}"),
)


def _cell(value: Any, fmt: str) -> str:
    if isinstance(value, bool):
        return "yes" if value else "NO"
    if isinstance(value, float) and not math.isfinite(value):
        return "-"
    return fmt.format(value)


def render_markdown(report: Mapping[str, Any]) -> str:
    """Return the page's generated part: the command, and one table per algorithm and task type."""
    lines = [f"Produced by: `{report['command']}` ({report['load']})."]
    header = "| method | " + " | ".join(title for _, title, _ in _COLUMNS) + " |"
    rule = "|---" * (len(_COLUMNS) + 1) + "|"
    for table in report["tables"]:
        lines += [
            "",
            f"## {table['algorithm']}, {table['task_type']} ({table['meta_dataset']})",
            "",
            f"Held out in turn: {len(table['datasets'])} swept datasets; the models learn "
            f"from {table['training_tasks']} tasks (published runs and the sweep), minus the "
            "held-out dataset's group.",
            *_floor_lines(table.get("noise_floor")),
            "",
            header,
            rule,
        ]
        for method, figures in table["methods"].items():
            cells = [_cell(figures[key], fmt) for key, _, fmt in _COLUMNS]
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _floor_lines(floor: Mapping[str, Any] | None) -> list[str]:
    if not floor or not floor.get("fixed_min_config"):
        return []
    return [
        "",
        f"Noise floor: a pick exactly as good as the default on average loses by more than one "
        f"SE on {floor['chance']:.0%} of datasets by chance ({floor['folds'][0]} folds, "
        f"Student's t); every single design configuration loses on at least "
        f"{floor['fixed_min_loss_rate']:.0%} of them (median "
        f"{floor['fixed_median_loss_rate']:.0%}; lowest: `{floor['fixed_min_config'][:12]}`).",
    ]


def plot_report(report: Mapping[str, Any], path: Any) -> None:
    """Draw each table's win/tie/loss against the default per method (needs matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = report["tables"]
    fig, axes = plt.subplots(1, len(tables), figsize=(6 * len(tables), 4), squeeze=False)
    for ax, table in zip(axes[0], tables, strict=True):
        methods = list(table["methods"])
        bottom = np.zeros(len(methods))
        for key, colour in (("wins", "tab:green"), ("ties", "tab:gray"), ("losses", "tab:red")):
            values = np.array([table["methods"][m][key] for m in methods], dtype=float)
            ax.barh(methods, values, left=bottom, color=colour, label=key)
            bottom += values
        ax.set_title(f"{table['algorithm']}, {table['task_type']}: top-1 vs library default")
        ax.set_xlabel("datasets")
        ax.invert_yaxis()
    axes[0][0].legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
