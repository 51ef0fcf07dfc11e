"""Hostile input: oversized, empty, broken and booby-trapped files, queries and quotes.

Files: a corpus holding one of each kind of hostile file beside the seed is indexed;
each bad file is skipped with one line naming it and the problem, the rest is indexed,
and a 200 MB file costs no memory. Queries and quotes: on the real model and index.
bench/bench_reliability.py runs the same inputs through the real `qa` command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from qa.assistant import Assistant
from qa.config import Settings
from qa.errors import InvalidInputError
from qa.index import Index, update
from tests.conftest import ROOT, SEED, copy_seed
from tests.test_documents import _encrypted_pdf, _pdf

INDEXED, NOT_LISTED = "indexed", "not listed"
HUGE_FILE = 200 * 2**20
NESTING = 10_000


@dataclass(frozen=True)
class Hostile:
    """One hostile file: what it is, where it goes, and what qa must make of it.

    ``expected`` is ``INDEXED``, ``NOT_LISTED`` (discovery leaves it out) or the start
    of the problem qa reports when it skips the file. An indexed file's stored text
    must contain ``phrase``.
    """

    label: str
    path: str
    expected: str
    make: Callable[[Path, Path], None]  # (corpus, a folder outside it)
    phrase: str = ""


def _bytes(relpath: str, data: bytes) -> Callable[[Path, Path], None]:
    def make(corpus: Path, outside: Path) -> None:
        (corpus / relpath).write_bytes(data)

    return make


def _sparse(corpus: Path, outside: Path) -> None:
    with open(corpus / "huge.txt", "wb") as f:
        f.write(b"Statement of the ministry.\n")
        f.truncate(HUGE_FILE)


def _link(relpath: str, target: Callable[[Path, Path], Path]) -> Callable[[Path, Path], None]:
    def make(corpus: Path, outside: Path) -> None:
        outside.mkdir(parents=True, exist_ok=True)
        (outside / "secret.txt").write_text("Secret outside the corpus.", encoding="utf-8")
        (corpus / relpath).symlink_to(target(corpus, outside))

    return make


NESTED = ("<html><body>" + "<div>" * NESTING + "<p>A statement nested ten thousand deep.</p>"
          + "</div>" * NESTING + "</body></html>").encode()
MALFORMED_HTML = (b"<html><body><p>Unclosed <b>bold <div><p>The ministry spoke</td></tr>"
                  b"<table><p>at noon.</html></body></div>")
INVALID_UTF8 = ("Заявление министерства. The airport ".encode() + b"\xff\xc3"
                + b" is open again.")
MIXED = ("Заявление министерства.\n".encode()
         + "Министерство сообщило о событиях.\n".encode("cp1251"))
TEXT = b"The ministry published a statement."

HOSTILE = [
    Hostile("binary file named .txt", "binary.txt", "not a text file (binary content)",
            _bytes("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01")),
    Hostile("zero-byte file", "zero.txt", "empty file", _bytes("zero.txt", b"")),
    Hostile("200 MB file (sparse)", "huge.txt", "too large (200 MB", _sparse),
    Hostile(f"HTML nested {NESTING:,} levels deep", "nested.html", INDEXED,
            _bytes("nested.html", NESTED), "nested ten thousand deep"),
    Hostile("malformed HTML (unclosed, stray tags)", "malformed.html", INDEXED,
            _bytes("malformed.html", MALFORMED_HTML), "The ministry spoke"),
    Hostile("malformed PDF (truncated)", "malformed.pdf", "not a valid PDF file",
            lambda corpus, _: (corpus / "malformed.pdf").write_bytes(_pdf(["Hello"])[:60])),
    Hostile("malformed DOCX (not a zip)", "malformed.docx", "not a valid DOCX file",
            _bytes("malformed.docx", b"PK\x03\x04 definitely not a zip")),
    Hostile("encrypted PDF (user password)", "encrypted.pdf", "PDF is encrypted",
            lambda corpus, _: (corpus / "encrypted.pdf").write_bytes(_encrypted_pdf("secret"))),
    Hostile("invalid UTF-8 bytes in UTF-8 text", "invalid-utf8.txt", INDEXED,
            _bytes("invalid-utf8.txt", INVALID_UTF8), "is open again"),
    Hostile("mixed encodings (UTF-8 and cp1251 lines)", "mixed.txt", INDEXED,
            _bytes("mixed.txt", MIXED), "Заявление министерства.\nМинистерство сообщило"),
    Hostile("Unicode file name", "Заявление — МИД.txt", INDEXED,
            _bytes("Заявление — МИД.txt", TEXT), "published a statement"),
    Hostile("file name with spaces", "  name  with spaces .txt", INDEXED,
            _bytes("  name  with spaces .txt", TEXT), "published a statement"),
    Hostile("file name with a newline", "first\nsecond.txt", INDEXED,
            _bytes("first\nsecond.txt", TEXT), "published a statement"),
    Hostile("symlink loop (folder linking to the corpus)", "loop", NOT_LISTED,
            _link("loop", lambda corpus, _: corpus)),
    Hostile("symlink to itself", "spin.txt", NOT_LISTED,
            _link("spin.txt", lambda corpus, _: corpus / "spin.txt")),
    Hostile("symlink leaving the corpus", "outside.txt", NOT_LISTED,
            _link("outside.txt", lambda _, outside: outside / "secret.txt")),
]


def hostile_corpus(corpus: Path, outside: Path, inputs: list[Hostile] = HOSTILE) -> Path:
    """``corpus`` holding the seed and ``inputs``; symlink targets go in ``outside``."""
    copy_seed(corpus)
    for item in inputs:
        item.make(corpus, outside)
    return corpus


def shown(relpath: str) -> str:
    """How a message names a file: control characters escaped."""
    return relpath.encode("unicode_escape").decode() if not relpath.isprintable() else relpath


def test_each_hostile_file_is_skipped_with_one_line_or_indexed(tmp_path, fake_embedder,
                                                               monkeypatch):
    monkeypatch.delenv("QA_MAX_DOCUMENT_MB", raising=False)
    corpus = hostile_corpus(tmp_path / "corpus", tmp_path / "outside")

    report = update(corpus, tmp_path / "index", model=fake_embedder.name,
                    load_embedder=lambda _: fake_embedder)

    index = Index.load(tmp_path / "index")
    stored = {d.path: index.chunks.document(d.doc_id).text for d in index.chunks.documents()}
    assert SEED.name in stored
    problems = {Path(e.path).name: e.problem for e in report.skipped}
    for item in HOSTILE:
        if item.expected == INDEXED:
            assert item.phrase in stored[item.path], item.label
        elif item.expected == NOT_LISTED:
            assert not [p for p in stored if p.split("/")[0] == item.path], item.label
        else:
            assert problems.pop(shown(item.path)).startswith(item.expected), item.label
    assert problems == {}
    assert all(str(e).isprintable() for e in report.skipped)
    assert len(stored) == 1 + sum(item.expected == INDEXED for item in HOSTILE)


def test_a_200_mb_file_is_skipped_and_nothing_indexed_is_lost(tmp_path, fake_embedder,
                                                              monkeypatch):
    monkeypatch.delenv("QA_MAX_DOCUMENT_MB", raising=False)
    corpus = copy_seed(tmp_path / "corpus")
    update(corpus, tmp_path / "index", model=fake_embedder.name,
           load_embedder=lambda _: fake_embedder)
    before = Index.load(tmp_path / "index")
    seed_chunks = before.chunks.count()
    _sparse(corpus, tmp_path)
    (corpus / "later.txt").write_text("A later statement on the airport.", encoding="utf-8")

    report = update(corpus, tmp_path / "index", model=fake_embedder.name,
                    load_embedder=lambda _: fake_embedder)

    assert [str(e) for e in report.skipped] == [
        f"{corpus / 'huge.txt'}: too large (200 MB; the limit for one document is 50 MB); "
        "split it into smaller files or raise QA_MAX_DOCUMENT_MB"]
    assert (report.added, report.documents) == (1, 2)
    after = Index.load(tmp_path / "index")
    assert sorted(d.path for d in after.chunks.documents()) == sorted([SEED.name, "later.txt"])
    assert after.chunks.count() == seed_chunks + 1
    assert len(after.store) == after.chunks.count()


@pytest.mark.parametrize(("over", "indexed"), [(0, True), (1, False)])
def test_a_file_at_the_limit_is_indexed_and_one_byte_more_is_not(tmp_path, fake_embedder,
                                                                 monkeypatch, over, indexed):
    monkeypatch.setenv("QA_MAX_DOCUMENT_MB", "0.05")
    limit = int(0.05 * 2**20)
    corpus = copy_seed(tmp_path / "corpus")
    sentence = b"The ministry reported on the airport. "
    (corpus / "edge.txt").write_bytes((sentence * (limit // len(sentence) + 1))[:limit + over])

    report = update(corpus, tmp_path / "index", model=fake_embedder.name,
                    load_embedder=lambda _: fake_embedder)

    paths = {d.path for d in Index.load(tmp_path / "index").chunks.documents()}
    assert paths == ({SEED.name, "edge.txt"} if indexed else {SEED.name})
    assert [e.problem.split(";")[0] for e in report.skipped] == (
        [] if indexed else [f"too large ({limit + 1:,} bytes"])


# The child indexes a corpus with the fake model and reports its own peak resident memory.
MEASURE = """
import json, resource, sys
from pathlib import Path
from qa.index import update
from tests.conftest import FakeEmbedder
fake = FakeEmbedder()
report = update(Path(sys.argv[1]), Path(sys.argv[2]), model=fake.name,
                load_embedder=lambda _: fake)
