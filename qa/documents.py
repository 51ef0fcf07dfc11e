"""Source documents: discovery, reading every supported format, and metadata.

A corpus is a folder of ``.txt``, ``.md``, ``.html``/``.htm``, ``.pdf`` and ``.docx``
files. Each file may have a JSON sidecar next to it (``name.txt.meta.json``) with its
``title``, ``date`` and ``publisher``; whatever the sidecar leaves out is inferred from
the text and the path.

A document's whole text is held in memory and stored, so one file may be at most
``document_limit()`` bytes (50 MB unless ``QA_MAX_DOCUMENT_MB`` says otherwise); a larger
file is refused from its size alone, before any of it is read.

The extracted ``Document.text`` is the reference every offset in qa points into, so
site chrome is never cut out of it: it is only listed in ``Document.boilerplate`` for
the chunker to skip.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import os
import re
import unicodedata
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from qa.errors import IngestError, InvalidInputError

__all__ = [
    "Document",
    "SUPPORTED_SUFFIXES",
    "SIDECAR_SUFFIX",
    "MAX_DOCUMENT_BYTES",
    "LIMIT_VARIABLE",
    "document_limit",
    "discover",
    "doc_id_for",
    "load_document",
    "content_hash",
    "read_metadata",
    "infer_date",
    "decode",
]

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".html", ".htm", ".pdf", ".docx"})
SIDECAR_SUFFIX = ".meta.json"

_BINARY = "not a text file (binary content)"
_EMPTY = "empty file"

# The default size limit for one document, which the page's uploads share.
MAX_DOCUMENT_BYTES = 50 * 2**20
LIMIT_VARIABLE = "QA_MAX_DOCUMENT_MB"
# A metadata sidecar holds a few short fields; anything this large is not one.
_MAX_SIDECAR_BYTES = 2**20
_BLOCK = 2**20  # read size when hashing


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


@dataclass(frozen=True)
class Document:
    """One source document as qa sees it.

    ``text`` is the text qa extracted; every offset anywhere in qa points into it.
    ``boilerplate`` lists ``(start, end)`` spans of site chrome that stay out of chunks.
    """

    doc_id: str
    path: str
    title: str
    date: str | None
    source: str | None
    sha256: str
    text: str
    boilerplate: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        if not self.doc_id:
            raise ValueError("doc_id must not be empty")
        for start, end in self.boilerplate:
            if not 0 <= start <= end <= len(self.text):
                raise ValueError(f"boilerplate span ({start}, {end}) is outside the text")


# --------------------------------------------------------------------------- discovery


def discover(corpus: Path) -> list[Path]:
    """List every supported document under ``corpus``, recursively.

    Skipped: metadata sidecars, hidden files and folders (name starting with ``.``),
    Office lock files (``~$name.docx``), unsupported suffixes, broken symlinks and
    symlinks that resolve outside the corpus. A symlinked folder that points back at
    one of its own ancestors is not entered, so symlink loops end; a symlinked folder
    pointing elsewhere inside the corpus is walked, and its files are listed under
    both paths.

    Args:
        corpus: The corpus folder.

    Returns:
        Paths (``corpus / relative path``, symlinks not resolved) sorted by their
        posix path relative to ``corpus``.

    Raises:
        IngestError: ``corpus`` is not a folder or a folder in it cannot be listed.
    """
    root = Path(corpus)
    if not root.is_dir():
        raise IngestError(_shown(root), "corpus folder not found; pass an existing directory")
    real_root = root.resolve()
    found: list[tuple[str, Path]] = []
    # Each folder carries the real paths of its ancestors: entering one of them again
    # through a symlink is exactly what makes a loop.
    stack: list[tuple[Path, PurePosixPath, frozenset[Path]]] = [
        (root, PurePosixPath(), frozenset({real_root}))
    ]
    while stack:
        folder, rel, ancestors = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
        except OSError as exc:
            raise IngestError(_shown(folder), f"cannot list folder ({exc.strerror})") from exc
        for entry in entries:
            if entry.name.startswith((".", "~$")):
                continue
            path = folder / entry.name
            if entry.is_symlink() and not _points_inside(path, real_root):
                continue
            if entry.is_dir():
                real = path.resolve()
                if real not in ancestors:
                    stack.append((path, rel / entry.name, ancestors | {real}))
            elif entry.is_file() and _is_document_name(entry.name):
                found.append(((rel / entry.name).as_posix(), path))
    found.sort(key=lambda item: item[0])
    return [path for _, path in found]


def _points_inside(link: Path, real_root: Path) -> bool:
    """Whether the symlink's target exists and lies inside the corpus."""
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):  # broken link, or a loop that never resolves
        return False
    return target.is_relative_to(real_root)


