"""Tests for qa.documents: discovery, formats, encodings, metadata and boilerplate."""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import re
import shutil
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qa.documents import (
    MAX_DOCUMENT_BYTES,
    SIDECAR_SUFFIX,
    SUPPORTED_SUFFIXES,
    Document,
    content_hash,
    decode,
    discover,
    doc_id_for,
    document_limit,
    infer_date,
    load_document,
    read_metadata,
)
from qa.errors import IngestError, InvalidInputError, QAError

SEED_NAME = "2022-01-06-tokayev-security-council-session.txt"
SEED = Path(__file__).resolve().parents[1] / "corpus" / SEED_NAME
SEED_TITLE = "President Kassym-Jomart Tokayev held a session of the Security Council"

RUSSIAN_LONG = (
    "Президент Касым-Жомарт Токаев провёл заседание Совета безопасности в Акорде. "
    "На повестке дня обсуждались вопросы противодействия террористическим и преступным "
    "элементам, пытающимся дестабилизировать обстановку в стране."
)
RUSSIAN_SHORT = "Привет, мир!"


# --------------------------------------------------------------------------- helpers


def _write(folder: Path, relpath: str, data: bytes | str) -> Path:
    path = folder / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def _load(tmp_path: Path, relpath: str, data: bytes | str) -> Document:
    return load_document(_write(tmp_path, relpath, data), tmp_path)


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _pdf(lines: list[str], title: str | None = None) -> bytes:
    """A minimal valid one-page PDF whose text layer holds ``lines`` in Helvetica."""
    shown = " ".join(f"({_pdf_escape(line)}) Tj T*" for line in lines)
    content = f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if title is not None:
        objects.append(b"<< /Title (" + _pdf_escape(title).encode("latin-1") + b") >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    info = b" /Info 6 0 R" if title is not None else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\n" % (len(objects) + 1, info)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _encrypted_pdf(user_password: str) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf(["Secret budget figures."]))))
    # RC4 needs no optional crypto library, unlike AES.
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_paragraph("Draft — internal")
    document.add_heading("Budget hearing in Astana", level=1)
    document.add_paragraph("The committee met on Monday.")
    document.add_paragraph("")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Region"
    table.cell(0, 1).text = "Spending"
    table.cell(1, 0).text = "Almaty"
    table.cell(1, 1).text = "42 billion tenge"
    document.add_paragraph("Figures are preliminary.")
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


def _spanned(document: Document) -> list[str]:
    return [document.text[start:end] for start, end in document.boilerplate]


# --------------------------------------------------------------------------- discovery


def test_supported_suffixes_and_sidecar_suffix() -> None:
    assert SUPPORTED_SUFFIXES == {".txt", ".md", ".html", ".htm", ".pdf", ".docx"}
    assert SIDECAR_SUFFIX == ".meta.json"


