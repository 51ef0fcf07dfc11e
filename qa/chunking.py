"""Splitting documents into passages that keep their exact character offsets."""

from __future__ import annotations

from dataclasses import dataclass

from qa.documents import Document

__all__ = ["Chunk", "ChunkerSettings", "chunk_document", "chunk_text"]


@dataclass(frozen=True)
class ChunkerSettings:
    """How documents are cut. Recorded in the manifest: changing it means a rebuild.

    The defaults were chosen by measurement on SciFact (see docs/benchmarks.md):
    about 200 tokens keeps a chunk inside all-MiniLM-L6-v2's 256-token window.
    """

    size: int = 800
    overlap: int = 120

    def __post_init__(self) -> None:
        if self.size < 50:
            raise ValueError(f"chunk size {self.size} is too small; use at least 50 characters")
        if not 0 <= self.overlap < self.size:
            raise ValueError(f"chunk overlap {self.overlap} must be between 0 and size {self.size}")

    def as_dict(self) -> dict[str, int | str]:
        return {"splitter": "RecursiveCharacterTextSplitter", "size": self.size,
                "overlap": self.overlap}


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: ``document.text[start:end] == text``."""

    doc_id: str
    start: int
    end: int
    text: str

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end or self.end - self.start != len(self.text):
            raise ValueError(f"chunk offsets ({self.start}, {self.end}) do not fit its text")


def chunk_text(text: str, settings: ChunkerSettings = ChunkerSettings()) -> list[tuple[int, int]]:
    """Return ``(start, end)`` spans of the chunks of ``text``, in order.

    langchain's splitter returns chunk strings; their positions are found again in the
    text. A chunk repeats at most ``overlap`` characters of the one before it, so each is
    looked for from there on: repeated passages map to the right occurrence.
    """
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(
        chunk_size=settings.size, chunk_overlap=settings.overlap, strip_whitespace=True
    )
    spans: list[tuple[int, int]] = []
    for piece in splitter.split_text(text):
        prev_start, prev_end = spans[-1] if spans else (0, 0)
        start = text.find(piece, max(prev_start, prev_end - settings.overlap))
        if start < 0:  # in case a chunk ever repeats more than the overlap
            start = text.find(piece, prev_start)
        if start < 0:  # the splitter only ever returns substrings; guard anyway
            raise ValueError("text splitter returned a chunk that is not in the text")
        spans.append((start, start + len(piece)))
    return spans


def chunk_document(doc: Document, settings: ChunkerSettings = ChunkerSettings()) -> list[Chunk]:
    """Chunk the parts of ``doc`` outside its boilerplate spans."""
    chunks = []
    for seg_start, seg_end in _content_segments(doc):
        segment = doc.text[seg_start:seg_end]
        for start, end in chunk_text(segment, settings):
            chunks.append(Chunk(doc.doc_id, seg_start + start, seg_start + end,
                                segment[start:end]))
    return chunks


def _content_segments(doc: Document) -> list[tuple[int, int]]:
    """The spans of ``doc.text`` left once boilerplate is cut out."""
    segments, cursor = [], 0
    for start, end in sorted(doc.boilerplate):
        if start > cursor:
            segments.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < len(doc.text):
        segments.append((cursor, len(doc.text)))
    return [(s, e) for s, e in segments if doc.text[s:e].strip()]
