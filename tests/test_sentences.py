from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.sentences import sentence_spans


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dr. Who arrived at 5 p.m. today. Then U.S. troops came.",
         ["Dr. Who arrived at 5 p.m. today.", "Then U.S. troops came."]),
        ("Mr. J. R. Smith spoke. He left.", ["Mr. J. R. Smith spoke.", "He left."]),
        ("He said “we will win…” Then he left.", ["He said “we will win…”", "Then he left."]),
        ("“It is over,” he said. “We won.”", ["“It is over,” he said.", "“We won.”"]),
        ("“I head up the command. We are aware of it,” the Head of State said.",
         ["“I head up the command.", "We are aware of it,” the Head of State said."]),
        ("Итак, мы победим. Это точно.", ["Итак, мы победим.", "Это точно."]),
        ("No final stop", ["No final stop"]),
        ("", []),
    ],
)
def test_sentences(text, expected):
    assert [text[s:e] for s, e in sentence_spans(text)] == expected


def test_offsets_into_a_region():
    text = "Skip this. Keep this one. And this."
    start = text.index("Keep")
    assert [text[s:e] for s, e in sentence_spans(text, start)] == ["Keep this one.", "And this."]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("Ab. ?!“”…\n'\"Zz,")), max_size=300))
def test_spans_are_ordered_trimmed_slices(text):
    previous_end = 0
    for s, e in sentence_spans(text):
        assert previous_end <= s < e <= len(text)
        assert text[s:e] == text[s:e].strip()
        previous_end = e
