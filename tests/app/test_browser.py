"""One real-browser smoke test: serve the app, screenshot each page in headless Chromium."""

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from metakb.appserver import app_command
from metakb.sources.published import import_published
from metakb.store import Store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Page path -> an element that only appears once the page has drawn its content.
PAGES = {
    "overview": ("", '[data-testid="stMetric"]'),
    "tasks": ("tasks", '[data-testid="stDataFrame"]'),
    "task": ("task?task=openml:3", "text=Best configurations"),
    "recommend": ("recommend", "text=Upload a table"),
    "search": ("search", "text=Upload a table"),
    "benchmarks": ("benchmarks", '[data-testid="stMarkdown"] h1'),
}
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"app not ready at {url}")


def _content_fraction(path: Path) -> float:
    """Fraction of pixels that are not page background (a blank page is ~0)."""
    pixels = np.asarray(Image.open(path).convert("L").resize((350, 250)), dtype=int)
    background = np.bincount(pixels.ravel()).argmax()
    return float((np.abs(pixels - background) > 30).mean())


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_every_page_renders_in_a_real_browser(tmp_path: Path, tiny_data: Path) -> None:
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    db = tmp_path / "kb.duckdb"
    import_published(Store(db), tiny_data)
    port = _free_port()
    env = {**os.environ, "METAKB_DB": str(db)}
    server = subprocess.Popen(
        app_command(port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)  # warm-up: the first paint can be incomplete
            page.wait_for_selector(PAGES["overview"][1], timeout=60_000)
            for name, (suffix, ready) in PAGES.items():
                page.goto(f"{url}/{suffix}")
                page.wait_for_selector(ready, timeout=60_000)
                page.wait_for_timeout(1500)  # let charts finish drawing
                assert page.locator('[data-testid="stException"]').count() == 0, name
                shot = tmp_path / f"{name}.png"
                page.screenshot(path=str(shot), full_page=True)
                assert _content_fraction(shot) > 0.01, f"{name} page looks blank"
            browser.close()
        if os.environ.get("METAKB_SCREENSHOTS"):
            target = Path(os.environ["METAKB_SCREENSHOTS"])
            target.mkdir(parents=True, exist_ok=True)
            for name in PAGES:
                shutil.copy(tmp_path / f"{name}.png", target / f"app_{name}.png")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
