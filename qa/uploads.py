"""Adding files to the corpus from outside (the page's upload) and deleting them.

File names from a browser are untrusted: only a plain base name with a supported
suffix is accepted, never a path, a hidden file or a silent overwrite.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from qa.documents import (
    MAX_DOCUMENT_BYTES,
    SIDECAR_SUFFIX,
    SUPPORTED_SUFFIXES,
    document_limit,
)
from qa.errors import InvalidInputError, NotFoundError

__all__ = ["MAX_UPLOAD_BYTES", "Saved", "safe_name", "save_upload", "delete_file"]

# An upload is a document: the same limit, so nothing is accepted that indexing refuses.
MAX_UPLOAD_BYTES = MAX_DOCUMENT_BYTES


@dataclass(frozen=True)
class Saved:
    """A file written into the corpus."""

    path: Path
    replaced: bool


def safe_name(name: str) -> str:
    """The base name to store an upload under, or InvalidInputError saying why not."""
    name = unicodedata.normalize("NFC", name)
    if re.search(r"[\x00-\x1f\x7f]", name):
        raise InvalidInputError(f"Invalid file name {name!r}: it contains control characters; "
                                "rename the file.")
    base = re.split(r"[\\/]", name)[-1].strip()
    if not base or base in (".", "..") or base.startswith("."):
        raise InvalidInputError(f"Invalid file name {name!r}: give a plain, visible file name.")
    if base != name.strip():
        raise InvalidInputError(f"Invalid file name {name!r}: folders are not allowed in "
                                "upload names; upload the file itself.")
    suffix = Path(base).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES or base.lower().endswith(SIDECAR_SUFFIX):
        allowed = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise InvalidInputError(f"Unsupported file type {suffix or '(none)'!r} for {base!r}. "
                                f"Choose from {allowed}.")
    if len(base.encode()) > 200:
        raise InvalidInputError(f"File name {base[:40]!r}… is too long; shorten it.")
    return base


def save_upload(corpus: Path, name: str, data: bytes, *, overwrite: bool = False,
                limit: int | None = None) -> Saved:
    """Write ``data`` as ``corpus/<name>`` atomically; refuse to replace unless asked.

    ``limit`` defaults to ``qa.documents.document_limit()`` (50 MB, or
    ``QA_MAX_DOCUMENT_MB``).
    """
    base = safe_name(name)
    limit = document_limit() if limit is None else limit
    if len(data) > limit:
        raise InvalidInputError(f"{base} is {len(data) / 2**20:.3g} MB, over the "
                                f"{limit / 2**20:.3g} MB limit for one document. Split it into "
                                "smaller files.")
    if not data:
        raise InvalidInputError(f"{base} is empty; upload a file with text in it.")
    corpus.mkdir(parents=True, exist_ok=True)
    target = corpus / base
    replaced = target.exists()
    if replaced and not overwrite:
        raise InvalidInputError(f"{base} already exists in the corpus. Confirm replacing it, "
                                "or rename the file.")
    tmp = corpus / f".upload-{os.getpid()}-{base}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return Saved(target, replaced)


def delete_file(corpus: Path, relpath: str) -> None:
    """Remove a document and its metadata sidecar from the corpus."""
    root = corpus.resolve()
    target = (corpus / relpath).resolve()
    if root not in target.parents:
        raise InvalidInputError(f"{relpath!r} is not inside the corpus.")
    if not target.is_file():
        raise NotFoundError(f"{relpath!r} is not in the corpus.", fix="list_documents")
    target.unlink()
    target.with_name(target.name + SIDECAR_SUFFIX).unlink(missing_ok=True)
