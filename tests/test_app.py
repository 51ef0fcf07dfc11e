"""The page through Streamlit's AppTest, on the real model and a real index of the seed."""

from __future__ import annotations

from pathlib import Path

import pytest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def page_env(tmp_path, seed_corpus, monkeypatch, real_embedder):
    import streamlit as st

    from qa.index import update

    (seed_corpus / "evil.html").write_text(
        "<html><body><h1>Hostile page</h1><p>Hostile text about the CSTO appeal "
        "&lt;script&gt;window.pwned=1&lt;/script&gt; and <b>more</b>.</p></body></html>")
    update(seed_corpus, tmp_path / "index", model=real_embedder.name,
           load_embedder=lambda _: real_embedder)
    monkeypatch.setenv("QA_CORPUS", str(seed_corpus))
    monkeypatch.setenv("QA_INDEX", str(tmp_path / "index"))
    st.cache_resource.clear()
    yield tmp_path
    st.cache_resource.clear()


def start():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def ask(at, question):
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def test_ask_answers_with_an_expandable_citation(page_env):
    at = ask(start(), "Which allies did Kazakhstan ask for assistance?")
    answer = at.chat_message[1].markdown[0].value
    assert "CSTO" in answer and "[1]" in answer
    [first, *_] = at.chat_message[1].expander
    assert first.label.startswith("[1] President Kassym-Jomart Tokayev")
    assert "<mark>" in first.markdown[0].value and "CSTO" in first.markdown[0].value


def test_follow_up_keeps_the_conversation(page_env):
    at = ask(start(), "Which allies did Kazakhstan ask for assistance?")
    at = ask(at, "What else did he say about them?")
    assert len(at.chat_message) == 4
    assert at.chat_message[0].markdown[0].value.startswith("Which allies")
    assert at.chat_message[2].markdown[0].value.startswith("What else")


def test_off_topic_question_abstains_distinctly(page_env):
    at = ask(start(), "Who won the 2018 football World Cup?")
    assert at.chat_message[1].warning, "an abstention is shown as a warning"
    assert not at.chat_message[1].markdown or "[1]" not in at.chat_message[1].markdown[0].value


def test_document_filter_restricts_answers(page_env):
    at = start()
    seed = next(o for o in at.sidebar.multiselect[1].options if "Security Council" in o)
    at.sidebar.multiselect[1].set_value([seed_id(at, seed)]).run()
    at = ask(at, "What did the hostile page say?")
    for exp in at.chat_message[1].expander:
        assert "Hostile" not in exp.label


def seed_id(at, label):
    from qa.assistant import Assistant

    return next(d.doc_id for d in Assistant().documents() if label.startswith(d.title))


def test_verify_shows_a_verdict(page_env):
    at = start()
    at.text_area[0].input("I head up the counter-terrorism command.")
    at.button[0].click().run()
    assert not at.exception, at.exception
    assert "I head up the counter-terrorism command" in "".join(m.value for m in at.markdown)


def test_document_text_is_escaped(page_env):
    at = ask(start(), "What did the hostile page say about the CSTO appeal?")
    html = "".join(m.value for m in at.markdown)
    assert "<script>" not in html


def test_date_filter_restricts_answers(page_env):
    from datetime import date

    at = start()
    at.sidebar.date_input(key="since").set_value(date(2022, 1, 7)).run()
    at = ask(at, "Which allies did Kazakhstan ask for assistance?")
    assert at.chat_message[1].warning  # the only dated document is before the range


def test_library_lists_documents(page_env):
    at = start()
    assert at.metric[0].value == "2"
    # the model's name and the update time in full, not cut to "all-MiniLM-…"
    captions = " ".join(c.value for c in at.caption)
    assert "all-MiniLM-L6-v2" in captions and " UTC" in captions


