"""Search: a warm-started search next to a cold one on a table, written to the knowledge base."""

import altair as alt
import pandas as pd
import streamlit as st
from _common import MAX_BYTES, choose_table, choose_target, kb, sidebar

from metakb.errors import MetakbError
from metakb.models import DEFAULT_WARM_STARTER, WARM_STARTERS
from metakb.search import DEFAULT_OPTIMIZER, OPTIMIZERS, SearchResult, TrialRecord
from metakb.spaces import DEFAULT_ALGORITHM, SPACES

sidebar()
st.title("Warm-started search")
st.caption(
    "Runs the same search twice on your table, once starting from the knowledge base's "
    "recommendations and once cold, with real cross-validated fits. Every trial is written "
    "to the knowledge base (source `local`)."
)
path = choose_table()
left, middle, right = st.columns(3)
target = choose_target(path, left)
algorithm = middle.selectbox("Algorithm", list(SPACES), index=list(SPACES).index(DEFAULT_ALGORITHM))
method = right.selectbox(
    "Optimizer", list(OPTIMIZERS), index=list(OPTIMIZERS).index(DEFAULT_OPTIMIZER)
)
left, right = st.columns(2)
warm = left.selectbox(
    "Warm start", list(WARM_STARTERS), index=list(WARM_STARTERS).index(DEFAULT_WARM_STARTER)
)
budget = right.slider("Trials per search", 4, 30, 10)
if path.stat().st_size > MAX_BYTES:
    st.error("The table is over the 50 MB limit.")
    st.stop()
if not st.button("Run warm and cold search", type="primary"):
    st.stop()

curves: dict[str, list[float]] = {}
chart = st.empty()
progress = st.progress(0.0, text="starting")


def _draw() -> None:
    rows = [
        {"trial": i + 1, "search": name, "best so far": value}
        for name, values in curves.items()
        for i, value in enumerate(values)
    ]
    chart.altair_chart(
        alt.Chart(pd.DataFrame(rows))
        .mark_line(point=True)
        .encode(
            x=alt.X("trial:Q", title="trials", axis=alt.Axis(format="d", tickMinStep=1)),
            y=alt.Y("best so far:Q", scale=alt.Scale(zero=False)),
            color="search:N",
        ),
        width="stretch",
    )


results = {}
for step, (name, starter) in enumerate(((f"warm ({warm})", warm), ("cold", "none"))):
    curves[name] = []

    def on_trial(
        record: TrialRecord, result: SearchResult, name: str = name, step: int = step
    ) -> None:
        scores = [t.score for t in result.trials if t.score is not None]
        best = max(scores) if scores else float("nan")
        curves[name].append(best)
        done = (step * budget + len(result.trials)) / (2 * budget)
        progress.progress(min(done, 1.0), text=f"{name}: trial {len(result.trials)} of {budget}")
        _draw()

    try:
        results[name] = kb().search(
            path,
            target=target,
            algorithm=algorithm,
            budget=budget,
            method=method,
            warm_start=starter,
            on_trial=on_trial,
            new=True,  # each click runs the search afresh
            time_limit=120,
            max_bytes=MAX_BYTES,  # also bounds what a compressed upload may expand to
        )
    except MetakbError as exc:
        st.error(str(exc))
        st.stop()
progress.progress(1.0, text="done")

for name, outcome in results.items():
    best = outcome.result.best
    st.subheader(name)
    for note in [*outcome.notes, *outcome.column_notes]:
        st.caption(note)
    if best is None:
        st.warning("No trial succeeded.")
        continue
    st.write(
        f"Best {outcome.metric}: **{best.score:.4f}**; "
        f"{outcome.evaluations_added} evaluations written to the knowledge base."
    )
    # The best configuration as Python that runs as it is; st.code has a copy button.
    st.code(outcome.best_code() or "", language="python")
    adapted = outcome.best_adaptations()
    if adapted:
        changes = ", ".join(f"{n} {a} -> {b}" for n, (a, b) in adapted.items())
        st.caption(f"Adapted to the table's {outcome.n_rows:,} rows: {changes}.")
