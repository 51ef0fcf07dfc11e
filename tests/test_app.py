"""The page through Streamlit's AppTest, on the real model and index."""

from __future__ import annotations

from pathlib import Path

import pytest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def page_env(tmp_path, seed_corpus, monkeypatch, real_embedder):
    import streamlit as st

    from qa.index import update

    update(seed_corpus, tmp_path / "index", model=real_embedder.name,
           load_embedder=lambda _: real_embedder)
    monkeypatch.setenv("QA_CORPUS", str(seed_corpus))
    monkeypatch.setenv("QA_INDEX", str(tmp_path / "index"))
    st.cache_resource.clear()
    yield tmp_path
    st.cache_resource.clear()


def run(**query):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def test_page_lists_documents_and_searches(page_env):
    at = run()
    assert "1 documents" in at.caption[0].value
    assert any("Security Council" in m.value for m in at.sidebar.markdown)
    at.text_input[0].input("asking the Collective Security Treaty allies for help").run()
    assert not at.exception
    first = at.markdown[0].value
    assert "President Kassym-Jomart Tokayev" in first and "characters" in first
    assert "CSTO" in at.text[0].value


def test_page_without_index_says_what_to_do(tmp_path, monkeypatch):
    import streamlit as st

    monkeypatch.setenv("QA_INDEX", str(tmp_path / "none"))
    st.cache_resource.clear()
    at = run()
    assert "Run `qa index` first" in at.error[0].value
    st.cache_resource.clear()
