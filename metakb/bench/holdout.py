"""The tables kept for final figures only: no sweep, setting or model ever sees them.

``LIVE_CLASSIFICATION`` is the live benchmark's selection as first published
(``docs/benchmarks/live_pmlb.md``: PMLB classification tables unlike any
knowledge-base task, 100+ rows, 20 evenly spaced by size). ``LIVE_REGRESSION``
is 10 of PMLB's 41 regression tables with 100+ rows, evenly spaced by rows
(ties by name). Both lists are frozen here because the live benchmark's own
selection rule depends on what the knowledge base holds, which the sweep
changes: the sweep excludes these names (``--exclude``), and the live benchmark
runs on them.
"""

from __future__ import annotations

LIVE_CLASSIFICATION: tuple[str, ...] = (
    "analcatdata_creditscore",
    "promoters",
    "mux6",
    "corral",
    "wine_recognition",
    "glass",
    "biomed",
    "analcatdata_lawsuit",
    "cleveland_nominal",
    "bupa",
    "ionosphere",
    "cars",
    "monk1",
    "balance_scale",
    "diabetes",
    "tic_tac_toe",
    "mfeat_morphological",
    "spambase",
    "twonorm",
    "magic",
)

LIVE_REGRESSION: tuple[str, ...] = (
    "523_analcatdata_neavote",
    "665_sleuth_case2002",
    "561_cpu",
    "560_bodyfat",
    "1027_ESL",
    "1028_SWD",
    "294_satellite_image",
    "227_cpu_small",
    "218_house_8L",
    "564_fried",
)

HOLDOUT: tuple[str, ...] = LIVE_CLASSIFICATION + LIVE_REGRESSION
"""Every held-out table name."""
