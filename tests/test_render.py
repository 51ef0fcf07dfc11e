from __future__ import annotations

import pytest

from qa.render import context_window, highlight, word_diff

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


@pytest.mark.parametrize(("quote", "source", "expected"), [
    ("I head up the anti-terrorism command.", "I head up the counter-terrorism command.",
     "I head up the <del>counter</del><ins>anti</ins>-terrorism command."),
    ("I head the command.", "I head up the command.", "I head <del>up</del> the command."),
    ("We sent six planes today.", "We sent five aircraft today.",
     "We sent <del>five aircraft</del><ins>six planes</ins> today."),
    ("We will never stop", "We will stop", "We will <ins>never</ins> stop"),
    ("We will", "We will stop", "We will <del>stop</del>"),
    # case, punctuation and typography are not changes
    ("“WE WILL stop”", "We will, stop.", "“WE WILL stop”"),
    # words skipped at a marked elision are the quote's choice, not a deletion
    ("I head up [...] command.", "I head up the counter-terrorism command.",
     "I head up [...] command."),
])
def test_word_diff_marks_changed_words(quote, source, expected):
    assert word_diff(quote, source) == f'<div class="qa-diff">{expected}</div>'


@pytest.mark.parametrize("payload", PAYLOADS)
def test_word_diff_escapes_both_texts(payload):
    out = word_diff(f"Quote {payload} ends.", f"Source {payload} ends here.")
    assert "<script" not in out and "<img" not in out and "<a " not in out
    assert "<del>Source</del><ins>Quote</ins>" in out and "&lt;" in out
