from __future__ import annotations

import pytest

from qa.render import context_window, highlight, word_diff
from qa.verify import Difference

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


@pytest.mark.parametrize(("quote", "differences", "expected"), [
    ("I head up the anti-terrorism command.", [Difference("replace", "anti", "counter", 14, 18)],
     "I head up the <del>counter</del><ins>anti</ins>-terrorism command."),
    ("I head the command.", [Difference("delete", "", "up", 7, 7)],
     "I head <del>up</del> the command."),
    ("We sent six planes today.", [Difference("replace", "six planes", "five aircraft", 8, 18)],
     "We sent <del>five aircraft</del><ins>six planes</ins> today."),
    ("We will never stop", [Difference("insert", "never", "", 8, 13)],
     "We will <ins>never</ins> stop"),
    ("We will", [Difference("delete", "", "stop", 7, 7)], "We will <del>stop</del>"),
    ("“WE WILL stop”", [], "“WE WILL stop”"),
    # drawn in the quote's order, whatever order they come in
    ("a b c", [Difference("replace", "c", "z", 4, 5), Difference("replace", "a", "y", 0, 1)],
     "<del>y</del><ins>a</ins> b <del>z</del><ins>c</ins>"),
])
def test_word_diff_draws_the_verdicts_differences(quote, differences, expected):
    assert word_diff(quote, differences) == f'<div class="qa-diff">{expected}</div>'


@pytest.mark.parametrize("payload", PAYLOADS)
def test_word_diff_escapes_both_texts(payload):
    quote = f"Quote {payload} ends."
    out = word_diff(quote, [Difference("replace", "Quote", f"Source {payload}", 0, 5)])
    assert "<script" not in out and "<img" not in out and "<a " not in out
    assert "<ins>Quote</ins>" in out and "&lt;" in out
