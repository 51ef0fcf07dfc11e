"""The Streamlit page: Ask, Verify and Library. ``app.py`` only calls ``main``.

Everything shown from a document goes through ``qa.render`` (escaped) first.
"""

from __future__ import annotations

from datetime import date

import streamlit as st

from qa.assistant import Assistant
from qa.errors import QAError
from qa.render import escape_markdown, highlight

EARLIEST = date(1900, 1, 1)
VERDICT_COLOURS = {"verbatim": "green", "altered": "orange", "paraphrase": "blue",
                   "not_found": "gray", "misattributed": "red"}


@st.cache_resource(show_spinner="Loading the model and the index…")
def assistant() -> Assistant:
    """One assistant per server: the model and index load once, not per session."""
    from qa.config import Settings

    read_only = True if _secret_read_only() else None  # the environment may also say so
    qa = Assistant(Settings.from_env(read_only=read_only))
    qa.warm_up()
    return qa


def _secret_read_only() -> bool:
    """``read_only = true`` in ``.streamlit/secrets.toml``."""
    try:
        return bool(st.secrets.get("read_only", False))
    except Exception:  # no secrets file is the common case
        return False


def main() -> None:
    st.set_page_config(page_title="qa · newsroom documents", page_icon="🔎", layout="wide")
    try:
        qa = assistant()
        documents = qa.documents()
    except QAError as e:
        st.error(str(e))
        st.stop()
    filters = sidebar(qa, documents)
    ask_tab, verify_tab, library_tab = st.tabs(["Ask", "Verify a quote", "Library"])
    with ask_tab:
        ask(qa, filters)
    with verify_tab:
        verify(qa)
    with library_tab:
        library(qa, documents)


def sidebar(qa: Assistant, documents):
    from qa.retrieval import Filters

    with st.sidebar:
        st.header("Filters")
        # empty by default: no date filter, so documents added later are never hidden
        since = st.date_input("Documents from", value=None, key="since", min_value=EARLIEST)
        until = st.date_input("Documents until", value=None, key="until", min_value=EARLIEST)
        since = since.isoformat() if since else None
        until = until.isoformat() if until else None
        sources = sorted({d.source for d in documents if d.source})
        chosen_sources = st.multiselect("Source", sources, key="sources")
        titles = {d.doc_id: f"{d.title} ({d.date or 'undated'})" for d in documents}
        chosen_docs = st.multiselect("Document", list(titles), format_func=titles.get,
                                     key="docs")
        st.caption(f"{len(documents)} documents · model {qa.settings.model}")
    return Filters(since, until, tuple(chosen_sources), tuple(chosen_docs))


# -- Ask ----------------------------------------------------------------------------------


def ask(qa: Assistant, filters) -> None:
    turns = st.session_state.setdefault("turns", [])
    for turn in turns:
        with st.chat_message("user"):
            st.markdown(escape_markdown(turn.question))
        with st.chat_message("assistant"):
            show_answer(qa, turn)
    question = st.chat_input("Ask the documents…", key="question")
    if question:
        with st.chat_message("user"):
            st.markdown(escape_markdown(question))
        with st.chat_message("assistant"):
            try:
                answer = qa.answer(question, history=turns, filters=filters)
            except QAError as e:
                st.error(str(e))
                return
            turns.append(answer)
            show_answer(qa, answer)


def show_answer(qa: Assistant, answer) -> None:
    if answer.abstained:
        st.warning(escape_markdown(answer.answer), icon="🤷")
        if answer.related:
            st.caption("Possibly related passages")
        for p in answer.related:
            with st.expander(f"{p.title} · {p.date or 'undated'} · characters "
                             f"{p.start}–{p.end}"):
                st.markdown(highlight(qa.document(p.doc_id).text, p.start, p.end),
                            unsafe_allow_html=True)
        return
    st.markdown(escape_markdown(answer.answer))
    for c in answer.citations:
        with st.expander(f"[{c.n}] {c.title} · {c.date or 'undated'} · characters "
                         f"{c.start}–{c.end}"):
            doc = qa.document(c.doc_id)
            st.markdown(highlight(doc.text, c.start, c.end), unsafe_allow_html=True)
            st.caption(f"{escape_markdown(c.source or c.path)} · {c.doc_id}")


# -- Verify -------------------------------------------------------------------------------


