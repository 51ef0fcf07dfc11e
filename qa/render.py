"""Safe HTML and Markdown renderings of passages and answers for the page.

Document text is untrusted: everything taken from a document is escaped here, and the
page shows only what these functions return.
"""

from __future__ import annotations

import html
import re
import unicodedata
from difflib import SequenceMatcher

from qa.verify import ELISION, TOKEN

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


# Words and numbers as qa.verify compares them, plus the elision marks a quote may use.
_WORD = re.compile(f"(?P<elision>{ELISION.pattern})|{TOKEN.pattern}")
_ELIDED = "\0elision"  # never equal to a word, so elided source words are not "equal"


def _words(text: str) -> list[tuple[str, int, int]]:
    out = []
    for m in _WORD.finditer(text):
        if m.group("elision"):
            out.append((_ELIDED, m.start(), m.end()))
        else:
            norm = unicodedata.normalize("NFKC", m.group()).lower()
            out.append((norm.replace("’", "'").replace("`", "'"), m.start(), m.end()))
    return out


def word_diff(quote: str, source: str) -> str:
    """HTML of ``quote`` with the changes from ``source`` marked word by word.

    Source words the quote drops or replaces are in ``<del>``, the quote's own words in
    ``<ins>``; case, punctuation and typography are ignored as ``qa.verify`` ignores them,
    and source words skipped at a marked elision ("...", "[…]") are not shown as deleted.
    Both texts are escaped.
    """
    q, s = _words(quote), _words(source)
    matcher = SequenceMatcher(None, [w for w, _, _ in s], [w for w, _, _ in q], autojunk=False)
    parts, cursor = [], 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        at = q[j1][1] if j1 < len(q) else len(quote)
        parts.append(html.escape(quote[cursor:at]))
        cursor = at
        quoted = [w for w, _, _ in q[j1:j2]]
        if quoted and all(w == _ELIDED for w in quoted):
            continue  # an elision: the skipped words are the quote's choice, and marked
        deleted = f"<del>{html.escape(source[s[i1][1]:s[i2 - 1][2]])}</del>" if i2 > i1 else ""
        if j2 > j1:
            cursor = q[j2 - 1][2]
            parts.append(f"{deleted}<ins>{html.escape(quote[at:cursor])}</ins>")
        else:  # words dropped: keep a space between them and the quote's next word
            parts.append(f"{deleted} " if at < len(quote) else f" {deleted}")
    parts.append(html.escape(quote[cursor:]))
    return f'<div class="qa-diff">{"".join(parts)}</div>'
