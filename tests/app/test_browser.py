"""One real-browser smoke test: serve the app, screenshot each page in headless Chromium."""

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from metakb.appserver import PAGES, running_app, screenshot_pages
from metakb.sources.published import import_published
from metakb.store import Store


def _content_fraction(path: Path) -> float:
    """Fraction of pixels that are not page background (a blank page is ~0)."""
    pixels = np.asarray(Image.open(path).convert("L").resize((350, 250)), dtype=int)
    background = np.bincount(pixels.ravel()).argmax()
    return float((np.abs(pixels - background) > 30).mean())


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="needs Debian's chromium (.ci/run installs it)"
)
def test_every_page_renders_in_a_real_browser(tmp_path: Path, tiny_data: Path) -> None:
    pytest.importorskip("playwright.sync_api")
    store = Store(tmp_path / "kb.duckdb")
    import_published(store, tiny_data)
    with running_app(store.path) as url:
        pages = {**PAGES, "task": replace(PAGES["task"], path="task?task=openml:3")}
        shots = screenshot_pages(url, tmp_path / "shots", pages)
    assert set(shots) == set(PAGES)
    for name, shot in shots.items():
        assert _content_fraction(shot) > 0.01, f"{name} page looks blank"
