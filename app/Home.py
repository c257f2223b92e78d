"""metakb's Streamlit app: `metakb app` starts it on 127.0.0.1."""

import streamlit as st

st.set_page_config(page_title="metakb", page_icon="🧭", layout="wide")

pages = [
    st.Page("pages/overview.py", title="Overview", default=True),
    st.Page("pages/tasks.py", title="Tasks"),
    st.Page("pages/task.py", title="Task"),
    st.Page("pages/recommend.py", title="Recommend"),
    st.Page("pages/search.py", title="Search"),
    st.Page("pages/benchmarks.py", title="Benchmarks"),
]
st.navigation(pages).run()
