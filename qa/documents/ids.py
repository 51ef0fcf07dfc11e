"""Document ids: a stable, readable id for each path of the corpus."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import PurePosixPath

__all__ = ["doc_id_for"]

_SLUG_MAX = 60


def doc_id_for(relpath: str) -> str:
    """Stable document id from the posix path relative to the corpus.

    The id is a readable lowercase ASCII slug of the path without its suffix (at most
    60 characters; ``doc`` when nothing ASCII is left, e.g. a Cyrillic file name)
    followed by the first 8 hex digits of ``sha1(relpath)``, so the same path always
    gives the same id and paths that slug alike still differ.

    Args:
        relpath: Path relative to the corpus, in posix form (``a/Hello World.txt``).

    Returns:
        An id such as ``a-hello-world-1a2b3c4d``.
    """
    suffix = PurePosixPath(relpath).suffix
    stem = relpath[: -len(suffix)] if suffix else relpath
    ascii_form = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_form.lower()).strip("-")
    slug = slug[:_SLUG_MAX].rstrip("-") or "doc"
    # surrogateescape: file names that are not valid UTF-8 still get an id.
    digest = hashlib.sha1(relpath.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f"{slug}-{digest}"
