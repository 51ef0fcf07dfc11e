"""Small helpers the modules of qa.documents share: paths and values made fit for messages."""

from __future__ import annotations

import re
from pathlib import Path


def _shown(path: Path) -> str:
    """The path on one printable line, for messages: a file name may hold a newline,
    other control characters or bytes that are not UTF-8; those are escaped."""
    text = str(path).encode("utf-8", "backslashreplace").decode("utf-8")
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: m[0].encode("unicode_escape").decode(), text)


def _clean(value: object) -> str | None:
    """Whitespace-collapsed string, or None for missing or blank values."""
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None
