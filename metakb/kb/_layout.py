"""The folders beside the DuckDB file: the only module that knows where things live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Layout:
    """Where a knowledge base keeps what is not in its DuckDB file.

    Everything lives in the folder of the DuckDB file, so copying that folder
    copies the whole knowledge base::

        <folder>/metakb.duckdb
        <folder>/artifacts/<algorithm>/<task type>/<method>/   trained models (manifest + pickle)
        <folder>/searches/<search id>.json         resume logs of searches
        <folder>/openml_cache/                     openml-python's download cache
        <folder>/examples/                         example tables written by quickstart

    Parameters
    ----------
    db_path : Path
        The DuckDB file.
    """

    db_path: Path

    @property
    def root(self) -> Path:
        """The folder of the DuckDB file."""
        return self.db_path.parent

    @property
    def artifacts(self) -> Path:
        """The folder of the trained models."""
        return self.root / "artifacts"

    def artifact(self, algorithm: str, method: str, task_type: str) -> Path:
        """Return the folder of one method's model of one algorithm for one task type."""
        return self.artifacts / algorithm / task_type / method

    def search_log(self, search_id: str) -> Path:
        """Return the resume log of one search."""
        return self.root / "searches" / f"{search_id}.json"

    @property
    def openml_cache(self) -> Path:
        """openml-python's cache folder, as an absolute path."""
        return self.db_path.expanduser().resolve().parent / "openml_cache"

    @property
    def examples(self) -> Path:
        """The folder of the example tables quickstart writes."""
        return self.root / "examples"
