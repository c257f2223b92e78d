"""Recommend: meta-features of a table and each meta-model's configurations for it."""

import warnings

import pandas as pd
import streamlit as st
from _common import MAX_BYTES, choose_table, choose_target, kb, query, sidebar

from metakb.datasets import load_table
from metakb.errors import MetakbError
from metakb.kb import SCORE_NOTE, ExtrapolationWarning, ModelFittedWarning, RecommendedConfig
from metakb.metafeatures import extract_table
from metakb.models import WARM_STARTERS, nearest_datasets
from metakb.spaces import DEFAULT_ALGORITHM, SPACES

sidebar()
st.title("Recommend configurations")
path = choose_table()


@st.cache_data(show_spinner=False, max_entries=8)
def _describe(
    file: str, target: str | None
) -> tuple[dict[str, float], dict[str, str], list[str], str, int]:
    # The upload limit also bounds what a compressed file may expand to in memory.
    table = load_table(file, target, max_bytes=MAX_BYTES)
    result = extract_table(table, seed=0)
    values = {k: v for k, v in result.values.items() if v == v}
    return values, dict(result.skipped), list(table.X.columns), table.task_type, len(table.y)


left, right = st.columns(2)
target = choose_target(path, left)
algorithm = right.selectbox("Algorithm", list(SPACES), index=list(SPACES).index(DEFAULT_ALGORITHM))
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

matrix = query("meta_feature_matrix", "openml")
if not matrix.empty:
    near = nearest_datasets(matrix, meta, 5)
    st.caption(
        "Most similar datasets in the knowledge base: "
        + ", ".join(
            f"{d} ({x:.2f})" for d, x in zip(near["dataset_id"], near["distance"], strict=True)
        )
    )

st.subheader(f"Recommendations for {algorithm}")
st.caption(
    "Every method weighs its picks against the library's own defaults: a configuration is "
    "ranked above the default only when its predicted gain (normalized score) exceeds the "
    "gain's spread over the tasks it rests on; 'why' says which."
)
k = st.slider("How many per method", 1, 10, 5)
best: RecommendedConfig | None = None
extrapolation = st.container()  # above the tables, filled once every method has run
said: set[str] = set()
for method in WARM_STARTERS:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ExtrapolationWarning)
            warnings.simplefilter("always", ModelFittedWarning)
            # The estimator arguments for this table: leaf sizes it is too small for are capped.
            recs = kb().recommend(
                meta, algorithm=algorithm, k=k, method=method, task_type=task_type, n_rows=rows
            )
    except MetakbError as exc:
        st.warning(f"{method}: {exc}")
        continue
    for w in caught:
        if issubclass(w.category, ExtrapolationWarning) and str(w.message) not in said:
            said.add(str(w.message))
            extrapolation.warning(str(w.message))
        elif issubclass(w.category, ModelFittedWarning):  # untrained: fitted for this page only
            st.info(f"{method}: {w.message}")
    if best is None and recs:
        best = recs[0]
    frame = pd.DataFrame(
        [
            {
                "gain over default": r.gain_text(),
                "cost ×default": r.cost_text(),
                "why": r.reason,
                "predicted score (0-1)": r.predicted_score,
                "config": r.kwargs_text(),
                "from tasks": ", ".join(r.source_tasks[:3]),
            }
            for r in recs
        ]
    )
    st.markdown(f"**{method}**")
    st.dataframe(frame, hide_index=True, width="stretch")
st.caption(
    f"{SCORE_NOTE.capitalize()}. Cost: predicted fit time over the library default's, from "
    "the fit times the knowledge base stores. Config: the estimator's keyword arguments."
)

if best is not None:
    st.subheader("Use it")
    # st.code has a copy button; the source runs as it is (Python literals, imports included).
    st.code(best.code(), language="python")
    if best.adapted:
        changes = ", ".join(f"{n} {a} -> {b}" for n, (a, b) in best.adapted.items())
        st.caption(f"Adapted to the table's {rows:,} rows, so every tree can split: {changes}.")
    st.caption(
        "To warm-start Optuna with these recommendations, draw parameters with "
        "`metakb.integrations.optuna.suggest_config` and enqueue them with "
        "`enqueue_recommendations(study, recs, space)`."
    )