def test_discover_lists_documents_sorted_and_skips_the_rest(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    for relpath in [
        "b.txt",
        "a/z.md",
        "a/page.HTML",
        "a/old.htm",
        "report.pdf",
        "memo.docx",
        "b.txt.meta.json",  # sidecar
        ".hidden.txt",
        ".git/inside.txt",  # hidden folder
        "a/.draft.md",
        "~$memo.docx",  # Word lock file
        "notes.json",
        "image.png",
        "README",
    ]:
        _write(corpus, relpath, "x")

    found = discover(corpus)

    assert [p.relative_to(corpus).as_posix() for p in found] == [
        "a/old.htm",
        "a/page.HTML",
        "a/z.md",
        "b.txt",
        "memo.docx",
        "report.pdf",
    ]
    assert all(p.is_file() for p in found)


def test_discover_follows_inside_symlinks_but_not_outside_ones_or_loops(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _write(corpus, "real/doc.txt", "x")
    _write(tmp_path, "outside/secret.txt", "x")
    (corpus / "out-file.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (corpus / "out-dir").symlink_to(tmp_path / "outside", target_is_directory=True)
    (corpus / "alias.txt").symlink_to(corpus / "real" / "doc.txt")
    (corpus / "real" / "loop").symlink_to(corpus, target_is_directory=True)
    (corpus / "real" / "self").symlink_to(corpus / "real", target_is_directory=True)
    (corpus / "broken.txt").symlink_to(corpus / "missing.txt")
    (corpus / "spin.txt").symlink_to(corpus / "spin.txt")  # a link to itself

    found = [p.relative_to(corpus).as_posix() for p in discover(corpus)]

    assert found == ["alias.txt", "real/doc.txt"]


def test_discover_refuses_a_missing_corpus(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="corpus folder not found"):
        discover(tmp_path / "nope")


# --------------------------------------------------------------------------- identity


@pytest.mark.parametrize(
    ("relpath", "slug"),
    [
        ("a/Hello World.txt", "a-hello-world"),
        ("2022-01-06-tokayev.txt", "2022-01-06-tokayev"),
        ("Café/Résumé (final).docx", "cafe-resume-final"),
        ("ru/Привет.txt", "ru"),
        ("Привет.txt", "doc"),
        ("__weird__.md", "weird"),
        ("x" * 100 + ".txt", "x" * 60),
        ("a" * 59 + "-b.txt", "a" * 59),  # no dangling dash after the cut
    ],
)
def test_doc_id_is_slug_plus_sha1_prefix(relpath: str, slug: str) -> None:
    digest = hashlib.sha1(relpath.encode("utf-8")).hexdigest()[:8]
    assert doc_id_for(relpath) == f"{slug}-{digest}"


def test_doc_id_is_stable_and_distinct() -> None:
    paths = ["a b.txt", "a-b.txt", "a_b.txt", "A B.txt", "a b.md", "x/a b.txt", "x/y/a b.txt"]
    ids = [doc_id_for(p) for p in paths]
    assert ids == [doc_id_for(p) for p in paths]
    assert len(set(ids)) == len(paths)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*-[0-9a-f]{8}", i) for i in ids)


def test_doc_id_survives_undecodable_file_names() -> None:
    assert doc_id_for("bad\udcff.txt").startswith("bad-")


# --------------------------------------------------------------------------- formats


def test_txt_text_is_the_file_exactly(tmp_path: Path) -> None:
    raw = "  Headline\r\n\r\nBody with  double  spaces.\ttab\n\n\nEnd.\n"
    document = _load(tmp_path, "news/story.txt", raw.encode("utf-8"))

    assert document.text == raw
    assert document.path == "news/story.txt"
    assert document.doc_id == doc_id_for("news/story.txt")
    assert document.title == "Headline"
    assert document.source == "news"
    assert document.sha256 == hashlib.sha256(raw.encode("utf-8")).hexdigest()


def test_md_keeps_markup_and_takes_the_hash_heading_as_title(tmp_path: Path) -> None:
    raw = "Site name\n\n# Parliament passes the budget #\n\n*Astana*, 6 January 2022.\n"
    document = _load(tmp_path, "story.md", raw)

    assert document.text == raw
    assert document.title == "Parliament passes the budget"
    assert document.date == "2022-01-06"
    assert document.source is None


HTML_PAGE = """<!DOCTYPE html>
<html><head>
  <title>Budget passed | Daily News</title>
  <style>.hero { color: red }</style>
  <script>var tracking = "SCRIPT-TEXT";</script>
</head>
<body>
  <header><div class="logo">HEADER-TEXT</div></header>
  <nav><a href="/">NAV-TEXT</a></nav>
  <article>
    <header><h1>Parliament   passes
       the budget</h1><time datetime="2022-01-06T10:00">6 Jan</time></header>
    <p>The Mazhilis approved the <b>2022</b> budget on
       Thursday.</p>
    <div>Spending rises<br>by ten percent.</div>
    <ul><li>Health</li><li>Schools</li></ul>
    <!-- COMMENT-TEXT -->
    <form><input name="q"><button>FORM-TEXT</button></form>
    <footer>Share FOOTER-TEXT</footer>
  </article>
  <aside>ASIDE-TEXT</aside>
  <footer>SITE-FOOTER-TEXT</footer>
  <script>console.log("MORE-SCRIPT")</script>
</body></html>
"""


def test_html_keeps_main_text_only_in_blocks(tmp_path: Path) -> None:
    document = _load(tmp_path, "page.html", HTML_PAGE)

    assert document.text == (
        "Parliament passes the budget\n\n"
        "6 Jan\n\n"
        "The Mazhilis approved the 2022 budget on Thursday.\n\n"
        "Spending rises\nby ten percent.\n\n"
        "Health\n\n"
        "Schools"
    )
    assert document.title == "Parliament passes the budget"
    assert document.date == "2022-01-06"


@pytest.mark.parametrize(
    ("html", "title"),
    [
        ("<title>From title</title><p>Body text here.</p>", "From title"),
        ("<title>From title</title><h1>From h1</h1><p>Body.</p>", "From h1"),
        ("<p>First line</p><p>Second line.</p>", "First line"),
    ],
)
def test_html_title_prefers_h1_then_title_then_text(tmp_path: Path, html: str, title: str) -> None:
    assert _load(tmp_path, "p.htm", html).title == title


def test_html_uses_the_declared_charset(tmp_path: Path) -> None:
    html = f'<html><head><meta charset="windows-1251"></head><p>{RUSSIAN_SHORT}</p></html>'
    document = _load(tmp_path, "ru.html", html.encode("cp1251"))
    assert document.text == RUSSIAN_SHORT


def test_pdf_text_layer_and_metadata_title(tmp_path: Path) -> None:
    lines = ["Budget hearing in Astana", "6 January 2022", "The committee met on Monday."]
    document = _load(tmp_path, "hearing.pdf", _pdf(lines, title="Hearing (PDF title)"))

    assert document.text.split("\n") == lines
    assert document.title == "Hearing (PDF title)"
    assert document.date == "2022-01-06"


def test_pdf_without_metadata_title_uses_the_first_line(tmp_path: Path) -> None:
    document = _load(tmp_path, "hearing.pdf", _pdf(["Budget hearing", "Text follows."]))
    assert document.title == "Budget hearing"


def test_pdf_with_only_an_owner_password_is_read(tmp_path: Path) -> None:
    document = _load(tmp_path, "open.pdf", _encrypted_pdf(user_password=""))
    assert document.text == "Secret budget figures."


def test_docx_paragraphs_and_table_cells(tmp_path: Path) -> None:
    document = load_document(_docx(tmp_path / "memos" / "memo.docx"), tmp_path)

    assert document.text == (
        "Draft — internal\n\n"
        "Budget hearing in Astana\n\n"
        "The committee met on Monday.\n\n"
        "Region\n\nSpending\n\nAlmaty\n\n42 billion tenge\n\n"
        "Figures are preliminary."
    )
    assert document.title == "Budget hearing in Astana"
    assert document.source == "memos"


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"Plain ASCII.", "Plain ASCII.", id="ascii"),
        pytest.param("Алматы — «город».".encode(), "Алматы — «город».", id="utf8"),
        pytest.param(codecs.BOM_UTF8 + "Qazaqstan ✓".encode(), "Qazaqstan ✓", id="utf8-bom"),
        pytest.param(
            codecs.BOM_UTF16_LE + RUSSIAN_SHORT.encode("utf-16-le"), RUSSIAN_SHORT, id="utf16le"
        ),
        pytest.param(
            codecs.BOM_UTF16_BE + RUSSIAN_SHORT.encode("utf-16-be"), RUSSIAN_SHORT, id="utf16be"
        ),
        pytest.param(RUSSIAN_LONG.encode("cp1251"), RUSSIAN_LONG, id="cp1251-long"),
        pytest.param(RUSSIAN_SHORT.encode("cp1251"), RUSSIAN_SHORT, id="cp1251-short"),
        pytest.param("ВНИМАНИЕ".encode("cp1251"), "ВНИМАНИЕ", id="cp1251-caps"),
        pytest.param("Да".encode("cp1251"), "Да", id="cp1251-tiny"),
        pytest.param(RUSSIAN_LONG.encode("koi8_r"), RUSSIAN_LONG, id="koi8r-long"),
        pytest.param(RUSSIAN_SHORT.encode("koi8_r"), RUSSIAN_SHORT, id="koi8r-short"),
        pytest.param(
            ("Алматы — столица. " * 3).encode()[:-2] + b"\xff ",
            ("Алматы — столица. " * 3)[:-2] + "\ufffd ",
            id="utf8-with-a-corrupt-byte",
        ),
        pytest.param(
            RUSSIAN_LONG.encode("cp1251")[:-1] + b"\x98",
            RUSSIAN_LONG[:-1] + "\ufffd",
            id="cp1251-with-an-undefined-byte",
        ),
        pytest.param(
            "It’s the committee’s “final” word — agreed. ".encode("cp1252") * 3,
            "It’s the committee’s “final” word — agreed. " * 3,
            id="cp1252-smart-quotes",
        ),
        pytest.param(
            "Café au lait, été, naïve résumé for the élève.".encode("cp1252"),
            "Café au lait, été, naïve résumé for the élève.",
            id="cp1252",
        ),
    ],
)
def test_decode_detects_the_encoding(data: bytes, expected: str) -> None:
    assert decode(data, "f.txt") == expected


