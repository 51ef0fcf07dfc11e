"""Format readers: the text, and a title or date when the format has one, of each file type.

One reader per supported suffix (txt, md, html/htm, pdf, docx) in ``_READERS``. bs4,
pypdf and python-docx are imported inside the readers that need them.
"""

from __future__ import annotations

import codecs
import io
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from qa.dates import iso_date
from qa.documents._base import _clean
from qa.documents.encodings import _decode, decode
from qa.errors import IngestError

__all__: list[str] = []


@dataclass(frozen=True)
class _Extracted:
    """What a format reader found: the text, and a title or date if the format has one."""

    text: str
    title: str | None = None
    date: str | None = None


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
        if isinstance(value, str) and (found := iso_date(value[:10])):
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
