"""The Streamlit page: Ask, Verify and Library. ``app.py`` only calls ``main``.

Everything shown from a document goes through ``qa.render`` (escaped) first.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from functools import partial

import streamlit as st

from qa.assistant import Assistant
from qa.errors import QAError, describe
from qa.export import (
    citation_line,
    conversation_markdown,
    document_file_name,
    read_batch_upload,
    report_csv,
)
from qa.render import escape_markdown, highlight, word_diff

EARLIEST = date(1900, 1, 1)
# Fixed CSS, no document text: the diff view's deleted and inserted words in colour.
DIFF_STYLE = ("<style>.qa-diff del{background:#fde2e1;color:#a4161a}"
              ".qa-diff ins{background:#dcf5e3;color:#1b5e20}</style>")
# How the page words the fix a library error names (qa.errors.FIXES): its readers run no
# commands, so what needs the server is said as something to ask for.
FIXES = {
    "build": "Ask whoever runs this page to build it (`qa index`), then reload.",
    "rebuild": "Ask whoever runs this page to rebuild the index (`qa index --rebuild`).",
    "list_documents": "The Library tab lists the documents.",
    "corpus": "Ask whoever runs this page to create it.",
    "model": "Ask whoever runs this page to install the model.",
    "read_only": "Uploads and deletions are turned off here.",
}
VERDICT_COLOURS = {"verbatim": "green", "altered": "orange", "paraphrase": "blue",
                   "stitched": "red", "not_found": "gray", "misattributed": "red"}


def message(error: QAError) -> str:
    """A library error in the page's words."""
    return describe(error, FIXES)


@st.cache_resource(show_spinner="Loading the index…")
def assistant() -> Assistant:
    """One assistant per server: the model and index load once, not per session.

    The index loads before the page draws (it is quick, and its errors belong on the
    page); the model loads in the background, so the page is usable at once and only a
    question asked in the first seconds waits for it.
    """
    import threading

    from qa.config import Settings

    read_only = True if _secret_read_only() else None  # the environment may also say so
    qa = Assistant(Settings.from_env(read_only=read_only))
    _ = qa.index
    # Not a daemon: a process that exits while OpenVINO is still compiling in this thread
    # aborts ("terminate called without an active exception"); exiting waits for it.
    threading.Thread(target=_warm_up, args=(qa,), name="qa-warm-up", daemon=False).start()
    return qa


def _warm_up(qa: Assistant) -> None:
    try:
        qa.warm_up()
    except QAError:
        pass  # the first question that needs the model reports it


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
        st.error(message(e))
        st.stop()
    filters = sidebar(qa, documents)
    ask_tab, verify_tab, library_tab = st.tabs(["Ask", "Verify a quote", "Library"])
    with ask_tab:
        ask(qa, filters)
    with verify_tab:
        verify(qa, filters)
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
    # The conversation is drawn into a container placed above the input, so the input stays
    # below the whole conversation, the new exchange included.
    conversation = st.container()
    question = st.chat_input("Ask the documents…", key="question")
    with conversation:
        for i, turn in enumerate(turns):
            with st.chat_message("user"):
                st.markdown(escape_markdown(turn.question))
            with st.chat_message("assistant"):
                show_answer(qa, turn, i)
        if question:
            with st.chat_message("user"):
                st.markdown(escape_markdown(question))
            with st.chat_message("assistant"):
                try:
                    answer = qa.answer(question, history=turns, filters=filters)
                except QAError as e:
                    st.error(message(e))
                else:
                    turns.append(answer)
                    show_answer(qa, answer, len(turns) - 1)
        if turns:  # after the new answer, so the export includes it
            st.download_button("Export conversation", conversation_markdown(turns),
                               file_name="conversation.md", mime="text/markdown",
                               on_click="ignore", icon=":material/download:", key="export")


def _document_text(qa: Assistant, doc_id: str) -> str:
    return qa.document(doc_id).text


def show_answer(qa: Assistant, answer, turn: int = 0) -> None:
    if answer.abstained:
        st.warning(escape_markdown(answer.answer), icon="🤷")
        if answer.note:
            st.caption(escape_markdown(answer.note))
        if answer.related:
            st.caption("Possibly related passages")
        for p in answer.related:
            with st.expander(f"{p.title} · {p.date or 'undated'} · characters "
                             f"{p.start}–{p.end}"):
                show_passage(qa, p.doc_id, p.start, p.end, p.text)
        return
    if answer.source_line:
        st.markdown(f"**{escape_markdown(answer.source_line)}**")
    st.markdown(escape_markdown(answer.answer))
    if answer.note:
        st.caption(escape_markdown(answer.note))
    for c in answer.citations:
        with st.expander(f"[{c.n}] {c.title} · {c.date or 'undated'} · characters "
                         f"{c.start}–{c.end}"):
            current = show_passage(qa, c.doc_id, c.start, c.end, c.quote)
            st.caption(f"{escape_markdown(c.source or c.path)} · {c.doc_id}")
            if not current:
                continue
            # the text is read only when clicked: a long conversation stays light
            st.download_button(
                "Download the document", partial(_document_text, qa, c.doc_id),
                file_name=document_file_name(c.path), mime="text/plain", on_click="ignore",
                key=f"doc-{turn}-{c.n}",
                help=f"The cited words are at characters {c.start}–{c.end} of the file.")
            st.caption(f"In the downloaded file: characters {c.start}–{c.end}.")


