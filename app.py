"""The qa page: search the corpus and browse its documents. Run with `make run`."""

from __future__ import annotations

import html

import streamlit as st

from qa.assistant import Assistant
from qa.errors import QAError

st.set_page_config(page_title="qa", page_icon="🔎", layout="wide")


@st.cache_resource(show_spinner="Loading the model and the index…")
def assistant() -> Assistant:
    qa = Assistant()
    qa.warm_up()
    return qa


try:
    qa = assistant()
    documents = qa.documents()
except QAError as e:
    st.error(str(e))
    st.stop()

st.title("qa")
st.caption(f"{len(documents)} documents · model {qa.settings.model}")

query = st.text_input("Search the documents", placeholder="e.g. Who was asked for help?")
if query.strip():
    try:
        passages = qa.search(query, k=5)
    except QAError as e:
        st.error(str(e))
        passages = []
    if not passages:
        st.info("No passages found.")
    for p in passages:
        with st.container(border=True):
            st.markdown(f"**{p.rank}. {html.escape(p.title)}**  \n"
                        f"{p.date or 'undated'} · `{p.doc_id}` · characters {p.start}–{p.end} "
                        f"· score {p.score:.3f}")
            st.text(p.text)

with st.sidebar:
    st.header("Documents")
    for d in documents:
        st.markdown(f"**{html.escape(d.title)}**  \n{d.date or 'undated'} · {d.chunks} chunks")