@pytest.mark.parametrize("position", [0, 50, 120, 224])
def test_ascii_with_one_stray_byte_still_decodes(position: int) -> None:
    # Whether the stray byte becomes a code-page character or U+FFFD is the
    # detector's call; the rest of the text must survive either way.
    data = bytearray(b"Plain english text about the budget hearing. " * 5)
    data[position] = 0x98
    text = decode(bytes(data), "f.txt")
    assert len(text) == len(data)
    assert text[:position] + text[position + 1 :] == (
        data[:position] + data[position + 1 :]
    ).decode("ascii")


class _NoGuess:
    """Stands in for charset-normalizer's result when it recognises nothing."""

    def best(self) -> None:
        return None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"Plain text. " * 20 + b"\x98", "Plain text. " * 20 + "\ufffd"),
        (b"Plain text. " * 20 + b"\x98\x99\x9a\x9b", None),
    ],
)
def test_undetectable_encoding(
    monkeypatch: pytest.MonkeyPatch, data: bytes, expected: str | None
) -> None:
    import charset_normalizer

    monkeypatch.setattr(charset_normalizer, "from_bytes", lambda _data: _NoGuess())
    if expected is None:
        with pytest.raises(IngestError, match="cannot detect the text encoding"):
            decode(data, "f.txt")
    else:
        assert decode(data, "f.txt") == expected


