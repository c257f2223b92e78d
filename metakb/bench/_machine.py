"""What the benchmarks record about the machine they ran on."""

from __future__ import annotations

import os
from collections.abc import Sequence


def load_average() -> list[float] | None:
    """Return the 1, 5 and 15-minute load averages (None where the OS has none)."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def format_load(value: Sequence[float] | None) -> str:
    """Return load averages as ``"a, b, c"`` for a report ("unknown" when not recorded)."""
    return ", ".join(f"{v:.2f}" for v in value) if value else "unknown"