print(json.dumps({"skipped": [str(e) for e in report.skipped], "documents": report.documents,
                  "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _peak_rss(corpus: Path, index: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "QA_MAX_DOCUMENT_MB"}
    result = subprocess.run([sys.executable, "-c", MEASURE, str(corpus), str(index)],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_memory_does_not_grow_with_a_200_mb_file(tmp_path):
    plain = copy_seed(tmp_path / "plain")
    with_huge = copy_seed(tmp_path / "with-huge")
    _sparse(with_huge, tmp_path)

    without = _peak_rss(plain, tmp_path / "index-plain")
    with_file = _peak_rss(with_huge, tmp_path / "index-huge")

    assert without["documents"] == with_file["documents"] == 1
    assert len(with_file["skipped"]) == 1 and "too large (200 MB" in with_file["skipped"][0]
    assert with_file["peak_kib"] - without["peak_kib"] < 50 * 1024, (without, with_file)


def test_qa_index_names_the_200_mb_file_on_one_line(tmp_path):
    corpus = copy_seed(tmp_path / "corpus")
    _sparse(corpus, tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "QA_MAX_DOCUMENT_MB"}
    result = subprocess.run(
        [sys.executable, "-m", "qa", "index", "--corpus", str(corpus), "--index",
         str(tmp_path / "index")], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"Skipped {corpus / 'huge.txt'}: too large (200 MB; the limit for one document is 50 MB); "
        "split it into smaller files or raise QA_MAX_DOCUMENT_MB"]
    assert result.stdout.startswith("1 added, 0 updated, 0 removed, 0 unchanged; 1 documents")


# -- queries and quotes -----------------------------------------------------------------

HUGE = "Almaty airport aircraft " * 4300  # about 100 kB


@pytest.fixture(scope="module")
def qa(tmp_path_factory, real_embedder):
    from tests.conftest import copy_seed

    root = tmp_path_factory.mktemp("hostile")
    copy_seed(root / "corpus")
    assistant = Assistant(Settings(corpus=root / "corpus", index=root / "index"),
                          embedder=real_embedder)
    assistant.update()
    return assistant


def test_100kb_query_is_searched_and_answered(qa):
    assert len(HUGE) > 100_000
    hits = qa.search(HUGE, k=3)
    assert hits and "Almaty" in hits[0].text
    answer = qa.answer(HUGE)
    for c in answer.citations:
        assert qa.document(c.doc_id).text[c.start:c.end] == c.quote


def test_100kb_quote_is_refused_with_the_limit(qa):
    with pytest.raises(InvalidInputError, match="at most"):
        qa.verify(HUGE)


@pytest.mark.parametrize("blank", ["", "   ", "\n\t"])
def test_empty_inputs_are_refused(qa, blank):
    with pytest.raises(InvalidInputError, match="empty"):
        qa.search(blank)
    with pytest.raises(InvalidInputError, match="empty"):
        qa.answer(blank)
    with pytest.raises(InvalidInputError, match="no words"):
        qa.verify(blank)
