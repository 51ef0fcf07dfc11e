from __future__ import annotations

import pytest

from qa.render import context_window, highlight

PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_document_markup_is_escaped(payload):
    text = f"Before. {payload} The cited sentence. After."
    start = text.index("The cited")
    out = highlight(text, start, start + len("The cited sentence."))
    assert "<script" not in out and "<img" not in out and "<a " not in out
    assert "&lt;" in out
    assert "<mark>The cited sentence.</mark>" in out


def test_highlight_marks_the_span_inside_its_paragraph():
    text = "First paragraph.\n\nSecond one. Cited here. End.\n\nThird."
    start = text.index("Cited")
    out = highlight(text, start, start + len("Cited here."))
    assert "First paragraph" not in out and "Third" not in out
    assert "Second one. <mark>Cited here.</mark> End." in out


def test_context_window_stays_in_bounds():
    text = "x" * 50
    assert context_window(text, 10, 20, radius=1000) == (0, 50)
