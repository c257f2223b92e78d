"""The main job: build a knowledge base from the best source available and summarize it.

Sources, best first: the live OpenML server (a small slice of OpenML100 runs)
when it answers a quick check, else the published data folder
(``$METAKB_DATA``), else the meta-dataset metakb ships (its own sweep's
results, :mod:`metakb.sources.shipped`), else (``local_fallback``) metakb's own
evaluations of a fixed set of configurations on datasets scikit-learn ships.
The shipped meta-dataset, when there is one, is imported after OpenML's or the
published runs too. The result says which source was used and why.
:func:`compare_searches` then runs a short warm-started search next to a cold
one on a bundled example.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from metakb.datasets import kb_dataset_id, load_table
from metakb.errors import DataSourceError
from metakb.kb._layout import Layout
from metakb.search import DEFAULT_OPTIMIZER
from metakb.sources.published import Progress, import_published, resolve_data_dir
from metakb.sources.shipped import SOURCE as SHIPPED
from metakb.sources.shipped import find_metadataset, import_metadataset
from metakb.spaces import get_space
from metakb.store import Store, get_stats

if TYPE_CHECKING:
    from metakb.kb._facade import KnowledgeBase

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class QuickstartResult:
    """Which source built the knowledge base, what was added, and its size after."""

    source: str
    detail: str
    added: dict[str, int]
    stats: dict[str, Any]


def run_quickstart(
    store: Store,
    layout: Layout,
    data_dir: str | Path | None = None,
    *,
    openml_server: str | None = None,
    use_openml: bool = True,
    local_fallback: bool = False,
    metadataset_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> QuickstartResult:
    """Build (or top up) the knowledge base from the best source available.

    Parameters
    ----------
    store : Store
        The knowledge base.
    layout : Layout
        Its folders (the examples of the local fallback go there).
    data_dir : str or Path, optional
        The published data folder; defaults to ``$METAKB_DATA``.
    openml_server : str, optional
        The OpenML API URL; defaults to ``$METAKB_OPENML_SERVER`` or openml.org.
    use_openml : bool
        Whether to try OpenML at all.
    local_fallback : bool
        When neither OpenML, a data folder nor a shipped meta-dataset is
        available, build the knowledge base with :func:`build_local_knowledge_base`
        instead of failing.
    metadataset_dir : str or Path, optional
        The meta-dataset folder; defaults to the shipped one
        (:func:`~metakb.sources.shipped.shipped_metadataset_path`). A folder
        without a manifest counts as absent.
    progress : callable, optional
        ``progress(description, done, total)``.

    Returns
    -------
    QuickstartResult
        The source used (``"openml"``, ``"published"``, ``"metadataset"`` or
        ``"local"``), why, and the knowledge base's size.

    Raises
    ------
    DataSourceError
        When no source is available (and ``local_fallback`` is off), or the
        shipped meta-dataset is corrupt.
    """
    # Imported here: openml-python takes seconds to import and is only needed now.
    from metakb.sources.openml import ingest_openml_quickstart, openml_reachable, resolve_server

    shipped = find_metadataset(metadataset_dir)
    openml_note = "OpenML not tried"
    if use_openml:
        server = resolve_server(openml_server)
        if openml_reachable(server):
            try:
                pulled = ingest_openml_quickstart(
                    store, cache_dir=layout.openml_cache, server=server, progress=progress
                )
            except DataSourceError as exc:
                openml_note = f"OpenML failed ({exc})"
                log.warning("%s; falling back to the published data", openml_note)
            else:
                added, note = _with_shipped(store, shipped, pulled.added(), progress)
                return _result(store, "openml", f"{server}{note}", added)
        else:
            openml_note = f"OpenML unreachable at {server}"
    try:
        root = resolve_data_dir(data_dir)
    except DataSourceError as exc:
        if shipped is not None:
            added, _ = _with_shipped(store, shipped, {}, progress)
            return _result(store, SHIPPED, f"{shipped}; {openml_note}; {exc}", added)
        if local_fallback:
            log.warning("%s and %s; evaluating on scikit-learn's datasets", openml_note, exc)
            added = build_local_knowledge_base(store, layout, progress=progress)
            return _result(store, "local", f"scikit-learn datasets; {openml_note}; {exc}", added)
        raise DataSourceError(
            f"no source to build the knowledge base from: {openml_note}, {exc}, and no "
            "shipped meta-dataset. Set METAKB_DATA to the published data folder "
            "(e.g. ../shared/data) or pass --data-dir"
        ) from exc
    summary = import_published(store, root, progress=progress)
    added, note = _with_shipped(store, shipped, summary.added(), progress)
    return _result(store, "published", f"{root}{note}; {openml_note}", added)


def _with_shipped(
    store: Store, shipped: Path | None, added: dict[str, int], progress: Progress | None
) -> tuple[dict[str, int], str]:
    """Import the shipped meta-dataset if there is one; return the rows added in all and a note."""
    if shipped is None:
        return added, ""
    summary = import_metadataset(store, shipped, progress=progress)
    total = dict(added)
    for table, n in summary.added().items():
        total[table] = total.get(table, 0) + n
    return total, f" + meta-dataset {shipped}"


def _result(store: Store, source: str, detail: str, added: dict[str, int]) -> QuickstartResult:
    with store.read() as con:
        stats = get_stats(con)
    return QuickstartResult(source=source, detail=detail, added=added, stats=stats)


# Datasets scikit-learn ships that the local knowledge base is built from. The
# example the searches run on (breast_cancer) is not among them, so its warm
# start comes from other tasks, as it would for a user's table.
LOCAL_DATASETS = ("iris", "wine", "digits", "synthetic")
EXAMPLE = "breast_cancer"


def example_table(folder: str | Path, name: str, *, seed: int = 0) -> Path:
    """Write one of scikit-learn's datasets as ``<folder>/<name>.csv`` (column ``target``).

    ``digits`` is subsampled to 360 rows and ``synthetic`` is a 300-row
    ``make_classification`` table, to keep evaluations quick. Writing is
    deterministic, so the file's content hash (its knowledge-base key) is stable.
    """
    from sklearn import datasets as sk

    loaders: dict[str, Callable[[], pd.DataFrame]] = {
        "iris": lambda: sk.load_iris(as_frame=True).frame,
        "wine": lambda: sk.load_wine(as_frame=True).frame,
        "breast_cancer": lambda: sk.load_breast_cancer(as_frame=True).frame,
        "digits": lambda: sk.load_digits(as_frame=True).frame.sample(360, random_state=seed),
        "synthetic": lambda: _synthetic(seed),
        "diabetes": lambda: sk.load_diabetes(as_frame=True).frame,  # regression
    }
    if name not in loaders:
        raise ValueError(f"unknown example {name!r}; known: {sorted(loaders)}")
    path = Path(folder) / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = loaders[name]()
    text = frame.to_csv(index=False, float_format="%.10g")
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


def _synthetic(seed: int) -> pd.DataFrame:
    from sklearn.datasets import make_classification

    x, y = make_classification(300, 12, n_informative=6, n_classes=3, random_state=seed)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    frame["target"] = y
    return frame


def build_local_knowledge_base(
    store: Store,
    layout: Layout,
    *,
    algorithms: Sequence[str] = ("random_forest",),
    datasets: Sequence[str] = LOCAL_DATASETS,
    n_configs: int = 20,
    n_splits: int = 3,
    seed: int = 0,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Evaluate a fixed set of configurations on scikit-learn's datasets and store them.

    Each algorithm's ``n_configs`` configurations are drawn from its space with
    ``seed`` (the same on every dataset, as the OpenML100 runs share settings
    across tasks), cross-validated on each dataset, and written as source
    ``local`` with the datasets' meta-features, through the same write path
    as ``metakb search`` (provenance ``quickstart:<seed>``). Reruns add nothing.

    Returns
    -------
    dict
        Rows added: ``{"evaluations": n}``.
    """
    from metakb.metafeatures import extract_table
    from metakb.metafeatures import result_rows as meta_feature_rows
    from metakb.search import CVObjective, SpaceEstimators, TrialRecord
    from metakb.sources.local import register_table, write_trials

    folder = layout.examples
    total = len(algorithms) * len(datasets) * n_configs
    report = progress or (lambda description, done, total: None)
    done = added = 0
    for name in datasets:
        table = load_table(example_table(folder, name, seed=seed), "target")
        features = meta_feature_rows(kb_dataset_id(table), extract_table(table, seed=seed))
        for algorithm in algorithms:
            space = get_space(algorithm)
            _, task_id = register_table(store, table, features, space, "accuracy")
            objective = CVObjective(
                table.X,
                table.y,
                SpaceEstimators(space.name, table.task_type, seed),
                task_type="classification",
                n_splits=n_splits,
                seed=seed,
            )
            records = []
            for i, config in enumerate(space.sample(n_configs, seed=seed)):
                outcome = objective(config)
                records.append(
                    TrialRecord(i, config, 1.0, outcome.score, outcome.seconds, outcome.status)
                )
                done += 1
                report("evaluating on scikit-learn datasets", done, total)
            added += write_trials(
                store,
                records,
                space=space,
                task_id=task_id,
                metric="accuracy",
                provenance=f"quickstart:{seed}",
            )
    return {"evaluations": added}