def test_cp1251_file_loads_as_russian(tmp_path: Path) -> None:
    document = _load(
        tmp_path, "ru/news.txt", (RUSSIAN_SHORT + "\n\n" + RUSSIAN_LONG).encode("cp1251")
    )
    assert document.text == RUSSIAN_SHORT + "\n\n" + RUSSIAN_LONG
    assert document.title == RUSSIAN_SHORT


@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1))
def test_decode_round_trips_utf8(text: str) -> None:
    if not text.strip():
        return
    assert decode(text.encode("utf-8"), "f.txt") == text


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        (
            "photo.txt",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01",
            "not a text file (binary content)",
        ),
        ("controls.txt", bytes(range(1, 9)) * 20 + b"abc", "not a text file (binary content)"),
        ("zero.txt", b"", "empty file"),
        ("blank.md", b" \n\t\r\n  ", "empty file"),
        ("bom-only.txt", codecs.BOM_UTF8, "empty file"),
        ("zero.pdf", b"", "empty file"),
        ("garbage.pdf", b"this is not a pdf at all, just words", "not a valid PDF file"),
        ("truncated.pdf", _pdf(["Hello"])[:60], "not a valid PDF file"),
        ("garbage.docx", b"PK\x03\x04 definitely not a zip", "not a valid DOCX file"),
        ("text.docx", b"plain text pretending to be docx", "not a valid DOCX file"),
        ("encrypted.pdf", _encrypted_pdf(user_password="secret"), "PDF is encrypted"),
        ("scan.pdf", _pdf([]), "no text layer in PDF"),
        ("empty.html", b"<html><script>x()</script><nav>menu</nav></html>", "no readable text"),
        ("bad-bom.txt", codecs.BOM_UTF8 + b"\xff\xfe\xfa", "not valid UTF-8"),
        ("notes.json", b"{}", "unsupported file type"),
    ],
)
def test_unreadable_input_raises_ingest_error(
    tmp_path: Path, name: str, data: bytes, problem: str
) -> None:
    path = _write(tmp_path, name, data)
    with pytest.raises(IngestError) as caught:
        load_document(path, tmp_path)
    assert problem in caught.value.problem
    assert caught.value.path == str(path)
    assert "\n" not in str(caught.value)


def test_missing_file_and_outside_path_raise_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="cannot read file"):
        load_document(tmp_path / "gone.txt", tmp_path)
    other = _write(tmp_path, "other/x.txt", "Hello.")
    with pytest.raises(IngestError, match="not inside the corpus"):
        load_document(other, tmp_path / "corpus")


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_anything_but_ingest_error(data: bytes) -> None:
    # hypothesis forbids function-scoped fixtures here, so each suffix gets a fresh folder.
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for suffix in sorted(SUPPORTED_SUFFIXES):
            path = Path(folder) / f"f{suffix}"
            path.write_bytes(data)
            try:
                document = load_document(path, Path(folder))
            except IngestError:
                continue
            assert document.text.strip()


# --------------------------------------------------------------------------- metadata


def _seed(tmp_path: Path, relpath: str = SEED_NAME, sidecar: dict | bytes | None = None) -> Path:
    path = tmp_path / relpath
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SEED, path)
    if sidecar is not None:
        raw = sidecar if isinstance(sidecar, bytes) else json.dumps(sidecar).encode()
        path.with_name(path.name + SIDECAR_SUFFIX).write_bytes(raw)
    return path


def test_seed_with_sidecar_uses_its_metadata_and_hashes_it(tmp_path: Path) -> None:
    meta = {
        "title": "Session of the Security Council",
        "date": "2022-01-07",
        "publisher": "Akorda",
        "url": "https://akorda.kz/",
    }
    path = _seed(tmp_path, "akorda/seed.txt", meta)
    sidecar_bytes = path.with_name("seed.txt.meta.json").read_bytes()

    document = load_document(path, tmp_path)

    assert read_metadata(path) == meta
    assert (document.title, document.date, document.source) == (
        "Session of the Security Council",
        "2022-01-07",
        "Akorda",
    )
    expected = hashlib.sha256(SEED.read_bytes() + b"\0" + sidecar_bytes).hexdigest()
    assert document.sha256 == expected
    assert document.text == SEED.read_text(encoding="utf-8")