def _is_document_name(name: str) -> bool:
    lowered = name.lower()
    if lowered.endswith(SIDECAR_SUFFIX):
        return False
    return PurePosixPath(lowered).suffix in SUPPORTED_SUFFIXES


# --------------------------------------------------------------------------- identity

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


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class _Extracted:
    """What a format reader found: the text, and a title or date if the format has one."""

    text: str
    title: str | None = None
    date: str | None = None


def load_document(path: Path, corpus: Path) -> Document:
    """Read one file of the corpus into a Document.

    Metadata comes from the sidecar when it has it, otherwise it is inferred: the
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
    meta: dict[str, Any] = sidecar[1] if sidecar else {}
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


def _shown(path: Path) -> str:
    """The path on one printable line, for messages: a file name may hold a newline,
    other control characters or bytes that are not UTF-8; those are escaped."""
    text = str(path).encode("utf-8", "backslashreplace").decode("utf-8")
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: m[0].encode("unicode_escape").decode(), text)


def _relative_posix(path: Path, corpus: Path) -> str:
    # abspath normalises ".." without resolving symlinks: a symlinked file keeps the
    # relative path it was discovered under.
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(corpus))
    if rel == os.curdir or rel.startswith(os.pardir + os.sep) or rel == os.pardir:
        raise IngestError(_shown(path), f"not inside the corpus folder {corpus}")
    return Path(rel).as_posix()


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


def _source_of(relpath: str) -> str | None:
    parts = PurePosixPath(relpath).parts
    return parts[0] if len(parts) > 1 else None


def _clean(value: object) -> str | None:
    """Whitespace-collapsed string, or None for missing or blank values."""
    if not isinstance(value, str):
        return None
    return " ".join(value.split()) or None


_TITLE_MAX = 200


def _shorten(title: str) -> str:
    # A document without a headline would otherwise get its whole first paragraph.
    if len(title) <= _TITLE_MAX:
        return title
    cut = title[:_TITLE_MAX].rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"


# --------------------------------------------------------------------------- metadata


def read_metadata(path: Path) -> dict | None:
    """Read the JSON sidecar of a document, if there is one.

    The sidecar is ``<file name>.meta.json`` next to the file. Known keys are
    ``title``, ``date`` (``YYYY-MM-DD``), ``publisher`` and ``source``; other keys are
    kept as they are.

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
    for key in ("title", "date", "publisher", "source"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            raise IngestError(where, f"{key!r} in metadata sidecar must be a string")
    value = meta.get("date")
    if value is not None and _iso_date(value) is None:
        raise IngestError(
            where, f'date {value!r} is not a valid YYYY-MM-DD date; write it like "2022-01-06"'
        )
    return meta


def _iso_date(value: str) -> str | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return None


# --------------------------------------------------------------------------- dates

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3,
    "april": 4, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9, "october": 10,
    "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
    # Russian sources write dates with the genitive: "6 января 2022".
    "января": 1, "февраля": 2, "марта": 3, "апреля": 4, "мая": 5, "июня": 6,
    "июля": 7, "августа": 8, "сентября": 9, "октября": 10, "ноября": 11, "декабря": 12,
}  # fmt: skip
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORDINAL = r"(?:st|nd|rd|th)?"
_DATE_RE = re.compile(
    rf"(?<!\d)(?P<iso_y>\d{{4}})-(?P<iso_m>\d{{2}})-(?P<iso_d>\d{{2}})(?!\d)"
    rf"|(?<![\d.])(?P<dot_d>\d{{1,2}})\.(?P<dot_m>\d{{1,2}})\.(?P<dot_y>\d{{4}})(?!\.?\d)"
    rf"|(?<!\w)(?P<mdy_m>{_MONTH})\.?\s+(?P<mdy_d>\d{{1,2}}){_ORDINAL},?\s+(?P<mdy_y>\d{{4}})(?!\d)"
    rf"|(?<![\w.])(?P<dmy_d>\d{{1,2}}){_ORDINAL}\s+(?:of\s+)?(?P<dmy_m>{_MONTH})\b\.?,?\s+"
    rf"(?P<dmy_y>\d{{4}})(?!\d)",
    re.IGNORECASE,
)
_YEARS = range(1900, 2101)


