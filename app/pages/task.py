"""Task: its evaluations, best configurations, hyperparameter marginals and meta-features."""

import altair as alt
import pandas as pd
import streamlit as st
from _common import fmt_int, query, sidebar

from metakb.kb import expand_params

sidebar()
tasks = query("tasks")
if tasks.empty:
    st.info("No tasks yet: run `metakb quickstart`.")
    st.stop()
ids = tasks["task_id"].tolist()
wanted = st.query_params.get("task") or st.session_state.get("task_id") or ids[0]
labels = dict(
    zip(tasks["task_id"], tasks["task_id"] + "  " + tasks["name"].fillna(""), strict=True)
)
task_id = st.selectbox(
    "Task", ids, index=ids.index(wanted) if wanted in ids else 0, format_func=labels.get
)
st.query_params["task"] = task_id
detail = query("task", task_id)
if detail is None:
    st.error(f"No task {task_id} in the knowledge base.")
    st.stop()
task, dataset = detail["task"], detail["dataset"] or {}
st.title(f"{task['name'] or task_id}")
st.caption(
    f"{task_id} · {task['task_type'] or '?'} · dataset {task['dataset_id']} · "
    f"{fmt_int(dataset.get('n_rows'))} rows · {fmt_int(dataset.get('n_features'))} features · "
    f"{fmt_int(dataset.get('n_classes'))} classes"
)

summary = pd.DataFrame(detail["evaluations"])
if summary.empty:
    st.info("This task has no evaluations yet.")
else:
    st.subheader("Evaluations")
    st.dataframe(summary, hide_index=True, width="stretch")
    options = [f"{r.flow_id} · {r.metric}" for r in summary.itertuples()]
    choice = st.selectbox("Flow and metric", options)
    flow_id, metric = choice.split(" · ")
    evals = query("evaluations", task_id, flow_id, metric)
    direction = evals["direction"].iloc[0] if not evals.empty else "max"
    left, right = st.columns(2)
    left.markdown(
        f"**Distribution of {metric}** ({'higher' if direction == 'max' else 'lower'} is better)"
    )
    left.altair_chart(
        alt.Chart(evals)
        .mark_bar()
        .encode(x=alt.X("value:Q", bin=alt.Bin(maxbins=40), title=metric), y="count():Q"),
        width="stretch",
    )
    params = expand_params(evals)
    names = [c for c in params.columns if c not in evals.columns and params[c].nunique() > 1]
    if names:
        name = right.selectbox(
            "Hyperparameter marginal", names, format_func=lambda n: n.rsplit("__", 1)[-1]
        )
        numeric = pd.api.types.is_numeric_dtype(params[name]) and params[name].nunique() > 5
        chart = alt.Chart(params[[name, "value"]].dropna()).encode(
            y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False)),
            tooltip=[name, "value"],
        )
        chart = (
            chart.mark_circle(opacity=0.4).encode(x=alt.X(f"{name}:Q", title=name))
            if numeric
            else chart.mark_boxplot().encode(x=alt.X(f"{name}:N", title=name))
        )
        right.altair_chart(chart, width="stretch")
    st.subheader("Best configurations")
    shown = params.head(10).drop(columns=["flow_id", "metric", "direction", "config_id"])
    st.dataframe(
        shown.rename(columns=lambda c: c.rsplit("__", 1)[-1]),
        hide_index=True,
        width="stretch",
    )

st.subheader("Meta-features against the knowledge base")
matrix = query("meta_feature_matrix", "openml")
if task["dataset_id"] not in matrix.index:
    st.info("No OpenML meta-features for this task's dataset.")
else:
    row = matrix.loc[task["dataset_id"]].dropna()
    percentile = matrix[row.index].rank(pct=True).loc[task["dataset_id"]] * 100
    frame = pd.DataFrame(
        {
            "value": row,
            "percentile in KB": percentile.round(0),
            "KB median": matrix[row.index].median(),
        }
    )
    st.dataframe(frame, width="stretch")

st.subheader("Nearest tasks")
if task["dataset_id"] in matrix.index:
    from metakb.models import nearest_datasets

    query_row = matrix.loc[task["dataset_id"]].dropna().to_dict()
    near = nearest_datasets(matrix, query_row, 10, exclude=(task["dataset_id"],))
    near = near.merge(tasks[["dataset_id", "task_id", "name"]], on="dataset_id", how="left")
    st.caption("Standardized distance over OpenML's qualities (the kNN warm starter's transform).")
    st.dataframe(near, hide_index=True)
else:
    st.info("No meta-features to compare this task with.")
