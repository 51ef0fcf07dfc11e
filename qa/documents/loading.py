"""Loading: one file of the corpus read into a ``Document``, and its content hash."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from qa.dates import infer_date
from qa.documents._base import _clean, _shown
from qa.documents.boilerplate import _boilerplate_spans, _title_from_text
from qa.documents.discovery import SUPPORTED_SUFFIXES
from qa.documents.encodings import _EMPTY
from qa.documents.folders import folder_defaults
from qa.documents.formats import _READERS
from qa.documents.ids import doc_id_for
from qa.documents.limits import _read_document_bytes, document_limit
from qa.documents.sidecars import (
    KINDS,
    SIDECAR_SUFFIX,
    _read_sidecar,
    _sidecar_of,
    _unreadable_sidecar,
)
from qa.errors import IngestError

__all__ = ["Document", "load_document", "content_hash"]

_BLOCK = 2**20  # read size when hashing


@dataclass(frozen=True)
class Document:
    """One source document as qa sees it.

    ``text`` is the text qa extracted; every offset anywhere in qa points into it.
    ``boilerplate`` lists ``(start, end)`` spans of site chrome that stay out of chunks.
    ``kind`` is ``"primary"`` (the words as said: a transcript, statement, speech) or
    ``"secondary"`` (a report quoting them); ``speaker`` is the person whose words the
    document's own text is, when it is an address or a transcript of one speaker.
    """

    doc_id: str
    path: str
    title: str
    date: str | None
    source: str | None
    sha256: str
    text: str
    boilerplate: tuple[tuple[int, int], ...] = ()
    kind: str = "primary"
    speaker: str | None = None

    def __post_init__(self) -> None:
        if not self.doc_id:
            raise ValueError("doc_id must not be empty")
        if self.kind not in KINDS:
            raise ValueError(f"kind {self.kind!r} is not one of {KINDS}")
        for start, end in self.boilerplate:
            if not 0 <= start <= end <= len(self.text):
                raise ValueError(f"boilerplate span ({start}, {end}) is outside the text")


def load_document(path: Path, corpus: Path) -> Document:
    """Read one file of the corpus into a Document.

    Metadata comes from the sidecar when it has it, then from the folder's defaults in
    the corpus's ``folders.toml`` (``qa.documents.folders``), otherwise it is inferred: the
    title from the headline (markdown ``#`` heading, HTML ``<h1>``/``<title>``, DOCX
    heading, PDF metadata title, else the first line that is neither boilerplate nor
    a date), the date from the first date in the text, and the source from the first
    folder of the relative path (``akorda/x.txt`` -> ``akorda``).

    ``sha256`` is the hex SHA-256 of the file's bytes; when a sidecar exists it is
    ``sha256(file bytes + b"\\0" + sidecar bytes)``, so editing the metadata alone also
    makes the document re-index.

    A file larger than ``document_limit()`` is refused from its size, before a byte of
    it is read.

    Args:
        path: The file, inside ``corpus``.
        corpus: The corpus folder; ``Document.path`` is relative to it.

    Returns:
        The document.

    Raises:
        IngestError: The file or its sidecar cannot be read or turned into text; the
            problem is one line, e.g. ``empty file``, ``PDF is encrypted`` or ``too
            large (200 MB; the limit for one document is 50 MB); ...``.
        InvalidInputError: ``QA_MAX_DOCUMENT_MB`` is set to something that is not a
            positive number.
    """
    path = Path(path)
    where = _shown(path)
    relpath = _relative_posix(path, Path(corpus))
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES or path.name.lower().endswith(SIDECAR_SUFFIX):
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise IngestError(where, f"unsupported file type {suffix or '(none)'!r}; use {supported}")
    data = _read_document_bytes(path, document_limit())
    if not data:
        raise IngestError(where, _EMPTY)
    sidecar = _read_sidecar(path)
    extracted = _READERS[suffix](data, where)
    text = extracted.text
    boilerplate = _boilerplate_spans(text)
    # the folder's defaults (folders.toml), then the document's own sidecar over them
    meta: dict[str, Any] = {**folder_defaults(Path(corpus), relpath),
                            **(sidecar[1] if sidecar else {})}
    title = _clean(meta.get("title")) or _shorten(
        extracted.title
        or _title_from_text(text, boilerplate, markdown=suffix == ".md")
        or PurePosixPath(relpath).stem
    )
    return Document(
        doc_id=doc_id_for(relpath),
        path=relpath,
        title=title,
        date=meta.get("date") or extracted.date or infer_date(text),
        source=_clean(meta.get("publisher")) or _clean(meta.get("source")) or _source_of(relpath),
        sha256=_hash(data, sidecar[0] if sidecar else None),
        text=text,
        boilerplate=boilerplate,
        kind=meta.get("kind") or "primary",
        speaker=_clean(meta.get("speaker")),
    )


def content_hash(path: Path) -> str:
    """The ``sha256`` that ``load_document(path, ...)`` will give, without parsing.

    Cheap change detection for indexing: it reads the file and its sidecar's bytes
    in blocks, so memory stays small whatever their size (a file over the size limit
    still gets a hash; ``load_document`` is what refuses it), and it neither extracts
    text nor validates the sidecar.

    Args:
        path: The document.

    Returns:
        Hex SHA-256 of the file's bytes, or of ``file bytes + b"\\0" + sidecar bytes``
        when a sidecar exists.

    Raises:
        IngestError: The file or its sidecar cannot be read.
    """
    path = Path(path)
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            _hash_blocks(digest, f)
    except OSError as exc:
        raise IngestError(_shown(path), f"cannot read file ({exc.strerror or exc})") from exc
    sidecar = _sidecar_of(path)
    try:
        with open(sidecar, "rb") as f:
            digest.update(b"\0")
            _hash_blocks(digest, f)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise IngestError(_shown(sidecar), _unreadable_sidecar(exc)) from exc
    return digest.hexdigest()


def _hash_blocks(digest: Any, f: BinaryIO) -> None:
    while block := f.read(_BLOCK):
        digest.update(block)


def _hash(data: bytes, sidecar: bytes | None) -> str:
    digest = hashlib.sha256(data)
    if sidecar is not None:
        digest.update(b"\0" + sidecar)
    return digest.hexdigest()


def _relative_posix(path: Path, corpus: Path) -> str:
    # abspath normalises ".." without resolving symlinks: a symlinked file keeps the
    # relative path it was discovered under.
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(corpus))
    if rel == os.curdir or rel.startswith(os.pardir + os.sep) or rel == os.pardir:
        raise IngestError(_shown(path), f"not inside the corpus folder {corpus}")
    return Path(rel).as_posix()


def _source_of(relpath: str) -> str | None:
    parts = PurePosixPath(relpath).parts
    return parts[0] if len(parts) > 1 else None


_TITLE_MAX = 200


def _shorten(title: str) -> str:
    # A document without a headline would otherwise get its whole first paragraph.
    if len(title) <= _TITLE_MAX:
        return title
    cut = title[:_TITLE_MAX].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"
