"""What every page shares: the knowledge base handle, cached reads, errors as messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from metakb.errors import MetakbError
from metakb.store import Store, default_db_path

T = TypeVar("T")


def store() -> Store:
    """Return the knowledge base the app was started on ($METAKB_DB or the default)."""
    return Store(default_db_path(), wait_s=2.0)


def _version(path: str) -> float:
    # Cache entries are keyed on the file's modification time, so a write by an
    # ingest or a search shows up on the next rerun without a manual refresh.
    try:
        from pathlib import Path

        return Path(path).stat().st_mtime
    except OSError:
        return 0.0


@st.cache_data(show_spinner=False, ttl=600)
def _cached(name: str, path: str, version: float, args: tuple[Any, ...]) -> Any:
    import metakb.store as kb

    function: Callable[..., Any] = getattr(kb, name)
    with Store(path, wait_s=2.0).read() as con:
        return function(con, *args)


def query(name: str, *args: Any) -> Any:
    """Run the read function ``metakb.store.<name>(con, *args)``, cached, or stop the page.

    A missing, busy or incompatible knowledge base becomes a short message on
    the page instead of a traceback.
    """
    path = str(store().path)
    try:
        return _cached(name, path, _version(path), args)
    except MetakbError as exc:
        st.error(str(exc))
        st.stop()
        raise  # st.stop() raises; this keeps type checkers content


def sidebar() -> None:
    """Show which knowledge base the app reads."""
    st.sidebar.caption(f"Knowledge base: `{store().path}` (read-only)")


def fmt_int(value: Any) -> str:
    """Format a count for display, with '-' for a missing one."""
    return "-" if value is None or pd.isna(value) else f"{int(value):,}"
