from __future__ import annotations

import pytest

from qa.errors import InvalidInputError, NotFoundError
from qa.uploads import delete_file, safe_name, save_upload


@pytest.mark.parametrize(
    ("name", "expected"),
    [("report.txt", "report.txt"), ("Отчёт 2022.docx", "Отчёт 2022.docx"),
     ("a b.PDF", "a b.PDF"), ("page.html", "page.html")],
)
def test_safe_names(name, expected):
    assert safe_name(name) == expected


@pytest.mark.parametrize(
    ("name", "problem"),
    [("../../etc/passwd.txt", "folders"), ("..\\x.txt", "folders"), ("/abs/x.txt", "folders"),
     (".hidden.txt", "plain"), ("..", "plain"), ("", "plain"), ("run.exe", "Unsupported"),
     ("x.txt.meta.json", "Unsupported"), ("noext", "Unsupported"), ("a\nb.txt", "control characters")],
)
def test_unsafe_names_are_refused(name, problem):
    with pytest.raises(InvalidInputError, match=problem):
        safe_name(name)


def test_save_refuses_overwrite_without_consent_and_size_over_limit(tmp_path):
    saved = save_upload(tmp_path, "a.txt", b"first")
    assert saved.path.read_bytes() == b"first" and not saved.replaced
    with pytest.raises(InvalidInputError, match="already exists"):
        save_upload(tmp_path, "a.txt", b"second")
    assert (tmp_path / "a.txt").read_bytes() == b"first"
    assert save_upload(tmp_path, "a.txt", b"second", overwrite=True).replaced
    with pytest.raises(InvalidInputError, match="limit"):
        save_upload(tmp_path, "big.txt", b"x" * 101, limit=100)
    with pytest.raises(InvalidInputError, match="empty"):
        save_upload(tmp_path, "empty.txt", b"")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_delete_removes_file_and_sidecar_only_inside_the_corpus(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("x")
    (corpus / "a.txt.meta.json").write_text("{}")
    (tmp_path / "outside.txt").write_text("keep")
    with pytest.raises(InvalidInputError):
        delete_file(corpus, "../outside.txt")
    with pytest.raises(NotFoundError):
        delete_file(corpus, "b.txt")
    delete_file(corpus, "a.txt")
    assert list(corpus.iterdir()) == [] and (tmp_path / "outside.txt").exists()