def infer_date(text: str) -> str | None:
    """Find the first plausible calendar date in ``text``.

    Recognised: ``January 6, 2022`` (also ``Jan. 6th 2022``), ``6 January 2022``,
    ``06.01.2022`` (day.month.year), ``2022-01-06`` and Russian ``6 января 2022``.
    Slashed dates are ignored because ``01/06/2022`` means different days in
    different countries. Impossible dates and years outside 1900-2100 are skipped.

    Args:
        text: Any text.

    Returns:
        The date as ``YYYY-MM-DD``, or None.
    """
    for match in _DATE_RE.finditer(text):
        for form in ("iso", "dot", "mdy", "dmy"):
            if match[f"{form}_y"] is None:
                continue
            month = match[f"{form}_m"]
            number = int(month) if month.isdigit() else _MONTHS[month.lower()]
            found = _valid_date(int(match[f"{form}_y"]), number, int(match[f"{form}_d"]))
            if found:
                return found
    return None


def _valid_date(year: int, month: int, day: int) -> str | None:
    if year not in _YEARS:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


# --------------------------------------------------------------------------- encodings

# UTF-32 first: its little-endian BOM starts with the UTF-16 one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)
# Tried, and scored against each other, before charset-normalizer, which guesses
# wrong on short Russian texts (it reads a cp1251 "Привет, мир!" as cp1125).
_CYRILLIC_ENCODINGS = ("cp1251", "koi8_r")
_RUSSIAN_COMMON = frozenset("оеаинтсрвл")  # about 60% of letters in Russian prose
_CONTROL_MAX = 0.05
_BROKEN_MAX = 0.01  # share of undecodable bytes we replace rather than reject
_TEXT_CONTROLS = frozenset("\t\n\r\f\v")


def decode(data: bytes, path: str) -> str:
    """Decode the bytes of a text file, detecting the encoding.

    Order: a byte-order mark (UTF-8, UTF-16 LE/BE, UTF-32) decides; else strict UTF-8;
    else UTF-8 with U+FFFD for a few corrupt bytes, when most non-ASCII text is valid
    UTF-8; else Russian cp1251 or KOI8-R when the text reads as Russian; else
    charset-normalizer's best guess; else, for text that is ASCII but for a stray byte
    or two, UTF-8 with U+FFFD. The BOM is not part of the result. UTF-16 without a BOM
    is not detected (its NUL bytes make it look binary).

    Args:
        data: The raw bytes.
        path: The file, for error messages.

    Returns:
        The text.

    Raises:
        IngestError: Empty or whitespace-only (``empty file``), binary
            (``not a text file (binary content)``), or undecodable.
    """
    return _decode(data, path)


def _decode(data: bytes, path: str, declared: str | None = None) -> str:
    for bom, encoding, name in _BOMS:
        if data.startswith(bom):
            try:
                return _checked(data[len(bom) :].decode(encoding), path)
            except UnicodeDecodeError as exc:
                raise IngestError(
                    path, f"starts with a {name} byte-order mark but is not valid {name}"
                ) from exc
    if b"\0" in data:
        raise IngestError(path, _BINARY)
    # UTF-8 before a declared charset: text in another encoding is almost never valid
    # UTF-8 by accident, while pages that declare the wrong charset are common.
    for encoding in ("utf-8",) + ((declared,) if declared else ()):
        try:
            return _checked(data.decode(encoding), path)
        except UnicodeDecodeError:
            continue
    return _checked(_decode_legacy(data, path), path)


