"""Safe HTML and Markdown renderings of passages and answers for the page.

Document text is untrusted: everything taken from a document is escaped here, and the
page shows only what these functions return.
"""

from __future__ import annotations

import html

__all__ = ["context_window", "escape_markdown", "highlight"]


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
