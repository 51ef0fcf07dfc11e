"""Errors raised by the library.

Each is worded for people: what is wrong and how to fix it, on one line. The
library raises them; only the CLI and the page turn them into messages.
"""

from __future__ import annotations

__all__ = [
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


class QAError(Exception):
    """Base class of every error qa raises on purpose."""


class IngestError(QAError):
    """A source file could not be read or turned into text."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
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
