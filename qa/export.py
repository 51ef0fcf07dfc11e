"""Files and lines the page hands to the user: a conversation in Markdown, a citation
ready to paste, and the batch verification report.

Everything here is pure (no Streamlit), so it is tested directly. Text taken from
documents or typed by users is Markdown-escaped in the Markdown export, since the file
may be opened in a viewer that renders HTML.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qa.errors import InvalidInputError
from qa.render import escape_markdown

if TYPE_CHECKING:
    from qa.answer import Answer, Citation
    from qa.verify import Verdict

__all__ = ["citation_line", "conversation_markdown", "document_file_name", "read_batch_upload",
           "report_csv"]


def _where(c: Citation) -> str:
    return (f"{escape_markdown(c.title)}, {c.date or 'undated'} — "
            f"`{c.doc_id}`, characters {c.start}–{c.end}, "
            f"source: {escape_markdown(c.source or c.path)}")


def conversation_markdown(turns: Sequence[Answer]) -> str:
    """The whole conversation as Markdown: each question, its answer and full citations
    (quote, title, date, doc_id, offsets and source), or the related passages of an
    abstention."""
    lines = ["# Conversation", ""]
    for i, turn in enumerate(turns, 1):
        lines += [f"## {i}. {escape_markdown(turn.question)}", "",
                  escape_markdown(turn.answer), ""]
        if turn.abstained:
            if turn.related:
                lines += ["No answer in the documents. Possibly related passages:", ""]
            for p in turn.related:
                lines.append(f"- {escape_markdown(p.title)}, {p.date or 'undated'} — "
                             f"`{p.doc_id}`, characters {p.start}–{p.end}")
            lines.append("")
            continue
        if turn.citations:
            lines += ["Citations:", ""]
        for c in turn.citations:
            lines += [f"{c.n}. > {escape_markdown(c.quote)}", "",
                      f"   {_where(c)}", ""]
    return "\n".join(lines).rstrip() + "\n"


def citation_line(verdict: Verdict) -> str | None:
    """A plain-text citation of a verified quote, ready to paste:
    ``“words” — Speaker, Title, Date (doc_id, chars S–E)``; None without a match.

    The words are the source's, not the quote's, so the citation is exact.
    """
    m = verdict.match
    if m is None:
        return None
    who = f"{verdict.speaker}, " if verdict.speaker else ""
    words = " ".join(m.text.split())
    return (f"“{words}” — {who}{m.title}, {m.date or 'undated'} "
            f"({m.doc_id}, chars {m.start}–{m.end})")


def document_file_name(path: str) -> str:
    """The file name for downloading a document's stored text: the corpus file's stem and
    ``.txt``, since the stored text is plain text whatever the original format."""
    stem = Path(path.replace("\\", "/")).stem or "document"
    return f"{stem}.txt"


def read_batch_upload(name: str, data: bytes) -> list[tuple[str, str | None]]:
    """``(quote, speaker)`` rows of an uploaded CSV, as ``qa.verify.read_batch`` reads a
    file; messages name the upload, not the temporary file."""
    from qa.verify import read_batch

    safe_name = Path(name).name or "upload.csv"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / safe_name
        path.write_bytes(data)
        try:
            return read_batch(path)
        except InvalidInputError as e:
            raise InvalidInputError(str(e).replace(str(path), safe_name)) from None


def report_csv(verdicts: Sequence[Verdict], speakers: Sequence[str | None]) -> str:
    """The batch report as CSV text, the same columns as ``qa verify --file --out``."""
    from qa.verify import REPORT_COLUMNS, report_row

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=REPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(report_row(v, s) for v, s in zip(verdicts, speakers, strict=True))
    return out.getvalue()
