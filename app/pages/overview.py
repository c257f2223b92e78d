"""Overview: what the knowledge base holds."""

import altair as alt
import pandas as pd
import streamlit as st
from _common import query, sidebar

sidebar()
st.title("metakb knowledge base")
stats = query("stats")
columns = st.columns(6)
for column, key in zip(
    columns, ("tasks", "datasets", "flows", "configs", "evaluations", "meta_features"), strict=True
):
    column.metric(key.replace("_", " ").capitalize(), f"{stats[key]:,}")

if stats["evaluations"] == 0:
    st.info("The knowledge base is empty: run `metakb quickstart` or `metakb ingest published`.")
    st.stop()

left, right = st.columns(2)
by_flow = pd.DataFrame(stats["by_flow"])
by_flow["flow and metric"] = by_flow["flow_id"] + " · " + by_flow["metric"]
left.subheader("Evaluations by flow and metric")
left.altair_chart(
    alt.Chart(by_flow)
    .mark_bar()
    .encode(
        x=alt.X("evaluations:Q", title="evaluations"),
        y=alt.Y("flow and metric:N", sort="-x", title=None, axis=alt.Axis(labelLimit=320)),
        color=alt.Color("source:N", legend=alt.Legend(orient="bottom")),
        tooltip=["source", "flow_id", "metric", "evaluations", "tasks"],
    ),
    width="stretch",
)
counts = query("evaluation_counts")
right.subheader("Evaluations by source")
right.altair_chart(
    alt.Chart(counts)
    .mark_arc(innerRadius=50)
    .encode(theta="evaluations:Q", color="source:N", tooltip=["source", "flow_id", "evaluations"]),
    width="stretch",
)

st.subheader("Flows")
st.dataframe(
    by_flow[
        [
            "source",
            "flow_id",
            "openml_flow_id",
            "algorithm",
            "metric",
            "direction",
            "evaluations",
            "tasks",
        ]
    ],
    hide_index=True,
    width="stretch",
)
meta = pd.DataFrame(stats["meta_features_by_source"])
if not meta.empty:
    st.caption(
        "Meta-features: "
        + ", ".join(
            f"{r.values:,} values on {r.datasets:,} datasets by {r.computed_by}"
            for r in meta.itertuples()
        )
    )
last = stats["last_ingest"]
if last:
    st.caption(f"Last ingest: {last['run_id']} ({last['status']}) at {last['updated_at']}")
