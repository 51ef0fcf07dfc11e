"""Size limits: how large one document may be, and reading a file within that limit.

A document's whole text is held in memory and stored, so one file may be at most
``document_limit()`` bytes (50 MB unless ``QA_MAX_DOCUMENT_MB`` says otherwise); a larger
file is refused from its size alone, before any of it is read.
"""

from __future__ import annotations

import os
from pathlib import Path

from qa.documents._base import _shown
from qa.errors import IngestError, InvalidInputError

__all__ = ["MAX_DOCUMENT_BYTES", "LIMIT_VARIABLE", "document_limit"]

# The default size limit for one document, which the page's uploads share.
MAX_DOCUMENT_BYTES = 50 * 2**20
LIMIT_VARIABLE = "QA_MAX_DOCUMENT_MB"


def document_limit() -> int:
    """The largest file, in bytes, that qa reads as one document.

    ``MAX_DOCUMENT_BYTES`` (50 MB), unless the environment variable
    ``QA_MAX_DOCUMENT_MB`` gives another number of megabytes (MiB; fractions allowed).

    Raises:
        InvalidInputError: ``QA_MAX_DOCUMENT_MB`` is not a positive number.
    """
    raw = os.environ.get(LIMIT_VARIABLE, "").strip()
    if not raw:
        return MAX_DOCUMENT_BYTES
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = float("nan")
    if not 0 < megabytes < float("inf") or megabytes * 2**20 < 1:
        raise InvalidInputError(f"{LIMIT_VARIABLE}={raw!r} is not a positive number of "
                                f"megabytes. Set it like {LIMIT_VARIABLE}=50, or unset it.")
    return int(megabytes * 2**20)


def _megabytes(size: int) -> str:
    value = size / 2**20
    return f"{value:.0f} MB" if value >= 100 else f"{value:.3g} MB"


def _too_large(size: int, limit: int) -> str:
    shown, allowed = _megabytes(size), _megabytes(limit)
    if shown == allowed:  # just over the limit: megabytes would read "50 MB, limit 50 MB"
        shown, allowed = f"{size:,} bytes", f"{limit:,} bytes"
    return (f"too large ({shown}; the limit for one document is {allowed}); split it into "
            f"smaller files or raise {LIMIT_VARIABLE}")


def _read_document_bytes(path: Path, limit: int) -> bytes:
    """The file's bytes, or IngestError when it is over ``limit`` bytes.

    The size is checked on the open file before anything is read, and the read stops
    one byte past the limit, so a file that grows meanwhile cannot fill the memory.
    """
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > limit:
                raise IngestError(_shown(path), _too_large(size, limit))
            data = f.read(size + 1)
            if len(data) > size:  # it grew since fstat: read on, up to the limit
                data += f.read(limit + 1 - len(data))
                if len(data) > limit:
                    raise IngestError(_shown(path), _too_large(os.fstat(f.fileno()).st_size, limit))
    except OSError as exc:
        raise IngestError(_shown(path), f"cannot read file ({exc.strerror or exc})") from exc
    return data
