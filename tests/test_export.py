from __future__ import annotations

import csv
import io

import pytest

from qa.answer import Answer, Citation
from qa.errors import InvalidInputError
from qa.export import (
    citation_line,
    conversation_markdown,
    document_file_name,
    read_batch_upload,
    report_csv,
)
from qa.verify import REPORT_COLUMNS, Difference, Match, Verdict

TEXT = "Intro. I head up the counter-terrorism command. <script>x</script> End."
START = TEXT.index("I head")
END = TEXT.index("command.") + len("command.")


def citation(n=1, quote=TEXT[START:END], start=START, end=END):
    return Citation(n, "abc123", "news/2022-01-06-session.html", "Security Council session",
                    "2022-01-06", "akorda.kz", start, end, quote)


def test_conversation_markdown_has_every_turn_with_full_citations():
    payload = TEXT.index("<script>")
    cited = (citation(), citation(2, TEXT[payload:payload + 17], payload, payload + 17))
    turns = [
        Answer("Who heads the command?", f"{cited[0].quote} [1] {cited[1].quote} [2]", False,
               cited),
        Answer("Who won the World Cup?", "The documents do not say.", True),
    ]
    md = conversation_markdown(turns)
    assert md.index("Who heads the command") < md.index("Who won the World Cup")
    assert f"characters {START}–{END}" in md
    assert f"characters {payload}–{payload + 17}" in md
    assert md.count("2022-01-06 — `abc123`") == 2
    assert "Security Council session" in md and "akorda\\.kz" in md
    assert "I head up the counter\\-terrorism command\\." in md
    assert "<script>" not in md  # untrusted text is escaped for Markdown viewers
    assert "The documents do not say" in md


def test_conversation_markdown_falls_back_to_the_path_without_a_source():
    c = Citation(1, "abc123", "notes.txt", "Notes", None, None, 0, 4, "Text")
    md = conversation_markdown([Answer("Q?", "Text [1]", False, (c,))])
    assert "Notes, undated" in md and "source: notes\\.txt" in md


def verdict(speaker="Kassym-Jomart Tokayev", match=True):
    m = Match("abc123", "news/s.txt", "Security Council session", "2022-01-06", START, END,
              TEXT[START:END]) if match else None
    return Verdict("I head up the anti-terrorism command.", "altered" if match else "not_found",
                   0.9, match=m, speaker=speaker if match else None,
                   differences=(Difference("replace", "anti", "counter"),) if match else ())


def test_citation_line_quotes_the_source_words_and_says_where():
    assert citation_line(verdict()) == (
        "“I head up the counter-terrorism command.” — Kassym-Jomart Tokayev, "
        f"Security Council session, 2022-01-06 (abc123, chars {START}–{END})")
    assert citation_line(verdict(speaker=None)).startswith(
        "“I head up the counter-terrorism command.” — Security Council session,")
    assert citation_line(verdict(match=False)) is None


@pytest.mark.parametrize(("path", "name"), [
    ("news/2022-01-06-session.html", "2022-01-06-session.txt"),
    ("report.pdf", "report.txt"),
    ("a\\b\\memo.docx", "memo.txt"),
    ("notes.txt", "notes.txt"),
])
def test_document_file_name(path, name):
    assert document_file_name(path) == name


def test_read_batch_upload_reads_quotes_and_speakers():
    data = b"quote,speaker\nFirst quote,Tokayev\n\"Second, with comma\",\n,\n"
    assert read_batch_upload("quotes.csv", data) == [
        ("First quote", "Tokayev"), ("Second, with comma", None)]


def test_read_batch_upload_names_the_upload_in_errors():
    with pytest.raises(InvalidInputError) as e:
        read_batch_upload("../my quotes.csv", b"text,who\nx,y\n")
    assert str(e.value).startswith("my quotes.csv has no 'quote' column")
    assert "/tmp" not in str(e.value)


def test_report_csv_has_one_row_per_verdict_in_the_cli_columns():
    out = report_csv([verdict(), verdict(match=False)], ["Tokayev", None])
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == REPORT_COLUMNS
    assert [r["verdict"] for r in rows] == ["altered", "not_found"]
    assert rows[0]["start"] == str(START) and rows[0]["speaker_given"] == "Tokayev"
    assert rows[1]["doc_id"] == ""
