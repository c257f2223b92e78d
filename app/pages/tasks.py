"""Tasks: a searchable, filterable table; select a row to open the task."""

import pandas as pd
import streamlit as st
from _common import query, sidebar

sidebar()
st.title("Tasks")
tasks = query("tasks")
best = query("best_by_flow")
if tasks.empty:
    st.info("No tasks yet: run `metakb quickstart`.")
    st.stop()

wide = best.assign(column=lambda d: "best " + d["flow_id"] + " " + d["metric"]).pivot(
    index="task_id", columns="column", values="best"
)
table = tasks.merge(wide, left_on="task_id", right_index=True, how="left")

left, middle, right = st.columns([2, 2, 1])
text = left.text_input("Search by name or id", placeholder="e.g. credit, openml:31")
flows = sorted({f for cell in tasks["flows"].dropna() for f in cell.split(",")})
chosen = middle.multiselect("Evaluated with flow", flows)
kinds = right.multiselect("Type", sorted(tasks["task_type"].dropna().unique()))
if text:
    needle = text.strip().lower()
    table = table[
        table["name"].fillna("").str.lower().str.contains(needle, regex=False)
        | table["task_id"].str.lower().str.contains(needle, regex=False)
    ]
if chosen:
    table = table[table["flows"].fillna("").apply(lambda c: all(f in c.split(",") for f in chosen))]
if kinds:
    table = table[table["task_type"].isin(kinds)]

st.caption(f"{len(table):,} of {len(tasks):,} tasks. Select a row to open it.")
event = st.dataframe(
    table.drop(columns=["flows"]),
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="single-row",
    key="task_table",
)
rows = event.selection.rows if event is not None else []
if rows:
    st.session_state["task_id"] = str(pd.Series(table["task_id"]).iloc[rows[0]])
    st.switch_page("pages/task.py")