def test_editing_the_sidecar_changes_the_hash(tmp_path: Path) -> None:
    path = _seed(tmp_path, sidecar={"title": "One"})
    first = load_document(path, tmp_path).sha256
    _seed(tmp_path, sidecar={"title": "Two"})
    assert load_document(path, tmp_path).sha256 != first


@pytest.mark.parametrize("sidecar", [None, {"title": "With sidecar"}])
def test_content_hash_matches_the_document_hash(tmp_path: Path, sidecar: dict | None) -> None:
    path = _seed(tmp_path, sidecar=sidecar)
    expected = hashlib.sha256(SEED.read_bytes())
    if sidecar is not None:
        expected.update(b"\0" + json.dumps(sidecar).encode())
    assert content_hash(path) == load_document(path, tmp_path).sha256 == expected.hexdigest()


def test_content_hash_of_a_missing_file_raises_ingest_error(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="cannot read file"):
        content_hash(tmp_path / "gone.txt")


# --------------------------------------------------------------------------- size limit

HEAD = b"Statement of the ministry.\n"


def sparse(path: Path, size: int, head: bytes = HEAD) -> Path:
    """A file of ``size`` bytes that starts with ``head`` and takes almost no disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


def _peak_bytes(call):
    """Run ``call()``; return its result (or exception) and the peak Python allocation."""
    tracemalloc.start()
    try:
        try:
            result = call()
        except Exception as exc:  # noqa: BLE001 - handed back to the test to check
            result = exc
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_file_over_the_limit_is_refused_from_its_size_without_reading_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QA_MAX_DOCUMENT_MB", raising=False)
    path = sparse(tmp_path / "huge.txt", 200 * 2**20)

    error, peak = _peak_bytes(lambda: load_document(path, tmp_path))

    assert isinstance(error, IngestError)
    assert str(error) == (
        f"{path}: too large (200 MB; the limit for one document is 50 MB); split it into "
        "smaller files or raise QA_MAX_DOCUMENT_MB"
    )
    assert peak < 2**20  # nothing of the 200 MB was read


@pytest.mark.parametrize(("over", "refused"), [(-1, False), (0, False), (1, True), (2**20, True)])
def test_the_limit_is_exact_and_set_by_qa_max_document_mb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, over: int, refused: bool
) -> None:
    monkeypatch.setenv("QA_MAX_DOCUMENT_MB", "0.25")
    limit = 2**18
    assert document_limit() == limit
    path = tmp_path / "doc.txt"
    path.write_bytes((HEAD * (limit // len(HEAD) + 2**16))[: limit + over])
    if not refused:
        assert len(load_document(path, tmp_path).text) == limit + over
        return
    with pytest.raises(IngestError) as caught:
        load_document(path, tmp_path)
    size = f"{limit + over:,} bytes" if over == 1 else f"{(limit + over) / 2**20:.3g} MB"
    allowed = "262,144 bytes" if over == 1 else "0.25 MB"
    assert caught.value.problem == (
        f"too large ({size}; the limit for one document is {allowed}); split it into smaller "
        "files or raise QA_MAX_DOCUMENT_MB"
    )


def test_the_default_limit_is_50_mb_and_uploads_share_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from qa.uploads import MAX_UPLOAD_BYTES, save_upload

    monkeypatch.delenv("QA_MAX_DOCUMENT_MB", raising=False)
    assert document_limit() == MAX_DOCUMENT_BYTES == MAX_UPLOAD_BYTES == 50 * 2**20
    monkeypatch.setenv("QA_MAX_DOCUMENT_MB", "0.25")
    with pytest.raises(InvalidInputError) as caught:
        save_upload(Path("/nonexistent"), "big.txt", b"x" * (2**18 + 2**17))
    assert str(caught.value) == ("big.txt is 0.375 MB, over the 0.25 MB limit for one document. "
                                 "Split it into smaller files.")


@pytest.mark.parametrize("value", ["fifty", "0", "-5", "nan", "inf", "1e-9"])
def test_a_bad_limit_setting_is_named_with_its_fix(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("QA_MAX_DOCUMENT_MB", value)
    with pytest.raises(InvalidInputError) as caught:
        document_limit()
    assert str(caught.value) == (
        f"QA_MAX_DOCUMENT_MB={value!r} is not a positive number of megabytes. Set it like "
        "QA_MAX_DOCUMENT_MB=50, or unset it."
    )


def test_content_hash_reads_a_200_mb_file_in_bounded_blocks(tmp_path: Path) -> None:
    path = sparse(tmp_path / "huge.txt", 200 * 2**20)
    expected = hashlib.sha256(HEAD)
    zeros = bytes(2**20)
    remaining = 200 * 2**20 - len(HEAD)
    while remaining:
        expected.update(zeros[: min(remaining, len(zeros))])
        remaining -= min(remaining, len(zeros))

    digest, peak = _peak_bytes(lambda: content_hash(path))

    assert digest == expected.hexdigest()
    assert peak < 8 * 2**20


def test_an_oversized_sidecar_is_refused(tmp_path: Path) -> None:
    path = _seed(tmp_path)
    sparse(path.with_name(path.name + SIDECAR_SUFFIX), 2 * 2**20, b'{"title": "x"')
    with pytest.raises(IngestError, match="metadata sidecar is over 1 MB"):
        load_document(path, tmp_path)


@pytest.mark.parametrize("name", ["two\nlines.txt", "tab\there.txt", "bell\x07.txt"])
def test_messages_stay_on_one_line_whatever_the_file_name(tmp_path: Path, name: str) -> None:
    path = _write(tmp_path, name, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(IngestError) as caught:
        load_document(path, tmp_path)
    message = str(caught.value)
    assert message.isprintable()
    assert name.encode("unicode_escape").decode() in message


def test_sidecar_source_key_and_partial_metadata(tmp_path: Path) -> None:
    path = _seed(tmp_path, "akorda/seed.txt", {"source": "Akorda press office"})
    document = load_document(path, tmp_path)
    assert document.source == "Akorda press office"
    assert document.title == SEED_TITLE  # not in the sidecar: inferred
    assert document.date == "2022-01-06"


def test_seed_without_sidecar_infers_title_date_and_source(tmp_path: Path) -> None:
    path = _seed(tmp_path, "akorda/seed.txt")
    document = load_document(path, tmp_path)

    assert read_metadata(path) is None
    assert document.title == SEED_TITLE
    assert document.date == "2022-01-06"
    assert document.source == "akorda"
    assert document.sha256 == hashlib.sha256(SEED.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("sidecar", "problem"),
    [
        (b"{not json", "invalid JSON in metadata sidecar"),
        (b"", "invalid JSON in metadata sidecar"),
        (b"[1, 2]", "must be a JSON object"),
        (b"\xff\xfe{}", "not UTF-8"),
        ({"date": "06.01.2022"}, 'write it like "2022-01-06"'),
        ({"date": "2022-02-30"}, "not a valid YYYY-MM-DD date"),
        ({"title": 7}, "'title' in metadata must be a string"),
        ({"kind": "official"}, "kind 'official' is not one of primary, secondary"),
        ({"speaker": ["Tokayev"]}, "'speaker' in metadata must be a string"),
    ],
)
def test_bad_sidecar_raises_naming_the_sidecar(
    tmp_path: Path, sidecar: dict | bytes, problem: str
) -> None:
    path = _seed(tmp_path, sidecar=sidecar)
    for read in (lambda: read_metadata(path), lambda: load_document(path, tmp_path)):
        with pytest.raises(IngestError) as caught:
            read()
        assert caught.value.path.endswith(SEED_NAME + SIDECAR_SUFFIX)
        assert problem in caught.value.problem


def test_ingest_error_is_a_qa_error() -> None:
    assert issubclass(IngestError, QAError)


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("January 6, 2022", "2022-01-06"),
        ("Astana, Jan. 6th 2022 — update", "2022-01-06"),
        ("6 January 2022", "2022-01-06"),
        ("the 6th of January, 2022", "2022-01-06"),
        ("06.01.2022", "2022-01-06"),
        ("6.1.2022", "2022-01-06"),
        ("2022-01-06", "2022-01-06"),
        ("Posted 2022-01-06T10:30:00Z", "2022-01-06"),
        ("6 января 2022 года", "2022-01-06"),
        ("31 ДЕКАБРЯ 2021", "2021-12-31"),
        ("Sept 30, 2021 and January 6, 2022", "2021-09-30"),
        ("31.02.2022 then 01.03.2022", "2022-03-01"),  # impossible date skipped
        ("2022-13-01", None),
        ("version 1.2.2022.5", None),
        ("01/06/2022", None),  # ambiguous, ignored on purpose
        ("May we meet in 2022?", None),
        ("Maybe 5 2022", None),
        ("No date here.", None),
        ("06.01.1812", None),  # implausible year
        ("", None),
    ],
)
def test_infer_date(text: str, expected: str | None) -> None:
    assert infer_date(text) == expected


# --------------------------------------------------------------------------- titles


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Headline\n\nBody text.", "Headline"),
        ("\n\n   Padded   headline  \n\nBody.", "Padded headline"),
        ("January 6, 2022\n\nHeadline after date\n\nBody.", "Headline after date"),
        ("Share Twitter Facebook\n\nReal headline\n\nBody.", "Real headline"),
        ("Only a sentence in here.", "Only a sentence in here."),
        ("word " * 100, ("word " * 40).strip() + "…"),
    ],
)
def test_title_inference_from_text(tmp_path: Path, text: str, title: str) -> None:
    assert _load(tmp_path, "t.txt", text).title == title


def test_title_falls_back_to_the_file_name(tmp_path: Path) -> None:
    assert _load(tmp_path, "x/2022 report.txt", "6 January 2022\n").title == "2022 report"


# --------------------------------------------------------------------------- boilerplate


def test_seed_boilerplate_is_exactly_the_header_and_footer() -> None:
    document = load_document(SEED, SEED.parent)
    text = document.text
    header_end = text.index("President Kassym-Jomart")
    footer_start = text.index("Go back Go back")
    header = text[:header_end].rstrip()

    assert document.boilerplate == ((0, len(header)), (footer_start, len(text)))
    assert _spanned(document) == [
        "National Emblem of Kazakhstan\n\nOfficial website of the\n\n"
        "President of the Republic of Kazakhstan\n\nOfficial website of the\n\n"
        "President of the Republic of Kazakhstan",
        "Go back Go back Twitter Facebook Print\n\nThe President of the Republic of Kazakhstan",
    ]
    assert document.text == SEED.read_text(encoding="utf-8")  # offsets untouched


def _marked_lines(tmp_path: Path, text: str) -> list[str]:
    document = _load(tmp_path, "b.txt", text)
    return [line for span in _spanned(document) for line in span.split("\n") if line.strip()]


@pytest.mark.parametrize(
    ("text", "marked"),
    [
        pytest.param(
            "Headline\n\nJanuary 6, 2022\n\nA sentence.\n\nAnother sentence.",
            [],
            id="clean-article",
        ),
        pytest.param("Share", ["Share"], id="only-chrome"),
        pytest.param("Headline\n\nMenu", ["Menu"], id="no-sentences-at-all"),
        pytest.param(
            "Headline\n\nShare | Twitter | Telegram\n\nBody sentence.\n\nBack to top",
            ["Share | Twitter | Telegram", "Back to top"],
            id="nav-lines-anywhere",
        ),
        pytest.param(
            "Headline\n\nPara one.\n\nAdvertisement\n\nPara two.\n\nAdvertisement\n\nEnd.",
            ["Advertisement", "Advertisement"],
            id="repeated-short-line",
        ),
        pytest.param(
            "Headline\n\nWe agree.\n\nIt works.\n\nWe agree.\n\nDone.",
            [],
            id="repeated-sentences-stay",
        ),
        pytest.param(
            "Interview\n\nQuestion:\n\nWhy?\n\nAnswer:\n\nBecause.\n\nQuestion:\n\nWhen?",
            [],
            id="speaker-labels-stay",
        ),
        pytest.param(
            "Site\n\nHeadline\n\nJanuary 6, 2022\n\nText one.\n\nRelated\n\nSite",
            ["Site", "Site"],
            id="repeated-site-name",
        ),
        pytest.param(
            "Logo line\n\nMenu\n\nHeadline here\n\nJanuary 6, 2022\n\nBody.",
            ["Logo line", "Menu"],
            id="header-block-above-headline",
        ),
        pytest.param(
            "Headline\n\nBody sentence.\n\nPrint\n\nCopyright line\n\nAll rights",
            ["Print", "Copyright line", "All rights"],
            id="footer-block-after-chrome",
        ),
        pytest.param(
            "Headline\n\nBody sentence.\n\nIvan Petrov\n\nShare",
            ["Share"],
            id="signature-before-chrome-stays",
        ),
        pytest.param(
            "Big news\n\nJanuary 6, 2022\n\nBody.\n\nMore stories\n\nBig news\n\nOther story",
            ["Big news", "Other story"],
            id="related-list-after-the-last-sentence",
        ),
        pytest.param(
            "Emblem\n\nSite\n\nBig news\n\nJanuary 6, 2022\n\nBody.\n\n"
            "See also\n\nBig news\n\nMore body.\n\nSite",
            ["Emblem", "Site", "Big news", "Site"],
            id="repeated-headline-above-dateline-still-ends-the-header",
        ),
        pytest.param(
            "Menu\n\nJanuary 6, 2022\n\nBody.\n\nMenu\n\nJanuary 6, 2022",
            ["Menu", "Menu"],
            id="datelines-never-marked",
        ),
    ],
)
def test_boilerplate_rules(tmp_path: Path, text: str, marked: list[str]) -> None:
    assert _marked_lines(tmp_path, text) == marked


def test_headline_repeated_later_keeps_its_first_occurrence(tmp_path: Path) -> None:
    text = "Big news\n\nJanuary 6, 2022\n\nBody.\n\nSee also\n\nBig news\n\nMore body."
    document = _load(tmp_path, "b.txt", text)
    assert document.boilerplate == ((text.rindex("Big news"), text.rindex("Big news") + 8),)
    assert document.title == "Big news"


@given(st.lists(st.sampled_from(["Share", "Menu", "Headline", "A sentence.", "", "Site"])))
def test_boilerplate_spans_are_ordered_in_bounds_and_spare_sentences(lines: list[str]) -> None:
    import tempfile

    text = "\n".join(lines)
    if not text.strip():
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "b.txt"
        path.write_text(text, encoding="utf-8")
        document = load_document(path, Path(folder))
    previous_end = -1
    for start, end in document.boilerplate:
        assert previous_end < start < end <= len(text)
        assert "A sentence." not in text[start:end]
        previous_end = end


def test_lines_in_utf8_and_in_cp1251_each_read_right() -> None:
    from qa.documents import decode

    utf8 = "Заявление министерства от 6 января.\n"
    cp1251 = "Министерство сообщило о событиях в Алматы.\n"
    mixed = utf8.encode() + cp1251.encode("cp1251") + utf8.encode()
    assert decode(mixed, "mixed.txt") == utf8 + cp1251 + utf8
    # a file wholly in cp1251 is still read as cp1251, not line by line
    whole = (cp1251 + utf8).encode("cp1251")
    assert decode(whole, "old.txt") == cp1251 + utf8


# -- kinds and speakers: sidecars and folders.toml ----------------------------------------


def _corpus_with_folders(tmp_path: Path, folders: str | None) -> Path:
    corpus = tmp_path / "corpus"
    for folder in ("news", "news/wires", "akorda"):
        (corpus / folder).mkdir(parents=True, exist_ok=True)
        (corpus / folder / "a.txt").write_text("Statement\n\nSomething was said today.\n")
    if folders is not None:
        (corpus / "folders.toml").write_text(folders, encoding="utf-8")
    return corpus


FOLDERS = """
["news"]
kind = "secondary"
publisher = "The Wire"

