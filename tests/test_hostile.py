"""Oversized and empty queries and quotes, on the real model and index."""

from __future__ import annotations

import pytest

from qa.assistant import Assistant
from qa.config import Settings
from qa.errors import InvalidInputError

HUGE = "Almaty airport aircraft " * 4300  # about 100 kB


@pytest.fixture(scope="module")
def qa(tmp_path_factory, real_embedder):
    from tests.conftest import copy_seed

    root = tmp_path_factory.mktemp("hostile")
    copy_seed(root / "corpus")
    assistant = Assistant(Settings(corpus=root / "corpus", index=root / "index"),
                          embedder=real_embedder)
    assistant.update()
    return assistant


def test_100kb_query_is_searched_and_answered(qa):
    assert len(HUGE) > 100_000
    hits = qa.search(HUGE, k=3)
    assert hits and "Almaty" in hits[0].text
    answer = qa.answer(HUGE)
    for c in answer.citations:
        assert qa.document(c.doc_id).text[c.start:c.end] == c.quote


def test_100kb_quote_is_refused_with_the_limit(qa):
    with pytest.raises(InvalidInputError, match="at most"):
        qa.verify(HUGE)


@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
def test_empty_inputs_are_refused(qa, blank):
    with pytest.raises(InvalidInputError, match="empty"):
        qa.search(blank)
    with pytest.raises(InvalidInputError, match="empty"):
        qa.answer(blank)
    with pytest.raises(InvalidInputError, match="no words"):
        qa.verify(blank)
