"""Start the Streamlit app on the loopback interface, and take screenshots of its pages."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from metakb._workers import die_with_parent
from metakb.errors import MetakbError

# The Streamlit app: metakb/app in a wheel; in a source checkout a link to app/.
APP_DIR = Path(__file__).resolve().parent / "app"


@dataclass(frozen=True)
class PageShot:
    """How to screenshot one page: its URL path, and selectors to wait for (and click)."""

    path: str
    ready: str
    click: str | None = None
    after_click: str | None = None


PAGES: dict[str, PageShot] = {
    "overview": PageShot("", '[data-testid="stMetric"]'),
    "tasks": PageShot("tasks", '[data-testid="stDataFrame"]'),
    "task": PageShot("task", "text=Best configurations"),
    "recommend": PageShot("recommend", "text=Upload a table"),
    "search": PageShot("search", "text=Upload a table"),
    "benchmarks": PageShot("benchmarks", '[data-testid="stMarkdown"] h1'),
}
# Headless Chromium on a machine without outside network: no background traffic.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def app_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """Return the command line that serves the app (headless, no usage statistics)."""
    entry = APP_DIR / "Home.py"
    if not entry.is_file():
        raise MetakbError(f"the app is not installed: {entry} is missing (use a source checkout)")
    return [
        sys.executable, "-m", "streamlit", "run", str(entry),
        "--server.address", host,
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--server.maxUploadSize", "50",
        "--client.toolbarMode", "viewer",
    ]  # fmt: skip


# Signals that stop `metakb app` and are passed on to its server.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def serve(db: Path, port: int = 8501, host: str = "127.0.0.1", *, stop_s: float = 10) -> int:
    """Run the app over the knowledge base ``db`` until it is stopped; return its exit status.

    The server never outlives this process: SIGINT, SIGTERM and SIGHUP are passed
    on to it (when called from the main thread); on Linux it also gets SIGTERM
    when this process dies, even by SIGKILL; and a server still running
    ``stop_s`` seconds after a stop, or when this function leaves by an
    exception, is killed.
    """
    env = {**os.environ, "METAKB_DB": str(Path(db).resolve())}
    server = subprocess.Popen(app_command(port, host), env=env, preexec_fn=die_with_parent())
    stopped_at: list[float] = []

    def forward(signum: int, frame: object) -> None:
        # Streamlit stops the same way on each of these; send what a supervisor sent.
        stopped_at.append(time.monotonic())
        if server.poll() is None:
            server.send_signal(signum)

    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED} if main else {}
    try:
        while True:
            try:
                return server.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if stopped_at and time.monotonic() - stopped_at[0] > stop_s:
                    server.kill()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=stop_s)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def free_port() -> int:
    """Return a loopback port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_app(db: Path, *, timeout_s: float = 60) -> Iterator[str]:
    """Serve the app over ``db`` on a free loopback port; yield its URL; stop it after."""
    port = free_port()
    env = {**os.environ, "METAKB_DB": str(Path(db).resolve())}
    server = subprocess.Popen(
        app_command(port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise MetakbError(f"the app did not start at {url}") from None
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # stop streamlit by its process group id
        server.wait(timeout=30)


def screenshot_pages(
    url: str, out_dir: Path, pages: Mapping[str, PageShot] = PAGES, *, timeout_s: float = 60
) -> dict[str, Path]:
    """Open each page in headless Chromium, wait until it drew its content, screenshot it.

    Parameters
    ----------
    url : str
        The running app.
    out_dir : Path
        Where ``<page>.png`` files go.
    pages : mapping
        Page name -> :class:`PageShot`.
    timeout_s : float
        How long to wait for each selector.

    Returns
    -------
    dict
        Page name -> screenshot path.

    Raises
    ------
    MetakbError
        When Chromium or Playwright is missing, or a page shows an exception.
    """
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise MetakbError("needs Debian's chromium for screenshots (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise MetakbError("needs playwright for screenshots (pip install playwright)") from exc
    out_dir.mkdir(parents=True, exist_ok=True)
    shots: dict[str, Path] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=list(CHROMIUM_FLAGS))
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        wait = timeout_s * 1000
        page.goto(url)  # warm-up: the first paint after start can be incomplete
        page.wait_for_selector(PAGES["overview"].ready, timeout=wait)
        for name, shot in pages.items():
            page.goto(f"{url}/{shot.path}")
            page.wait_for_selector(shot.ready, timeout=wait)
            if shot.click is not None:
                page.click(shot.click)
                page.wait_for_selector(shot.after_click or shot.ready, timeout=wait)
            page.wait_for_timeout(1500)  # let charts finish drawing
            if page.locator('[data-testid="stException"]').count():
                raise MetakbError(f"the {name} page shows an exception")
            shots[name] = out_dir / f"{name}.png"
            page.screenshot(path=str(shots[name]))
        browser.close()
    return shots