def show_passage(qa: Assistant, doc_id: str, start: int, end: int, text: str) -> bool:
    """Show ``text`` highlighted in its document; False, with the words alone, when the
    current index no longer has them there.

    A conversation is shown again on every rerun, and an update (another session's
    upload or deletion, `qa index`) may have removed or changed a cited document since.
    """
    try:
        stored = qa.document(doc_id).text
    except QAError:
        stored = ""
    if stored[start:end] != text:
        st.caption("This document has been changed or removed since; the cited words were:")
        st.markdown(escape_markdown(text))
        return False
    st.markdown(highlight(stored, start, end), unsafe_allow_html=True)
    return True


# -- Verify -------------------------------------------------------------------------------


def verify(qa: Assistant, filters) -> None:
    """One quote, or a CSV of them, checked against the documents the sidebar allows."""
    if filters:
        st.caption("Checked only against the documents the filters on the left allow.")
    with st.form("verify"):
        quote = st.text_area("Quote", placeholder="Paste the quote to check")
        speaker = st.text_input("Speaker (optional)")
        checked = st.form_submit_button("Check")
    if checked:
        try:
            verdict = qa.verify(quote, speaker.strip() or None, filters)
        except QAError as e:
            st.error(message(e))
        else:
            show_verdict(qa, verdict)
    batch(qa, filters)


def show_verdict(qa: Assistant, verdict) -> None:
    colour = VERDICT_COLOURS.get(verdict.verdict, "gray")
    st.badge(verdict.verdict.replace("_", " ")
             + (" (secondary source only)" if verdict.secondary_only else ""), color=colour)
    if verdict.meaning_changed:
        st.error("The change alters the meaning: a number or a negation differs.")
    if verdict.message:
        st.markdown(escape_markdown(verdict.message))
    if verdict.differences and verdict.match:
        st.caption("The quote against the source: the source's words struck through in "
                   "red, the quote's own words underlined in green.")
        st.markdown(DIFF_STYLE + word_diff(verdict.quote, verdict.differences),
                    unsafe_allow_html=True)
    if verdict.differences:
        st.table([{"change": d.op, "quote says": d.quote, "source says": d.source}
                  for d in verdict.differences])
    if verdict.no_counterpart:
        st.markdown("**No counterpart in the source:** "
                    + escape_markdown(", ".join(verdict.no_counterpart)))
    for number, p in enumerate(verdict.pieces, 1):
        st.markdown(f"**Piece {number}:** {escape_markdown(p.title)} · {p.date or 'undated'} · "
                    f"characters {p.start}–{p.end}")
        show_passage(qa, p.doc_id, p.start, p.end, p.text)
    if verdict.closest is not None:
        c = verdict.closest
        where = " in a primary source" if verdict.secondary_only else ""
        st.markdown(f"**Closest{where}, but it does not say this:** {escape_markdown(c.title)} · "
                    f"{c.date or 'undated'} · characters {c.start}–{c.end}")
        show_passage(qa, c.doc_id, c.start, c.end, c.text)
    if verdict.match:
        m = verdict.match
        st.markdown(f"**{escape_markdown(m.title)}** · {m.date or 'undated'} · characters "
                    f"{m.start}–{m.end}")
        show_passage(qa, m.doc_id, m.start, m.end, m.text)
        who = verdict.speaker or "not attributed"
        st.caption(f"Speaker: {escape_markdown(who)} · cue: "
                   f"{escape_markdown(verdict.cue or '—')}")
        st.caption("Citation, in the source's words (copy with the button on the right)")
        st.code(citation_line(verdict), language=None, wrap_lines=True)
    if verdict.reprints:
        first = verdict.reprints[0]
        st.markdown(f"**Printed word for word by {len(verdict.reprints)} secondary "
                    f"source{'s' if len(verdict.reprints) > 1 else ''}**; the earliest, "
                    f"{first.date or 'undated'}: {escape_markdown(first.title)}")
        st.dataframe([{"date": r.date or "undated", "document": r.title,
                       "characters": f"{r.start}–{r.end}", "id": r.doc_id}
                      for r in verdict.reprints], hide_index=True, width="stretch")


