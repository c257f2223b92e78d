"""The main job: build a knowledge base from the best source available and summarize it.

Sources, best first: the live OpenML server (a small slice of OpenML100 runs)
when it answers a quick check, else the published data folder
(``$METAKB_DATA``). The result says which one was used and why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metakb.errors import DataSourceError
from metakb.sources.published import Progress, import_published, resolve_data_dir
from metakb.store import Store, get_stats

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
    data_dir: str | Path | None = None,
    *,
    openml_server: str | None = None,
    use_openml: bool = True,
    progress: Progress | None = None,
) -> QuickstartResult:
    """Build (or top up) the knowledge base from the best source available.

    Parameters
    ----------
    store : Store
        The knowledge base.
    data_dir : str or Path, optional
        The published data folder; defaults to ``$METAKB_DATA``.
    openml_server : str, optional
        The OpenML API URL; defaults to ``$METAKB_OPENML_SERVER`` or openml.org.
    use_openml : bool
        Whether to try OpenML at all.
    progress : callable, optional
        ``progress(description, done, total)``.

    Returns
    -------
    QuickstartResult
        The source used (``"openml"`` or ``"published"``), why, and the knowledge base's size.

    Raises
    ------
    DataSourceError
        When no source is available.
    """
    # Imported here: openml-python takes seconds to import and is only needed now.
    from metakb.sources.openml import ingest_openml_quickstart, openml_reachable, resolve_server

    openml_note = "OpenML not tried"
    if use_openml:
        server = resolve_server(openml_server)
        if openml_reachable(server):
            try:
                summary = ingest_openml_quickstart(store, server=server, progress=progress)
            except DataSourceError as exc:
                openml_note = f"OpenML failed ({exc})"
                log.warning("%s; falling back to the published data", openml_note)
            else:
                return _result(store, "openml", server, summary.added())
        else:
            openml_note = f"OpenML unreachable at {server}"
    try:
        root = resolve_data_dir(data_dir)
    except DataSourceError as exc:
        raise DataSourceError(
            f"no source to build the knowledge base from: {openml_note}, and {exc}. Set "
            "METAKB_DATA to the published data folder (e.g. ../shared/data) or pass --data-dir"
        ) from exc
    summary = import_published(store, root, progress=progress)
    return _result(store, "published", f"{root}; {openml_note}", summary.added())


def _result(store: Store, source: str, detail: str, added: dict[str, int]) -> QuickstartResult:
    with store.read() as con:
        stats = get_stats(con)
    return QuickstartResult(source=source, detail=detail, added=added, stats=stats)
