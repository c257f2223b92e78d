"""What every page shares: the knowledge base handle, cached reads, errors as messages."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from metakb.datasets import load_table
from metakb.errors import MetakbError
from metakb.kb import KnowledgeBase

T = TypeVar("T")


def kb() -> KnowledgeBase:
    """Return the knowledge base the app was started on ($METAKB_DB or the default)."""
    return KnowledgeBase(wait_s=2.0)


def _version(path: str) -> float:
    # Cache entries are keyed on the file's modification time, so a write by an
    # ingest or a search shows up on the next rerun without a manual refresh.
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0


@st.cache_data(show_spinner=False, ttl=600)
def _cached(name: str, path: str, version: float, args: tuple[Any, ...]) -> Any:
    function: Callable[..., Any] = getattr(KnowledgeBase(path, wait_s=2.0), name)
    return function(*args)


def query(name: str, *args: Any) -> Any:
    """Run the read verb ``KnowledgeBase.<name>(*args)``, cached, or stop the page.

    A missing, busy or incompatible knowledge base becomes a short message on
    the page instead of a traceback.
    """
    path = str(kb().path)
    try:
        return _cached(name, path, _version(path), args)
    except MetakbError as exc:
        st.error(str(exc))
        st.stop()
        raise  # st.stop() raises; this keeps type checkers content


def sidebar() -> None:
    """Show which knowledge base the app reads (and, from the Search page, writes)."""
    st.sidebar.caption(f"Knowledge base: `{kb().path}`")


def fmt_int(value: Any) -> str:
    """Format a count for display, with '-' for a missing one."""
    return "-" if value is None or pd.isna(value) else f"{int(value):,}"


MAX_MB = 50
MAX_BYTES = MAX_MB * 2**20
UPLOADS = Path(tempfile.gettempdir()) / "metakb-uploads"


def _saved_upload(name: str, data: bytes) -> Path:
    # One copy per upload content: a rerun of the page reuses it instead of writing anew.
    digest = hashlib.sha256(data).hexdigest()[:16]
    path = UPLOADS / digest / Path(name).name  # never a client-chosen folder
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return path


def choose_table() -> Path:
    """Let the user upload a table or pick a knowledge-base dataset file; stop until chosen."""
    st.caption(
        f"Upload a table (CSV, TSV, Parquet, ARFF; gzip allowed; at most {MAX_MB} MB) or pick "
        "a dataset file the knowledge base knows."
    )
    files = query("dataset_files")
    # ?dataset=<id> links straight to a knowledge-base dataset.
    linked = st.query_params.get("dataset")
    known = files["dataset_id"].tolist()
    source = st.radio(
        "Data",
        ["Upload a table", "A dataset of the knowledge base"],
        index=1 if linked in known else 0,
        horizontal=True,
    )
    path: Path | None = None
    if source == "Upload a table":
        upload = st.file_uploader("Table", type=["csv", "tsv", "gz", "parquet", "arff"])
        if upload is not None:
            if upload.size > MAX_BYTES:
                st.error(
                    f"{upload.name} is {upload.size / 2**20:.0f} MB; the limit is {MAX_MB} MB."
                )
                st.stop()
            path = _saved_upload(upload.name, upload.getvalue())
    elif files.empty:
        st.info("The knowledge base has no dataset files; upload a table instead.")
    else:
        labels = dict(
            zip(files["file_path"], files["name"] + "  (" + files["dataset_id"] + ")", strict=True)
        )
        paths = list(labels)
        index = known.index(linked) if linked in known else 0
        path = Path(st.selectbox("Dataset", paths, index=index, format_func=labels.get))
    if path is None:
        st.stop()
    return path


@st.cache_data(show_spinner=False, max_entries=8)
def _columns(path: str, version: float) -> list[str]:
    # Cached on the file's mtime: every widget change reruns the page, not the file read.
    table = load_table(path, max_bytes=MAX_BYTES)
    return [table.target, *map(str, table.X.columns)]


def choose_target(path: Path, column: Any) -> str:
    """Offer the table's columns as the target (``target``/``class`` first); stop if none given."""
    try:  # a column named target or class is taken by default
        target = column.selectbox("Target column", _columns(str(path), _version(str(path))))
    except MetakbError as exc:  # unreadable, or no default target: say why, let the user choose
        st.error(str(exc))
        target = column.text_input("Target column")
    if not target:
        st.stop()
    return str(target)