def batch(qa: Assistant, filters) -> None:
    """Check every quote of an uploaded CSV; the table and report stay until the next one."""
    st.divider()
    st.subheader("Check a list of quotes")
    with st.form("batch"):
        upload = st.file_uploader("CSV with the header quote,speaker (speaker optional)",
                                  type=["csv"], key="batch_csv")
        run = st.form_submit_button("Check all")
    if run and upload is not None:
        try:
            rows = read_batch_upload(upload.name, upload.getvalue())
        except QAError as e:
            st.error(message(e))
            return
        bar = st.progress(0.0, text=f"Checking {len(rows)} quotes…")
        verdicts, speakers, problems = [], [], []
        for i, (quote, speaker) in enumerate(rows, 1):
            try:
                verdicts.append(qa.verify(quote, speaker, filters))
                speakers.append(speaker)
            except QAError as e:  # one bad row (too long, say) should not stop the rest
                problems.append(f"Quote {i} was not checked: {message(e)}")
            bar.progress(i / len(rows), text=f"Checked {i}/{len(rows)}")
        bar.empty()
        st.session_state["batch_results"] = (upload.name, verdicts, speakers, problems)
    if "batch_results" not in st.session_state:
        return
    name, verdicts, speakers, problems = st.session_state["batch_results"]
    for problem in problems:
        st.error(problem)
    st.dataframe(
        [{"quote": v.quote, "speaker given": s or "", "verdict": v.verdict.replace("_", " "),
          "meaning changed": v.meaning_changed, "speaker": v.speaker or "",
          "document": v.match.title if v.match else "",
          "characters": f"{v.match.start}–{v.match.end}" if v.match else ""}
         for v, s in zip(verdicts, speakers, strict=True)],
        hide_index=True, width="stretch",
    )
    st.download_button("Download the report (CSV)", report_csv(verdicts, speakers),
                       file_name=f"{name.rsplit('.', 1)[0]}-report.csv", mime="text/csv",
                       on_click="ignore", icon=":material/download:", key="batch_report")


# -- Library ------------------------------------------------------------------------------


def library(qa: Assistant, documents) -> None:
    problems, done = st.session_state.pop("flash", ([], None))
    for problem in problems:
        st.error(problem)
    if done:
        st.success(done)
    upload(qa)
    manifest = qa.index.manifest
    cols = st.columns(2)
    cols[0].metric("Documents", len(documents))
    cols[1].metric("Chunks", manifest.chunks)
    # words, not metrics: a metric cuts a model name or a time to "all-MiniLM-…"
    st.caption(f"Model **{escape_markdown(manifest.model)}** · updated "
               f"{manifest.created.replace('T', ' ')[:16]} UTC")
    quotes = quote_counts(qa)
    st.dataframe(
        [{"title": d.title, "date": d.date, "chunks": d.chunks,
          "quotes": quotes.get(d.doc_id, 0) if quotes is not None else None,
          "source": d.source, "indexed": d.indexed_at, "id": d.doc_id} for d in documents],
        hide_index=True, width="stretch",
    )
    timeline(documents)
    delete(qa, documents)


def quote_counts(qa: Assistant) -> Counter | None:
    """Direct quotations per document; None when the index holds none (an older index)."""
    try:
        found = qa.index.chunks.quotations()
    except QAError:
        return None
    return Counter(q.doc_id for q in found if q.direct_quote)


def timeline(documents) -> None:
    """Documents per month; nothing when no document has a date."""
    import altair as alt
    import pandas as pd

    dates = pd.to_datetime(pd.Series([d.date for d in documents if d.date], dtype="object"),
                           errors="coerce", format="mixed").dropna()
    if dates.empty:
        st.caption("No document has a date, so there is no timeline.")
        return
    chart = alt.Chart(pd.DataFrame({"date": dates})).mark_bar().encode(
        x=alt.X("yearmonth(date):T", title="Month"),
        y=alt.Y("count():Q", title="Documents"),
        tooltip=[alt.Tooltip("yearmonth(date):T", title="Month"),
                 alt.Tooltip("count():Q", title="Documents")],
    ).properties(height=180, title="Documents by date")
    st.altair_chart(chart, width="stretch")


def upload(qa: Assistant) -> None:
    from qa.documents import document_limit

    if qa.settings.read_only:
        st.info("This deployment is read-only: uploads and deletions are turned off.")
        return
    try:
        limit = document_limit()
    except QAError as e:  # a malformed QA_MAX_DOCUMENT_MB
        st.error(message(e))
        return
    with st.form("upload", clear_on_submit=True):
        files = st.file_uploader(
            f"Add documents (.txt .md .html .pdf .docx, up to {limit / 2**20:.3g} MB)",
            accept_multiple_files=True, key="upload_files", max_upload_size=_megabytes(limit))
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
            problems.append(message(e))  # the other files still go in
    if saved:
        reindex(qa, problems)
    for problem in problems:
        st.error(problem)


def _megabytes(limit: int) -> int:
    """Streamlit's upload limit, in whole MB, for a document limit in bytes."""
    import math

    return max(1, math.ceil(limit / 2**20))


def reindex(qa: Assistant, problems: list[str] | None = None) -> None:
    """Update the index; the page keeps answering from the previous version meanwhile."""
    bar = st.progress(0.0, text="Updating the index…")

    def progress(stage: str, done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"{stage} {done}/{total}")

    try:
        report = qa.update(on_progress=progress)
    except QAError as e:
        bar.empty()
        st.error(message(e))
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
                st.error(message(e))
                return
            reindex(qa)