def _decode_legacy(data: bytes, path: str) -> str:
    """Decode bytes that are not strict UTF-8."""
    lenient = data.decode("utf-8", "replace")
    broken = lenient.count("\ufffd")
    valid_non_ascii = sum(1 for c in lenient if ord(c) > 0x7F) - broken
    # A UTF-8 file with a corrupt byte would otherwise go to a code-page guess that
    # garbles all its other non-ASCII characters. Legacy single-byte text almost never
    # forms valid multi-byte sequences, so it does not pass this test.
    if valid_non_ascii >= 10 * broken:
        return lenient
    mixed = _decode_mixed(data)
    if mixed is not None:
        return mixed
    russian = _russian_decoding(data)
    if russian is not None:
        return russian
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None:
        return str(best)
    if broken <= _BROKEN_MAX * len(lenient):
        return lenient
    raise IngestError(path, "cannot detect the text encoding; save the file as UTF-8")


def _decode_mixed(data: bytes) -> str | None:
    """Text whose lines are partly UTF-8 and partly one legacy encoding, line by line.

    Files pasted together from several sources mix encodings. Lines that are valid UTF-8
    and hold some non-ASCII text are read as UTF-8; the others with the encoding that
    reads them best. None when the file is not such a mix.
    """
    lines = data.splitlines(keepends=True)
    legacy, utf8_letters = [], 0
    for number, line in enumerate(lines):
        try:
            utf8_letters += sum(1 for c in line.decode("utf-8") if ord(c) > 0x7F)
        except UnicodeDecodeError:
            legacy.append(number)
    if not legacy or utf8_letters < 3:
        return None
    rest = b"".join(lines[n] for n in legacy)
    encoding = _russian_encoding(rest)
    if encoding is None:
        from charset_normalizer import from_bytes

        best = from_bytes(rest).best()
        if best is None:
            return None
        encoding = best.encoding
    wanted = set(legacy)
    return "".join(line.decode(encoding, "replace") if n in wanted else line.decode("utf-8")
                   for n, line in enumerate(lines))


def _russian_encoding(data: bytes) -> str | None:
    """The single-byte Cyrillic encoding that reads ``data`` best as Russian, if any."""
    scored = []
    for encoding in _CYRILLIC_ENCODINGS:
        text = data.decode(encoding, "replace")
        if text.count("\ufffd") > _BROKEN_MAX * len(text):
            continue
        score = _russian_score(text)
        if score is not None:
            scored.append((score, -len(scored), encoding))
    return max(scored)[2] if scored else None


def _russian_decoding(data: bytes) -> str | None:
    """The best-reading Russian single-byte decoding, if any reads as Russian."""
    encoding = _russian_encoding(data)
    return None if encoding is None else data.decode(encoding, "replace")


def _russian_score(text: str) -> float | None:
    """How much ``text`` reads like Russian, or None when it plainly does not.

    A wrong single-byte Cyrillic encoding swaps upper and lower case and scrambles
    letters, so we reward common Russian letters and punish case flips inside words.
    """
    words = re.findall(r"[^\W\d_]+", text)
    cyrillic = [word for word in words if any("\u0400" <= c <= "\u04ff" for c in word)]
    letters = "".join(cyrillic)
    if len(letters) < 2 or len(letters) < 0.3 * sum(map(len, words)):
        return None
    mixed = sum(1 for word in cyrillic if re.search(r"[A-Za-z]", word))
    if mixed > 0.05 * len(cyrillic):  # é read as cp1251 gives "йtй"
        return None
    common = sum(1 for c in letters.lower() if c in _RUSSIAN_COMMON) / len(letters)
    flipped = sum(1 for word in cyrillic if re.search(r"[а-яё][А-ЯЁ]", word)) / len(cyrillic)
    score = common - flipped
    return score if score >= 0.3 else None


def _checked(text: str, path: str) -> str:
    if not text.strip():
        raise IngestError(path, _EMPTY)
    controls = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in _TEXT_CONTROLS)
    if controls > _CONTROL_MAX * len(text):
        raise IngestError(path, _BINARY)
    return text


# --------------------------------------------------------------------------- formats


def _read_text(data: bytes, where: str) -> _Extracted:
    return _Extracted(decode(data, where))


