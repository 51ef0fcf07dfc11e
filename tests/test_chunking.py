from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.chunking import Chunk, ChunkerSettings, chunk_document, chunk_text
from qa.documents import Document

text_strategy = st.lists(
    st.sampled_from(list("ab cd.\n\t,Яё“”…-") + ["\n\n", "  ", "word ", "Word. "]),
    max_size=1500,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(text=text_strategy, size=st.integers(50, 400), overlap_ratio=st.floats(0, 0.5))
def test_every_chunk_is_the_exact_slice_of_the_text(text, size, overlap_ratio):
    chunker = ChunkerSettings(size=size, overlap=int(size * overlap_ratio))
    spans = chunk_text(text, chunker)
    for start, end in spans:
        assert 0 <= start < end <= len(text)
        assert text[start:end].strip() == text[start:end]
    assert [s for s, _ in spans] == sorted(s for s, _ in spans)


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=2000))
def test_arbitrary_unicode_text_keeps_offsets(text):
    doc = Document("d", "d.txt", "t", None, None, "0" * 64, text)
    for chunk in chunk_document(doc, ChunkerSettings(size=120, overlap=20)):
        assert doc.text[chunk.start:chunk.end] == chunk.text


def test_chunks_cover_all_non_space_text_and_respect_size():
    text = " ".join(f"Sentence number {i} says something." for i in range(200))
    spans = chunk_text(text, ChunkerSettings(size=300, overlap=50))
    assert all(end - start <= 300 for start, end in spans)
    covered = set()
    for start, end in spans:
        covered.update(range(start, end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_repeated_passages_map_to_their_own_occurrence():
    block = "The same paragraph again and again. " * 3
    text = "\n\n".join([block] * 6)
    spans = chunk_text(text, ChunkerSettings(size=120, overlap=0))
    starts = [s for s, _ in spans]
    assert len(set(starts)) == len(starts)


def test_boilerplate_stays_out_of_chunks_but_offsets_point_into_full_text():
    text = "Go back Twitter Facebook Print\n\nThe real news is here.\n\nGo back Twitter"
    header = (0, text.index("\n\n"))
    footer = (text.rindex("Go back"), len(text))
    doc = Document("d", "d.txt", "t", None, None, "0" * 64, text, boilerplate=(header, footer))
    chunks = chunk_document(doc)
    assert [c.text for c in chunks] == ["The real news is here."]
    assert text[chunks[0].start:chunks[0].end] == chunks[0].text


@pytest.mark.parametrize(("size", "overlap"), [(10, 0), (100, 100), (100, -1)])
def test_invalid_settings_are_refused(size, overlap):
    with pytest.raises(ValueError):
        ChunkerSettings(size=size, overlap=overlap)


def test_chunk_validates_its_offsets():
    with pytest.raises(ValueError):
        Chunk("d", 0, 5, "abc")
