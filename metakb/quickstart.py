"""The main job: build a knowledge base from the best source available and summarize it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metakb.errors import DataSourceError
from metakb.sources.published import Progress, import_published, resolve_data_dir
from metakb.store import Store, get_stats


@dataclass(frozen=True)
class QuickstartResult:
    """Which source built the knowledge base, what was added, and its size after."""

    source: str
    detail: str
    added: dict[str, int]
    stats: dict[str, Any]


def run_quickstart(
    store: Store, data_dir: str | Path | None = None, *, progress: Progress | None = None
) -> QuickstartResult:
    """Build (or top up) the knowledge base from the best source available.

    Parameters
    ----------
    store : Store
        The knowledge base.
    data_dir : str or Path, optional
        The published data folder; defaults to ``$METAKB_DATA``.
    progress : callable, optional
        ``progress(description, done, total)``.

    Returns
    -------
    QuickstartResult
        The source used and the knowledge base's size.

    Raises
    ------
    DataSourceError
        When no source is available.
    """
    try:
        root = resolve_data_dir(data_dir)
    except DataSourceError as exc:
        raise DataSourceError(
            f"no source to build the knowledge base from: {exc}. Set METAKB_DATA to the "
            "published data folder (e.g. ../shared/data) or pass --data-dir"
        ) from exc
    summary = import_published(store, root, progress=progress)
    with store.read() as con:
        stats = get_stats(con)
    return QuickstartResult(
        source="published", detail=str(root), added=summary.added(), stats=stats
    )