_MD_H1 = re.compile(r"^ {0,3}#[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)


def _read_markdown(data: bytes, where: str) -> _Extracted:
    text = decode(data, where)
    heading = _MD_H1.search(text)
    return _Extracted(text, title=_clean(heading[1]) if heading else None)


_HTML_DROP = [
    "head", "script", "style", "noscript", "template", "nav", "aside", "form", "iframe",
    "object", "embed", "svg", "canvas", "button", "select", "textarea", "dialog",
]  # fmt: skip
_HTML_CHROME_ROLES = ["navigation", "banner", "contentinfo", "complementary", "search"]
_HTML_BLOCKS = frozenset(
    "address article aside blockquote body caption center dd details dialog div dl dt "
    "fieldset figcaption figure footer h1 h2 h3 h4 h5 h6 header hr html li main ol p pre "
    "section summary table td th tr ul".split()
)


def _read_html(data: bytes, where: str) -> _Extracted:
    import bs4

    markup = _decode(data, where, declared=_declared_charset(data))
    with warnings.catch_warnings():
        # A page whose whole text looks like a URL, or XHTML, is still a page for us.
        warnings.simplefilter("ignore", bs4.MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", bs4.XMLParsedAsHTMLWarning)
        soup = bs4.BeautifulSoup(markup, "lxml")
    published = _meta_date(soup)
    page_title = _clean(soup.title.get_text(" ")) if soup.title else None
    _drop_html_chrome(soup)
    main = soup.find("main")
    articles = soup.find_all("article")
    root = main or (articles[0] if len(articles) == 1 else None) or soup.body or soup
    text = "\n\n".join(_html_blocks(root))
    if not text:
        raise IngestError(where, "no readable text in the HTML page")
    heading = root.find("h1") or soup.find("h1")
    title = (_clean(heading.get_text(" ")) if heading else None) or page_title
    return _Extracted(text, title=title, date=published or _time_date(root))


def _declared_charset(data: bytes) -> str | None:
    from bs4.dammit import EncodingDetector

    declared = EncodingDetector.find_declared_encoding(data, is_html=True)
    if not declared:
        return None
    try:
        name = codecs.lookup(declared).name
    except LookupError:
        return None
    if name.startswith(("utf-16", "utf-32")):  # a real UTF-16 page has a BOM
        return None
    # Browsers read pages labelled Latin-1 or ASCII as windows-1252, and so do authors.
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name


def _meta_date(soup: Any) -> str | None:
    tags = soup.find_all("meta", attrs={"property": "article:published_time"})
    return _first_iso(tag.get("content") for tag in tags)


def _time_date(root: Any) -> str | None:
    # Only <time> in the main content: sidebars list the dates of other articles.
    return _first_iso(tag.get("datetime") for tag in root.find_all("time"))


def _first_iso(values: Iterator[Any]) -> str | None:
    for value in values:
        if isinstance(value, str) and (found := _iso_date(value[:10])):
            return found
    return None


def _drop_html_chrome(soup: Any) -> None:
    chrome = soup.find_all(_HTML_DROP) + soup.find_all(attrs={"role": _HTML_CHROME_ROLES})
    for tag in chrome:
        if not tag.decomposed:
            tag.decompose()
    for tag in soup.find_all(["header", "footer"]):
        # An article's own <header> holds its headline and byline; keep that one.
        if tag.name == "footer" or tag.find_parent(["article", "main"]) is None:
            tag.decompose()


def _html_blocks(root: Any) -> list[str]:
    """Text of each block element, whitespace collapsed; <br> and <pre> keep lines."""
    from bs4.element import NavigableString, PreformattedString, Tag

    blocks: list[str] = []
    buffer: list[str] = []
    end_block, end_pre = object(), object()
    pre_depth = 0

    def flush() -> None:
        lines = (" ".join(line.split()) for line in "".join(buffer).split("\n"))
        block = "\n".join(line for line in lines if line)
        if block:
            blocks.append(block)
        buffer.clear()

    # An explicit stack instead of recursion: pages can nest deeper than Python's limit.
    stack: list[Any] = [root]
    while stack:
        node = stack.pop()
        if node is end_block:
            flush()
        elif node is end_pre:
            pre_depth -= 1
        elif isinstance(node, PreformattedString):  # comments, doctype, CDATA
            continue
        elif isinstance(node, NavigableString):
            buffer.append(str(node) if pre_depth else str(node).replace("\n", " "))
        elif isinstance(node, Tag):
            if node.name == "br":
                buffer.append("\n")
                continue
            if node.name in _HTML_BLOCKS:
                flush()
                stack.append(end_block)
            if node.name == "pre":
                pre_depth += 1
                stack.append(end_pre)
            stack.extend(reversed(node.contents))
    flush()
    return blocks


def _read_pdf(data: bytes, where: str) -> _Extracted:
    from pypdf import PdfReader

    # pypdf raises many exception types on malformed files (its own, plus KeyError,
    # ValueError, TypeError...); for us they all mean the same thing.
    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except Exception as exc:
        raise IngestError(where, "not a valid PDF file") from exc
    # A PDF with only an owner password opens with the empty user password; its text
    # is readable, so only a real user password stops us.
    if encrypted and not _decrypt_empty(reader):
        raise IngestError(where, "PDF is encrypted; save an unencrypted copy")
    try:
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = reader.metadata.title if reader.metadata else None
    except Exception as exc:
        raise IngestError(where, "not a valid PDF file (text cannot be extracted)") from exc
    text = "\n\n".join(page.strip("\n") for page in pages if page.strip())
    if not text:
        raise IngestError(where, "no text layer in PDF (scanned pages need OCR first)")
    return _Extracted(text, title=_clean(meta_title))


def _decrypt_empty(reader: Any) -> bool:
    try:
        return bool(reader.decrypt(""))
    except Exception:  # unsupported cipher or missing crypto library: still unreadable
        return False


def _read_docx(data: bytes, where: str) -> _Extracted:
    import docx

    # python-docx surfaces zip, XML, KeyError and ValueError problems as they come.
    try:
        blocks = list(_docx_blocks(docx.Document(io.BytesIO(data)), set()))
    except Exception as exc:
        raise IngestError(where, "not a valid DOCX file") from exc
    if not blocks:
        raise IngestError(where, "no text in the DOCX file")
    headings = [text for text, is_heading in blocks if is_heading]
    title = headings[0] if headings else blocks[0][0]
    return _Extracted("\n\n".join(text for text, _ in blocks), title=_clean(title))


def _docx_blocks(container: Any, seen_cells: set[Any]) -> Iterator[tuple[str, bool]]:
    """(text, is heading) of each non-empty paragraph, table cells included, in order."""
    from docx.table import Table

    for item in container.iter_inner_content():
        if isinstance(item, Table):
            for row in item.rows:
                for cell in row.cells:
                    # Merged cells come back once per grid column they span.
                    if cell._tc in seen_cells:
                        continue
                    seen_cells.add(cell._tc)
                    yield from _docx_blocks(cell, seen_cells)
        elif text := item.text.strip():
            style = item.style.name if item.style is not None else ""
            yield text, style == "Title" or style.startswith("Heading")


_READERS: dict[str, Callable[[bytes, str], _Extracted]] = {
    ".txt": _read_text,
    ".md": _read_markdown,
    ".html": _read_html,
    ".htm": _read_html,
    ".pdf": _read_pdf,
    ".docx": _read_docx,
}


# --------------------------------------------------------------------------- boilerplate

# Words that make up share bars and navigation. A line made only of them is chrome.
_NAV_WORDS = frozenset(
    "go back home menu search print share tweet twitter facebook telegram vk vkontakte "
    "whatsapp viber linkedin instagram youtube email e mail subscribe copy link read more "
    "next previous prev top to login logout rss "
    "назад вернуться главная меню поиск печать распечатать поделиться подписаться "
    "вконтакте вк одноклассники телеграм".split()
)
_SHORT_LINE = 80  # chrome lines are short; so are headlines, hence the other rules
_DATE_LINE = 60
_EDGE_LINES = 10  # how far into the top and bottom of a document headers/footers reach
_SENTENCE_END = re.compile(r"[.!?…][\"'»”’)\]]*$")


@dataclass(frozen=True)
class _Line:
    start: int
    end: int
    text: str  # stripped


def _boilerplate_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Spans of site chrome in ``text``, merged across the blank lines between them.

    Marked: lines made only of navigation/share words; short non-sentence lines that
    occur twice or more; the block above the headline when it contains such chrome
    (so a lone "National Emblem" line goes with it); and the block after the last
    sentence from its first chrome line on. Never marked: sentences, date lines, or
    the headline.
    """
    lines = _nonblank_lines(text)
    counts = Counter(_key(line.text) for line in lines)
    content = [_is_sentence(line.text) or _is_date_line(line.text) for line in lines]
    first_content = content.index(True) if True in content else len(lines)
    top = range(min(first_content, _EDGE_LINES))
    anchored = _line_above_dateline(lines, top, first_content)
    chrome = [
        i != anchored
        and (
            _is_nav(line.text)
            or (
                counts[_key(line.text)] >= 2
                and len(line.text) < _SHORT_LINE
                and not content[i]
                and not line.text.endswith(":")  # speaker labels in transcripts are content
            )
        )
        for i, line in enumerate(lines)
    ]
    marked = chrome.copy()
    headline = _headline_index(top, chrome)
    if headline is not None:
        marked[:headline] = [True] * headline
    footer = _footer_start(content, chrome, headline)
    if footer is not None:
        marked[footer:] = [True] * (len(lines) - footer)
    spans = [
        (line.start, line.end)
        for i, line in enumerate(lines)
        if marked[i] and not content[i] and i != headline
    ]
    return _merge(text, spans)


def _line_above_dateline(lines: list[_Line], top: range, first_content: int) -> int | None:
    """The line right above a dateline that ends the top block, if it is a headline.

    It stays a headline even if it recurs later (say in a related-links list), unless
    it also recurs within the top block itself or is a navigation line.
    """
    if not top or top[-1] != first_content - 1 or first_content == len(lines):
        return None
    if not _is_date_line(lines[first_content].text):
        return None
    above = top[-1]
    top_counts = Counter(_key(lines[i].text) for i in top)
    if _is_nav(lines[above].text) or top_counts[_key(lines[above].text)] > 1:
        return None
    return above


def _headline_index(top: range, chrome: list[bool]) -> int | None:
    """First non-chrome line after the last chrome line of the top block, if any.

    That line is the headline and everything above it is the site header. Without
    chrome above a line there is no evidence of a header, so nothing is extended.
    """
    last_chrome = max((i for i in top if chrome[i]), default=None)
    if last_chrome is None:
        return None
    return next((i for i in top if i > last_chrome and not chrome[i]), None)


def _footer_start(content: list[bool], chrome: list[bool], headline: int | None) -> int | None:
    """First chrome line after the last sentence (and the headline), near the end."""
    last_content = max(
        [i for i, is_content in enumerate(content) if is_content]
        + ([headline] if headline is not None else [])
        + [-1]
    )
    tail = range(max(last_content + 1, len(chrome) - _EDGE_LINES), len(chrome))
    return next((i for i in tail if chrome[i]), None)


def _nonblank_lines(text: str) -> list[_Line]:
    lines = []
    offset = 0
    for raw in text.splitlines(keepends=True):
        stripped = raw.strip()
        if stripped:
            start = offset + len(raw) - len(raw.lstrip())
            lines.append(_Line(start, start + len(stripped), stripped))
        offset += len(raw)
    return lines


def _merge(text: str, spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and not text[merged[-1][1] : start].strip():
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return tuple(merged)


def _key(line: str) -> str:
    return " ".join(line.casefold().split())


def _is_sentence(line: str) -> bool:
    return len(line) >= _SHORT_LINE or bool(_SENTENCE_END.search(line))


def _is_date_line(line: str) -> bool:
    return len(line) < _DATE_LINE and infer_date(line) is not None


def _is_nav(line: str) -> bool:
    words = re.findall(r"\w+", line.casefold())
    return (
        bool(words) and len(line) < _SHORT_LINE and not _is_sentence(line)
        and all(word in _NAV_WORDS for word in words)
    )  # fmt: skip


def _title_from_text(text: str, boilerplate: tuple[tuple[int, int], ...], markdown: bool) -> str:
    """First line that is neither boilerplate nor a date, or '' if there is none."""
    for line in _nonblank_lines(text):
        if any(start <= line.start < end for start, end in boilerplate):
            continue
        if _is_date_line(line.text):
            continue
        title = re.sub(r"^#+\s*", "", line.text) if markdown else line.text
        if cleaned := _clean(title):
            return cleaned
    return ""
