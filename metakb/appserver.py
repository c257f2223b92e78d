"""Start the Streamlit app on the loopback interface."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from metakb.errors import MetakbError
from metakb.store import Store

APP_DIR = Path(__file__).resolve().parents[1] / "app"


def app_command(port: int, host: str = "127.0.0.1") -> list[str]:
    """Return the command line that serves the app (headless, no usage statistics)."""
    entry = APP_DIR / "Home.py"
    if not entry.is_file():
        raise MetakbError(f"the app is not installed: {entry} is missing (use a source checkout)")
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(entry),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.maxUploadSize",
        "50",
    ]


def serve(store: Store, port: int = 8501, host: str = "127.0.0.1") -> int:
    """Run the app over ``store`` until it is stopped; return its exit status."""
    env = {**os.environ, "METAKB_DB": str(store.path.resolve())}
    return subprocess.call(app_command(port, host), env=env)
