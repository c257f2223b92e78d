"""``KnowledgeBase.sweep``: where a sweep's tables come from, its design, and resuming.

The sweep itself (:mod:`metakb.sweep`) evaluates and writes; this module turns
the user's ``--datasets`` into table files (a folder, scikit-learn's bundled
datasets written beside the knowledge base, or the knowledge base's own
datasets with files), takes the design's published configurations from the
knowledge base, and refuses to silently extend an earlier sweep without
``--resume``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from metakb.errors import MetakbError
from metakb.kb._layout import Layout
from metakb.spaces import get_algorithm
from metakb.store import Store, has_provenance, list_dataset_files, list_flow_configs
from metakb.sweep import (
    DESIGNS,
    DatasetRef,
    Progress,
    SweepReport,
    SweepSettings,
    build_design,
    folder_refs,
    run_sweep,
)

SKLEARN = "sklearn"
"""``--datasets sklearn``: scikit-learn's bundled datasets."""
KB = "kb"
"""``--datasets kb``: the knowledge base's datasets that have a local file."""

SKLEARN_DATASETS = ("iris", "wine", "breast_cancer", "digits", "synthetic", "diabetes")


def dataset_refs(spec: str, store: Store, layout: Layout) -> list[DatasetRef]:
    """Return the tables named by ``--datasets``: a folder, ``sklearn`` or ``kb``.

    Raises
    ------
    MetakbError
        No such folder, or no tables.
    """
    from metakb.kb._quickstart import example_table

    if spec == SKLEARN:
        return [DatasetRef(name, example_table(layout.examples, name)) for name in SKLEARN_DATASETS]
    if spec == KB:
        with store.read() as con:
            files = list_dataset_files(con)
        refs = [
            DatasetRef(
                str(row.name), Path(str(row.file_path)), _text(row.target), _text(row.task_type)
            )
            for row in files.drop_duplicates("file_path").itertuples()
            if Path(str(row.file_path)).is_file()
        ]
        if not refs:
            raise MetakbError(f"{store.path}: no datasets with a local file to sweep")
        return refs
    return folder_refs(spec)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def sweep(
    store: Store,
    layout: Layout,
    datasets: str,
    settings: SweepSettings,
    *,
    resume: bool = False,
    exclude: Sequence[str] = (),
    task_type: str | None = None,
    progress: Progress | None = None,
) -> SweepReport:
    """Run (or resume) a sweep; see :meth:`metakb.KnowledgeBase.sweep`."""
    algorithm = get_algorithm(settings.algorithm)
    if settings.design not in DESIGNS:
        raise MetakbError(
            f"unknown design {settings.design!r}; known: {', '.join(sorted(DESIGNS))}"
        )
    if task_type not in (None, "classification", "regression"):
        raise MetakbError(f"--task-type takes classification or regression, not {task_type!r}")
    with store.write():  # creates the knowledge base on first use
        pass
    refs = dataset_refs(datasets, store, layout)
    with store.read() as con:
        published = list_flow_configs(
            con, algorithm.space.flow_ids, limit=DESIGNS[settings.design].n_published
        )
        if not resume and has_provenance(con, settings.provenance):
            raise MetakbError(
                f"{store.path} already holds evaluations of {settings.provenance}; "
                "pass --resume to continue that sweep"
            )
    points = build_design(
        algorithm,
        settings.design,
        published=[algorithm.space.validate(json.loads(p)) for p in published],
        seed=settings.seed,
    )
    return run_sweep(
        store, refs, points, settings, exclude=exclude, task_type=task_type, progress=progress
    )
