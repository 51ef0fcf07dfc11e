"""Errors raised by the library.

Each is worded for people, on one line: what is wrong, and how to fix it when the fix
needs no particular interface. When the fix is something to do in the CLI or on the page
(run a command, choose a document), the error names it in ``fix`` (one of ``FIXES``) and
the CLI and the page word it for their users with ``describe``. The library raises them;
only the CLI and the page turn them into messages.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = [
    "FIXES",
    "describe",
    "QAError",
    "IngestError",
    "IndexMissingError",
    "IndexMismatchError",
    "IndexCorruptError",
    "IndexLockedError",
    "ModelLoadError",
    "NotFoundError",
    "InvalidInputError",
    "ReadOnlyError",
]


# What the user can do about an error, worded by each interface (qa.cli, qa.page):
FIXES = (
    "build",           # no index yet: build it
    "rebuild",         # the index is damaged, outdated or made another way: rebuild it
    "list_documents",  # a document that is not there: see which ones are
    "corpus",          # the corpus folder is missing: create it or name another
    "model",           # the embedding model cannot be loaded: install it or name another
    "read_only",       # a change in a read-only deployment: allow changes
)


class QAError(Exception):
    """Base class of every error qa raises on purpose.

    Args:
        fix: one of ``FIXES``, when the remedy is an action the interface words.
    """

    def __init__(self, *args: object, fix: str | None = None) -> None:
        super().__init__(*args)
        if fix is not None and fix not in FIXES:
            raise ValueError(f"unknown fix {fix!r}; use one of {FIXES}")
        self.fix = fix


def describe(error: QAError, fixes: Mapping[str, str]) -> str:
    """The error's message, followed by its fix in an interface's words."""
    fix = fixes.get(error.fix) if error.fix else None
    return f"{error} {fix}" if fix else str(error)


class IngestError(QAError):
    """A source file could not be read or turned into text."""

    def __init__(self, path: str, problem: str, *, fix: str | None = None) -> None:
        super().__init__(f"{path}: {problem}", fix=fix)
        self.path = path
        self.problem = problem


class IndexMissingError(QAError):
    """There is no index where one was expected."""


class IndexMismatchError(QAError):
    """The index was built with another model, chunker or format version."""


class IndexCorruptError(QAError):
    """An index file is missing, truncated or does not match its checksum."""


class IndexLockedError(QAError):
    """Another process holds the index lock for longer than we will wait."""


class ModelLoadError(QAError):
    """The embedding model could not be loaded offline."""


class NotFoundError(QAError):
    """A document or other named thing does not exist."""


class InvalidInputError(QAError):
    """A query, quote, option or file the user gave cannot be used."""


class ReadOnlyError(QAError):
    """A change was asked for in a read-only deployment."""