def verify(qa: Assistant) -> None:
    with st.form("verify"):
        quote = st.text_area("Quote", placeholder="Paste the quote to check")
        speaker = st.text_input("Speaker (optional)")
        checked = st.form_submit_button("Check")
    if not checked:
        return
    try:
        verdict = qa.verify(quote, speaker.strip() or None)
    except QAError as e:
        st.error(str(e))
        return
    show_verdict(qa, verdict)


def show_verdict(qa: Assistant, verdict) -> None:
    colour = VERDICT_COLOURS.get(verdict.verdict, "gray")
    st.badge(verdict.verdict.replace("_", " "), color=colour)
    if verdict.meaning_changed:
        st.error("The change alters the meaning: a number or a negation differs.")
    if verdict.message:
        st.markdown(escape_markdown(verdict.message))
    if verdict.differences:
        st.table([{"change": d.op, "quote says": d.quote, "source says": d.source}
                  for d in verdict.differences])
    if verdict.match:
        m = verdict.match
        st.markdown(f"**{escape_markdown(m.title)}** · {m.date or 'undated'} · characters "
                    f"{m.start}–{m.end}")
        st.markdown(highlight(qa.document(m.doc_id).text, m.start, m.end),
                    unsafe_allow_html=True)
        who = verdict.speaker or "not attributed"
        st.caption(f"Speaker: {escape_markdown(who)} · cue: "
                   f"{escape_markdown(verdict.cue or '—')}")


# -- Library ------------------------------------------------------------------------------


def library(qa: Assistant, documents) -> None:
    problems, done = st.session_state.pop("flash", ([], None))
    for problem in problems:
        st.error(problem)
    if done:
        st.success(done)
    upload(qa)
    manifest = qa.index.manifest
    cols = st.columns(4)
    cols[0].metric("Documents", len(documents))
    cols[1].metric("Chunks", manifest.chunks)
    cols[2].metric("Model", manifest.model)
    cols[3].metric("Updated", manifest.created.replace("T", " ")[:16])
    st.dataframe(
        [{"title": d.title, "date": d.date, "source": d.source, "chunks": d.chunks,
          "indexed": d.indexed_at, "id": d.doc_id} for d in documents],
        hide_index=True, width="stretch",
    )
    delete(qa, documents)


def upload(qa: Assistant) -> None:
    from qa.uploads import MAX_UPLOAD_BYTES

    if qa.settings.read_only:
        st.info("This deployment is read-only: uploads and deletions are turned off.")
        return
    with st.form("upload", clear_on_submit=True):
        files = st.file_uploader(
            f"Add documents (.txt .md .html .pdf .docx, up to {MAX_UPLOAD_BYTES // 2**20} MB)",
            accept_multiple_files=True)
        replace = st.checkbox("Replace files that already exist")
        submitted = st.form_submit_button("Add to the corpus")
    if not submitted or not files:
        return
    saved, problems = 0, []
    for f in files:
        try:
            qa.add_file(f.name, f.getvalue(), overwrite=replace)
            saved += 1
        except QAError as e:
            problems.append(str(e))  # the other files still go in
    if saved:
        reindex(qa, problems)
    for problem in problems:
        st.error(problem)


def reindex(qa: Assistant, problems: list[str] | None = None) -> None:
    """Update the index; the page keeps answering from the previous version meanwhile."""
    bar = st.progress(0.0, text="Updating the index…")

    def progress(stage: str, done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"{stage} {done}/{total}")

    try:
        report = qa.update(on_progress=progress)
    except QAError as e:
        bar.empty()
        st.error(str(e))
        return
    bar.empty()
    # shown after the rerun that refreshes the lists and counts with the new version
    st.session_state["flash"] = (
        (problems or []) + [f"Skipped {problem}" for problem in report.skipped],
        f"{report.added} added, {report.updated} updated, {report.removed} removed; "
        f"{report.documents} documents, {report.chunks} chunks.")
    st.rerun()


def delete(qa: Assistant, documents) -> None:
    if qa.settings.read_only or not documents:
        return
    with st.expander("Delete a document"):
        ids = {f"{d.title} ({d.path})": d.doc_id for d in documents}
        doc_id = ids[st.selectbox("Document", list(ids), key="delete_doc")]
        confirmed = st.checkbox("Yes, delete this file from the corpus", key="delete_ok")
        if st.button("Delete", disabled=not confirmed, type="primary"):
            try:
                qa.delete_document(doc_id)
            except QAError as e:
                st.error(str(e))
                return
            reindex(qa)
