"""Benchmarks: the reports and plots in docs/benchmarks, as the benchmark scripts wrote them."""

from pathlib import Path

import streamlit as st
from _common import sidebar

DOCS = Path(__file__).resolve().parents[2] / "docs" / "benchmarks"

sidebar()
st.title("Benchmarks")
reports = sorted(DOCS.glob("*.md")) if DOCS.is_dir() else []
if not reports:
    st.info(f"No benchmark reports in {DOCS}; run the scripts listed in the README.")
    st.stop()
names = [p.stem for p in reports]
choice = st.selectbox("Report", names)
report = DOCS / f"{choice}.md"
st.markdown(report.read_text())
for image in sorted(DOCS.glob(f"{choice}*.png")):
    st.image(str(image), caption=image.name)
