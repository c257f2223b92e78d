"""Recommend: meta-features of a table and each meta-model's configurations for it."""

import json
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st
from _common import query, sidebar, store

from metakb.datasets import load_table
from metakb.errors import MetakbError
from metakb.metafeatures import extract_table
from metakb.models import WARM_STARTERS, nearest_datasets
from metakb.spaces import SPACES
from metakb.warmstart import recommend, recommendations_json

MAX_MB = 50

sidebar()
st.title("Recommend configurations")
st.caption(
    f"Upload a table (CSV, TSV, Parquet, ARFF; gzip allowed; at most {MAX_MB} MB) or pick "
    "a dataset file the knowledge base knows."
)
files = query("list_dataset_files")
source = st.radio("Data", ["Upload a table", "A dataset of the knowledge base"], horizontal=True)
path: Path | None = None
if source == "Upload a table":
    upload = st.file_uploader("Table", type=["csv", "tsv", "gz", "parquet", "arff"])
    if upload is not None:
        if upload.size > MAX_MB * 2**20:
            st.error(f"{upload.name} is {upload.size / 2**20:.0f} MB; the limit is {MAX_MB} MB.")
            st.stop()
        folder = Path(tempfile.mkdtemp(prefix="metakb-upload-"))
        path = folder / Path(upload.name).name  # never a client-chosen folder
        path.write_bytes(upload.getvalue())
elif files.empty:
    st.info("The knowledge base has no dataset files; upload a table instead.")
else:
    labels = dict(
        zip(files["file_path"], files["name"] + "  (" + files["dataset_id"] + ")", strict=True)
    )
    path = Path(st.selectbox("Dataset", list(labels), format_func=labels.get))
if path is None:
    st.stop()


@st.cache_data(show_spinner=False, max_entries=8)
def _describe(
    file: str, target: str | None
) -> tuple[dict[str, float], dict[str, str], list[str], str, int]:
    table = load_table(file, target)
    result = extract_table(table, seed=0)
    values = {k: v for k, v in result.values.items() if v == v}
    return values, dict(result.skipped), list(table.X.columns), table.task_type, len(table.y)


left, right = st.columns(2)
try:  # a column named target or class is taken by default
    default = load_table(path)
    columns = [default.target, *map(str, default.X.columns)]
    target = left.selectbox("Target column", columns)
except MetakbError as exc:  # unreadable, or no default target: say why, let the user choose
    st.error(str(exc))
    target = left.text_input("Target column")
algorithm = right.selectbox("Algorithm", list(SPACES))
if not target:
    st.stop()
with st.spinner("Computing meta-features..."):
    try:
        meta, skipped, features, task_type, rows = _describe(str(path), target)
    except MetakbError as exc:
        st.error(str(exc))
        st.stop()
st.success(
    f"{path.name}: {rows:,} rows, {len(features)} features, {task_type}; "
    f"{len(meta)} meta-features computed, {len(skipped)} skipped."
)
with st.expander("Meta-features"):
    st.dataframe(pd.DataFrame({"value": meta}), width="stretch")

matrix = query("get_meta_feature_matrix", "openml")
if not matrix.empty:
    near = nearest_datasets(matrix, meta, 5)
    st.caption(
        "Most similar datasets in the knowledge base: "
        + ", ".join(
            f"{d} ({x:.2f})" for d, x in zip(near["dataset_id"], near["distance"], strict=True)
        )
    )

st.subheader(f"Recommendations for {algorithm}")
k = st.slider("How many per method", 1, 10, 5)
space = SPACES[algorithm]
best_config: dict | None = None
for method in WARM_STARTERS:
    try:
        recs = recommend(meta, algorithm=algorithm, k=k, method=method, db=store().path)
    except MetakbError as exc:
        st.warning(f"{method}: {exc}")
        continue
    shown = recommendations_json(space, recs)["recommendations"]
    if best_config is None and shown:
        best_config = shown[0]["config"]
    frame = pd.DataFrame(
        [
            {
                "predicted score": r["predicted_score"],
                "from tasks": ", ".join(r["source_tasks"][:3]),
                **r["config"],
            }
            for r in shown
        ]
    )
    st.markdown(f"**{method}**")
    st.dataframe(frame, hide_index=True, width="stretch")

if best_config is not None:
    st.subheader("Use it")
    estimator = space.estimator
    st.code(
        f"from {estimator.rsplit('.', 1)[0]} import {estimator.rsplit('.', 1)[1]}\n"
        f"model = {estimator.rsplit('.', 1)[1]}(**{json.dumps(best_config)})",
        language="python",
    )
    st.code(
        "import optuna\nstudy = optuna.create_study(direction='maximize')\n"
        f"study.enqueue_trial({json.dumps(best_config)})  # evaluated first\n",
        language="python",
    )