@dataclass(frozen=True)
class SearchComparison:
    """A warm-started and a cold search on the same example: best-so-far per trial."""

    example: str
    algorithm: str
    method: str
    warm_start: str
    warm: list[float | None]
    cold: list[float | None]


def compare_searches(
    kb: KnowledgeBase,
    *,
    # Not the library's defaults: every source quickstart builds from has RandomForest
    # runs (the OpenML slice and the local fallback have nothing else), and knn needs
    # no `metakb train` (it is fitted in a second on the fly).
    algorithm: str = "random_forest",
    budget: int = 10,
    method: str = DEFAULT_OPTIMIZER,
    warm_start: str = "knn",
    seed: int = 0,
    n_splits: int = 3,
    example: str | Path = EXAMPLE,
) -> SearchComparison:
    """Run a warm-started and a cold search on an example table; return both curves.

    Parameters
    ----------
    kb : KnowledgeBase
        The knowledge base (trials are written back to it; the example table
        goes into its folder).
    algorithm, budget, method, warm_start, seed, n_splits
        As for :meth:`metakb.kb.KnowledgeBase.search`.
    example : str or Path
        A scikit-learn dataset name for :func:`example_table`, or a table file
        with a ``target`` column.
    """
    from metakb.kb._search import NO_WARM_START

    path = Path(example)
    if not path.is_file():
        path = example_table(kb.layout.examples, str(example), seed=seed)
    warm, cold = (
        kb.search(
            path,
            target="target",
            algorithm=algorithm,
            budget=budget,
            method=method,
            warm_start=starter,
            seed=seed,
            n_splits=n_splits,
            new=True,  # a demo: a second quickstart runs it again
        ).best_curve()
        for starter in (warm_start, NO_WARM_START)
    )
    return SearchComparison(path.stem, algorithm, method, warm_start, warm, cold)