["news/wires"]
publisher = "Wire service"

["akorda"]
speaker = "Kassym-Jomart Tokayev"
"""


@pytest.mark.parametrize(
    ("relpath", "sidecar", "kind", "speaker", "source"),
    [
        ("akorda/a.txt", None, "primary", "Kassym-Jomart Tokayev", "akorda"),
        ("news/a.txt", None, "secondary", None, "The Wire"),
        # the most specific folder wins, key by key
        ("news/wires/a.txt", None, "secondary", None, "Wire service"),
        # the document's own sidecar wins over its folder
        ("news/a.txt", {"kind": "primary", "speaker": "Askar Mamin"}, "primary", "Askar Mamin",
         "The Wire"),
    ],
)
def test_kind_and_speaker_come_from_the_sidecar_then_the_folder(tmp_path, relpath, sidecar, kind,
                                                                 speaker, source):
    corpus = _corpus_with_folders(tmp_path, FOLDERS)
    path = corpus / relpath
    if sidecar:
        path.with_name(path.name + SIDECAR_SUFFIX).write_text(json.dumps(sidecar))
    doc = load_document(path, corpus)
    assert (doc.kind, doc.speaker, doc.source) == (kind, speaker, source)


def test_without_sidecar_or_folders_file_a_document_is_primary(tmp_path):
    corpus = _corpus_with_folders(tmp_path, None)
    doc = load_document(corpus / "news" / "a.txt", corpus)
    assert (doc.kind, doc.speaker) == ("primary", None)


@pytest.mark.parametrize(
    ("folders", "problem"),
    [
        ('["news"\nkind = 1', "cannot be read as UTF-8 TOML"),
        ('news = "secondary"', "must be a table"),
        ('["news"]\ntitle = "x"', "sets title; a folder may set only kind, speaker"),
        ('["news"]\nkind = "tertiary"', "kind 'tertiary' is not one of primary, secondary"),
    ],
)
def test_a_bad_folders_file_is_named_with_the_fix(tmp_path, folders, problem):
    corpus = _corpus_with_folders(tmp_path, folders)
    with pytest.raises(IngestError) as caught:
        load_document(corpus / "news" / "a.txt", corpus)
    assert caught.value.path.endswith("folders.toml")
    assert problem in caught.value.problem