def test_streamlit_config_sends_no_statistics_and_shows_no_developer_toolbar():
    import tomllib

    config = tomllib.loads((Path(APP).parent / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    assert config["client"]["toolbarMode"] == "minimal"


def test_page_without_index_says_what_to_do(tmp_path, monkeypatch):
    import streamlit as st

    monkeypatch.setenv("QA_INDEX", str(tmp_path / "none"))
    st.cache_resource.clear()
    at = start()
    assert "No index in" in at.error[0].value
    assert "Ask whoever runs this page to build it" in at.error[0].value
    st.cache_resource.clear()


def test_upload_indexes_new_documents_and_reports_bad_ones(page_env, seed_corpus):
    at = start()
    at.file_uploader(key="upload_files").set_value([
        ("wheat.txt", b"Wheat harvest\n\nMarch 3, 2023\n\nThe wheat harvest in Kostanay "
                      b"reached nineteen million tonnes.\n", "text/plain"),
        ("../evil.txt", b"escape attempt", "text/plain"),
        ("tool.exe", b"MZ", "application/octet-stream"),
    ])
    at.button(key="FormSubmitter:upload-Add to the corpus").click().run()
    assert not at.exception, at.exception
    errors = " ".join(e.value for e in at.error)
    assert "folders are not allowed" in errors and "Unsupported file type" in errors
    assert "1 added" in at.success[0].value
    assert (seed_corpus / "wheat.txt").exists()
    assert not (seed_corpus.parent / "evil.txt").exists()
    at = ask(at, "How large was the wheat harvest in Kostanay?")
    assert "nineteen million tonnes" in at.chat_message[1].markdown[0].value


def test_delete_needs_confirmation(page_env, seed_corpus):
    at = start()
    options = at.selectbox(key="delete_doc").options
    at.selectbox(key="delete_doc").select_index(
        next(i for i, o in enumerate(options) if "Hostile" in o)).run()
    delete = next(b for b in at.button if b.label == "Delete")
    assert delete.disabled
    at.checkbox(key="delete_ok").check().run()
    next(b for b in at.button if b.label == "Delete").click().run()
    assert not at.exception, at.exception
    assert "1 removed" in at.success[0].value
    assert not (seed_corpus / "evil.html").exists()
    assert (seed_corpus / "2022-01-06-tokayev-security-council-session.txt").exists()


def test_read_only_mode_hides_and_refuses_changes(page_env, monkeypatch):
    import streamlit as st

    from qa.assistant import Assistant
    from qa.errors import ReadOnlyError

    monkeypatch.setenv("QA_READ_ONLY", "1")
    st.cache_resource.clear()
    at = start()
    assert not any(u.key == "upload_files" for u in at.file_uploader)
    assert not any(b.label == "Delete" for b in at.button)
    assert "read-only" in " ".join(i.value for i in at.info)
    qa = Assistant()
    with pytest.raises(ReadOnlyError):
        qa.add_file("x.txt", b"text")
    with pytest.raises(ReadOnlyError):
        qa.delete_document(qa.documents()[0].doc_id)


# -- exports, diff view, batch and library (issue 5) --------------------------------------


def test_conversation_can_be_exported_with_citation_offsets(page_env):
    from qa.export import conversation_markdown

    at = start()
    assert not at.get("download_button"), "nothing to export before a question"
    at = ask(at, "Which allies did Kazakhstan ask for assistance?")
    buttons = {b.proto.label: b for b in at.get("download_button")}
    assert "Export conversation" in buttons and "Download the document" in buttons
    first = at.chat_message[1].expander[0]
    offsets = first.label.rsplit("characters ", 1)[1]
    assert any(f"characters {offsets}" in c.value for c in first.caption)
    exported = conversation_markdown(at.session_state["turns"])
    assert "Which allies did Kazakhstan ask for assistance" in exported
    assert f"characters {offsets}" in exported


def verify_quote(at, quote):
    at.text_area[0].input(quote)
    at.button(key="FormSubmitter:verify-Check").click().run()
    assert not at.exception, at.exception
    return at


def test_verify_shows_the_changed_words_and_a_citation_to_copy(page_env):
    at = verify_quote(start(), "I head up the anti-terrorism command.")
    html = "".join(m.value for m in at.markdown)
    assert "<del>counter</del><ins>anti</ins>" in html
    [code] = at.code
    assert code.value.startswith(
        "“I head up the counter-terrorism command” — Kassym-Jomart Tokayev, "
        "President Kassym-Jomart Tokayev held a session of the Security Council, ")
    assert "2022-01-06" in code.value and "chars " in code.value


def test_verbatim_quote_has_no_diff_but_a_citation(page_env):
    at = verify_quote(start(), "I head up the counter-terrorism command.")
    assert "<del>" not in "".join(m.value for m in at.markdown)
    assert at.code and "counter-terrorism command" in at.code[0].value


def test_batch_verify_checks_every_row_and_offers_the_report(page_env):
    at = start()
    at.file_uploader(key="batch_csv").set_value([(
        "quotes.csv",
        b"quote,speaker\n"
        b"I head up the counter-terrorism command.,\n"
        b"I head up the anti-terrorism command.,Tokayev\n"
        b"The wheat harvest in Kostanay reached nineteen million tonnes.,\n"
        + b"word " * 1200 + b",\n",
        "text/csv")])
    at.button(key="FormSubmitter:batch-Check all").click().run()
    assert not at.exception, at.exception
    assert "Quote 4 was not checked" in " ".join(e.value for e in at.error)
    table = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    assert list(table["verdict"]) == ["verbatim", "altered", "not found"]
    assert list(table["speaker given"]) == ["", "Tokayev", ""]
    assert "Download the report (CSV)" in [b.proto.label for b in at.get("download_button")]


def test_batch_verify_reports_a_file_without_quote_column(page_env):
    at = start()
    at.file_uploader(key="batch_csv").set_value([("bad.csv", b"text\nx\n", "text/csv")])
    at.button(key="FormSubmitter:batch-Check all").click().run()
    assert "bad.csv has no 'quote' column" in " ".join(e.value for e in at.error)


def test_library_counts_quotes_and_draws_a_timeline(page_env):
    from qa.assistant import Assistant

    at = start()
    table = next(d.value for d in at.dataframe if "quotes" in d.value.columns)
    quotes = dict(zip(table["title"], table["quotes"], strict=True))
    seed = next(t for t in quotes if t.startswith("President Kassym-Jomart Tokayev"))
    expected = sum(q.direct_quote for q in Assistant().quotations())
    assert expected > 0 and quotes[seed] == expected
    assert quotes["Hostile page"] == 0
    assert at.get("vega_lite_chart"), "the timeline chart"


def test_library_without_dates_skips_the_timeline(tmp_path, monkeypatch, real_embedder):
    import streamlit as st

    from qa.index import update

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notes.txt").write_text("Harvest notes\n\nThe harvest was \"very good\", "
                                      "the farmer said. Nobody wrote down when.\n")
    update(corpus, tmp_path / "index", model=real_embedder.name,
           load_embedder=lambda _: real_embedder)
    monkeypatch.setenv("QA_CORPUS", str(corpus))
    monkeypatch.setenv("QA_INDEX", str(tmp_path / "index"))
    st.cache_resource.clear()
    at = start()
    assert not at.get("vega_lite_chart")
    assert "No document has a date" in " ".join(c.value for c in at.caption)
    st.cache_resource.clear()


def test_an_answer_to_a_question_naming_a_date_says_first_where_it_comes_from(page_env):
    at = ask(start(), "Whom did Tokayev ask for help on 6 January?")
    first = at.chat_message[1].markdown[0].value
    assert first.startswith("**From “President Kassym")
    assert "6 January 2022" in first
    assert "CSTO" in at.chat_message[1].markdown[1].value
