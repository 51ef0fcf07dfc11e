"""Safe HTML and Markdown renderings of passages and answers for the page.

Document text is untrusted: everything taken from a document is escaped here, and the
page shows only what these functions return.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qa.verify import Difference

__all__ = ["context_window", "escape_markdown", "highlight", "word_diff"]


def context_window(text: str, start: int, end: int, radius: int = 400) -> tuple[int, int]:
    """A span around ``text[start:end]`` widened to about ``radius`` characters each side,
    snapped to paragraph or sentence boundaries where there are any."""
    lo = max(0, start - radius)
    hi = min(len(text), end + radius)
    para = text.rfind("\n\n", lo, start)
    lo = para + 2 if para >= 0 else lo
    para = text.find("\n\n", end, hi)
    hi = para if para >= 0 else hi
    return lo, hi


def highlight(text: str, start: int, end: int, radius: int = 400) -> str:
    """HTML of the passage around ``text[start:end]`` with that span marked.

    Every character from the document is escaped, so markup in a document shows as text.
    """
    lo, hi = context_window(text, start, end, radius)
    before = html.escape(text[lo:start])
    marked = html.escape(text[start:end])
    after = html.escape(text[end:hi])
    lead = "… " if lo > 0 else ""
    tail = " …" if hi < len(text) else ""
    body = f"{lead}{before}<mark>{marked}</mark>{after}{tail}".replace("\n", "<br>")
    return f'<div class="qa-passage">{body}</div>'


_MD_SPECIAL = set("\\`*_{}()#+-.!|<>~$:")


def escape_markdown(text: str) -> str:
    """``text`` with every Markdown and HTML character backslash-escaped, for st.markdown."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text)


def word_diff(quote: str, differences: Sequence[Difference]) -> str:
    """HTML of ``quote`` with ``qa.verify``'s differences marked in it.

    The source's words that the quote drops or replaces are in ``<del>``, the quote's own
    words in ``<ins>``: the very changes the verdict lists, drawn where they are in the
    quote. Both texts are escaped.
    """
    parts, cursor = [], 0
    for d in sorted(differences, key=lambda d: (d.start, d.end)):
        parts.append(html.escape(quote[cursor:d.start]))
        deleted = f"<del>{html.escape(d.source)}</del>" if d.source else ""
        if d.end > d.start:
            parts.append(f"{deleted}<ins>{html.escape(quote[d.start:d.end])}</ins>")
        else:  # words dropped: keep a space between them and the quote's next word
            parts.append(f"{deleted} " if d.start < len(quote) else f" {deleted}")
        cursor = max(cursor, d.end)
    parts.append(html.escape(quote[cursor:]))
    return f'<div class="qa-diff">{"".join(parts)}</div>'
