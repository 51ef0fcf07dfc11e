"""Sentence boundaries with exact offsets.

syntok handles abbreviations ("Dr.", "U.S."), initials ("J. R. Smith") and sentences
inside quotations. One rule is added on top: a quotation that ends in an ellipsis or
other final punctuation ("…we will win…” He left.") ends its sentence when the next
word starts with a capital letter.
"""

from __future__ import annotations

import re

__all__ = ["ends_sentence", "sentence_spans"]

# A final mark, then any closing quotes or brackets: what ends a sentence (and what a
# heading, a dateline or a menu line lacks).
_SENTENCE_END = re.compile(r"[.!?…][\"'»”’)\]]*$")
# a final mark, then closing quotes, then space, then a capitalised word or opening quote
_QUOTE_END = re.compile(r"[.!?…]+[”\"»’']+(?=\s+[“\"«]?[A-ZА-ЯЁ])")


def ends_sentence(text: str) -> bool:
    """Whether ``text`` ends like a sentence: final punctuation, then closing quotes."""
    return bool(_SENTENCE_END.search(text.rstrip()))


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence in ``text[start:end]``, as offsets into ``text``.

    Spans never include leading or trailing whitespace, and ``text[s:e]`` is the sentence.
    """
    import syntok.segmenter as segmenter

    end = len(text) if end is None else end
    region = text[start:end]
    spans = []
    for paragraph in segmenter.analyze(region):
        for sentence in paragraph:
            tokens = [t for t in sentence if t.value]
            if tokens:
                spans.append((tokens[0].offset, tokens[-1].offset + len(tokens[-1].value)))
    spans = [piece for span in spans for piece in _split_after_quotes(region, span)]
    return [(start + s, start + e) for s, e in spans]


def _split_after_quotes(text: str, span: tuple[int, int]) -> list[tuple[int, int]]:
    s, e = span
    pieces, cursor = [], s
    for m in _QUOTE_END.finditer(text, s, e):
        pieces.append((cursor, m.end()))
        cursor = m.end()
        while cursor < e and text[cursor].isspace():
            cursor += 1
    pieces.append((cursor, e))
    return [(a, b) for a, b in pieces if b > a]
