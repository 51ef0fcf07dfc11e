"""Encodings: decoding the bytes of a text file, BOMs, UTF-8, legacy and Cyrillic code pages."""

from __future__ import annotations

import codecs
import re
import unicodedata

from qa.errors import IngestError

__all__ = ["decode"]

_BINARY = "not a text file (binary content)"
_EMPTY = "empty file"

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
