"""Sidecars: a document's metadata in the JSON file next to it.

Each file may have a JSON sidecar next to it (``name.txt.meta.json``) with its ``title``,
``date`` and ``publisher``; whatever the sidecar leaves out is inferred from the text and
the path. Two more keys say what the document is to a quote check: ``kind``, ``"primary"``
(an official transcript, statement, speech or press release: the default) or
``"secondary"`` (a news report or article quoting someone), and ``speaker``, the person
whose words the document's own text is (an address, a transcript).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qa.dates import iso_date
from qa.documents._base import _shown
from qa.documents.limits import _megabytes
from qa.errors import IngestError

__all__ = ["KINDS", "SIDECAR_SUFFIX", "check_metadata", "read_metadata"]

SIDECAR_SUFFIX = ".meta.json"
# What a document is to a quote check: the words as said (primary) or as reported.
KINDS = ("primary", "secondary")
# A metadata sidecar holds a few short fields; anything this large is not one.
_MAX_SIDECAR_BYTES = 2**20


def read_metadata(path: Path) -> dict | None:
    """Read the JSON sidecar of a document, if there is one.

    The sidecar is ``<file name>.meta.json`` next to the file. Known keys are
    ``title``, ``date`` (``YYYY-MM-DD``), ``publisher``, ``source``, ``kind``
    (``KINDS``) and ``speaker``; other keys are kept as they are.

    Args:
        path: The document (not the sidecar).

    Returns:
        The sidecar's JSON object, or None when there is no sidecar.

    Raises:
        IngestError: The sidecar is not valid UTF-8 JSON, not an object, has a known
            key of the wrong type, or a date that is not ``YYYY-MM-DD``.
    """
    sidecar = _read_sidecar(Path(path))
    return sidecar[1] if sidecar else None


def _read_sidecar(path: Path) -> tuple[bytes, dict[str, Any]] | None:
    raw = _read_sidecar_bytes(path)
    if raw is None:
        return None
    return raw, _parse_metadata(raw, _shown(_sidecar_of(path)))


def _read_sidecar_bytes(path: Path) -> bytes | None:
    sidecar = _sidecar_of(path)
    try:
        with open(sidecar, "rb") as f:
            raw = f.read(_MAX_SIDECAR_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IngestError(_shown(sidecar), _unreadable_sidecar(exc)) from exc
    if len(raw) > _MAX_SIDECAR_BYTES:
        raise IngestError(_shown(sidecar), f"metadata sidecar is over "
                          f"{_megabytes(_MAX_SIDECAR_BYTES)}; keep only its title, date and "
                          "publisher")
    return raw


def _unreadable_sidecar(exc: OSError) -> str:
    return f"cannot read metadata sidecar ({exc.strerror or exc})"


def _sidecar_of(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def _parse_metadata(raw: bytes, where: str) -> dict[str, Any]:
    try:
        meta = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise IngestError(where, "metadata sidecar is not UTF-8; save it as UTF-8 JSON") from exc
    except json.JSONDecodeError as exc:
        raise IngestError(
            where,
            f"invalid JSON in metadata sidecar ({exc.msg} at line {exc.lineno} column "
            f"{exc.colno}); fix the JSON or delete the file",
        ) from exc
    if not isinstance(meta, dict):
        raise IngestError(
            where, 'metadata sidecar must be a JSON object like {"title": "...", "date": "..."}'
        )
    check_metadata(meta, where)
    return meta


def check_metadata(meta: dict[str, Any], where: str) -> None:
    """Refuse known keys of the wrong type or value (a sidecar's or a folder's)."""
    for key in ("title", "date", "publisher", "source", "kind", "speaker"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            raise IngestError(where, f"{key!r} in metadata must be a string")
    value = meta.get("date")
    if value is not None and iso_date(value) is None:
        raise IngestError(
            where, f'date {value!r} is not a valid YYYY-MM-DD date; write it like "2022-01-06"'
        )
    kind = meta.get("kind")
    if kind is not None and kind not in KINDS:
        raise IngestError(where, f"kind {kind!r} is not one of {', '.join(KINDS)}: "
                                 '"primary" for a transcript, statement, speech or press '
                                 'release, "secondary" for a report that quotes them')
