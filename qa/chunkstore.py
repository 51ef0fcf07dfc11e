"""The chunk store: documents' stored text, metadata, chunk offsets and quotations, in SQLite.

A chunk's id is its row id. It is never reused, and it is also the chunk's id in the
vector store and the lexical index.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from qa.chunking import Chunk
from qa.documents import Document
from qa.errors import IndexCorruptError, IndexMismatchError
from qa.quotes import Quotation

__all__ = ["ChunkStore", "IndexedDocument", "QUOTES_VERSION"]

FILENAME = "chunks.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY, path TEXT NOT NULL, title TEXT NOT NULL, date TEXT,
    source TEXT, sha256 TEXT NOT NULL, text TEXT NOT NULL, boilerplate TEXT NOT NULL,
    indexed_at TEXT NOT NULL, kind TEXT NOT NULL DEFAULT 'primary', speaker TEXT
);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS quotations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    speaker TEXT, cue TEXT, cue_phrase TEXT, direct_quote INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS quotations_doc ON quotations(doc_id);
"""

# Bumped whenever quote extraction changes: a writable store re-extracts on opening,
# so the next `qa index` brings every document's quotations up to date.
QUOTES_VERSION = 2
# Columns later versions added to ``documents``, with what an older store's rows mean.
_ADDED_COLUMNS = {"kind": "TEXT NOT NULL DEFAULT 'primary'", "speaker": "TEXT"}


@dataclass(frozen=True)
class IndexedDocument:
    """A document's metadata as the index holds it."""

    doc_id: str
    path: str
    title: str
    date: str | None
    source: str | None
    sha256: str
    chunks: int
    indexed_at: str
    kind: str = "primary"
    speaker: str | None = None


class ChunkStore:
    """Documents and chunks in one SQLite file.

    A store opened read-only is treated as immutable, which lets any number of threads
    read it without locking: index versions are never changed once written.
    """

    def __init__(self, path: Path, *, readonly: bool = True) -> None:
        file = path / FILENAME
        try:
            if readonly:
                if not file.is_file():
                    raise IndexCorruptError(f"{file} is missing.", fix="rebuild")
                uri = f"file:{file}?mode=ro&immutable=1"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
                self._db.execute("SELECT count(*) FROM chunks").fetchone()
            else:
                self._db = sqlite3.connect(file)
                self._db.executescript(_SCHEMA)
                self._add_columns()
            self._columns = {row[1] for row in self._db.execute("PRAGMA table_info(documents)")}
            # an older store's documents are all primary, with no speaker
            self._kind = "d.kind" if "kind" in self._columns else "'primary'"
            self._speaker = "d.speaker" if "speaker" in self._columns else "NULL"
            if not readonly:
                self._refresh_quotations()
        except sqlite3.DatabaseError as e:
            raise IndexCorruptError(f"{file} is damaged ({e}).", fix="rebuild") from e

    def close(self) -> None:
        self._db.close()

    def outdated(self) -> bool:
        """Whether an older qa wrote this store: other quotation rules, or fewer columns."""
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        return version != QUOTES_VERSION or not set(_ADDED_COLUMNS) <= self._columns

    def commit(self) -> None:
        self._db.commit()

    # -- writing -----------------------------------------------------------------------

    def _add_columns(self) -> None:
        """Bring a store written by an older qa up to the current columns."""
        have = {row[1] for row in self._db.execute("PRAGMA table_info(documents)")}
        for column, definition in _ADDED_COLUMNS.items():
            if column not in have:
                self._db.execute(f"ALTER TABLE documents ADD COLUMN {column} {definition}")

    def add(self, doc: Document, chunks: list[Chunk], indexed_at: str) -> list[int]:
        """Store ``doc`` and its chunks; return the new chunks' ids in order."""
        self._db.execute(
            "INSERT INTO documents (doc_id, path, title, date, source, sha256, text, "
            "boilerplate, indexed_at, kind, speaker) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (doc.doc_id, doc.path, doc.title, doc.date, doc.source, doc.sha256, doc.text,
             json.dumps(doc.boilerplate), indexed_at, doc.kind, doc.speaker),
        )
        ids = []
        for c in chunks:
            cur = self._db.execute(
                'INSERT INTO chunks (doc_id, start, "end", text) VALUES (?, ?, ?, ?)',
                (c.doc_id, c.start, c.end, c.text),
            )
            ids.append(int(cur.lastrowid))
        self._add_quotations(doc)
        return ids

    def _add_quotations(self, doc: Document) -> None:
        from qa.quotes import extract_quotations

        self._db.executemany(
            'INSERT INTO quotations (doc_id, start, "end", text, speaker, cue, cue_phrase, '
            "direct_quote) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(q.doc_id, q.start, q.end, q.text, q.speaker, q.cue, q.cue_phrase,
              int(q.direct_quote)) for q in extract_quotations(doc)],
        )

    def _refresh_quotations(self) -> None:
        """Extract every stored document's quotations again if the rules have changed
        since they were stored (or the store predates quotations)."""
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version == QUOTES_VERSION:
            return
        self._db.execute("DELETE FROM quotations")
        for (doc_id,) in self._db.execute("SELECT doc_id FROM documents").fetchall():
            doc = self.document(doc_id)
            assert doc is not None
            self._add_quotations(doc)
        self._db.execute(f"PRAGMA user_version = {QUOTES_VERSION}")
        self._db.commit()

    def remove(self, doc_id: str) -> list[int]:
        """Delete a document and its chunks; return the deleted chunks' ids."""
        ids = [r[0] for r in self._db.execute("SELECT id FROM chunks WHERE doc_id = ?", (doc_id,))]
        self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (doc_id,))
        self._db.execute("DELETE FROM quotations WHERE doc_id = ?", (doc_id,))
        self._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        return ids

    # -- reading -----------------------------------------------------------------------

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM chunks").fetchone()[0])

    def documents(self) -> list[IndexedDocument]:
        rows = self._db.execute(
            "SELECT d.doc_id, d.path, d.title, d.date, d.source, d.sha256, count(c.id), "
            f"d.indexed_at, {self._kind}, {self._speaker} "
            "FROM documents d LEFT JOIN chunks c ON c.doc_id = d.doc_id "
            "GROUP BY d.doc_id ORDER BY d.date IS NULL, d.date, d.path"
        )
        return [IndexedDocument(*row) for row in rows]

    def document(self, doc_id: str) -> Document | None:
        row = self._db.execute(
            "SELECT d.doc_id, d.path, d.title, d.date, d.source, d.sha256, d.text, "
            f"d.boilerplate, {self._kind}, {self._speaker} FROM documents d WHERE d.doc_id = ?",
            (doc_id,)
        ).fetchone()
        if row is None:
            return None
        *fields, boilerplate, kind, speaker = row
        return Document(*fields, boilerplate=tuple(tuple(s) for s in json.loads(boilerplate)),
                        kind=kind, speaker=speaker)

    def chunks(self, ids: Iterable[int]) -> dict[int, Chunk]:
        ids = [int(i) for i in ids]
        found: dict[int, Chunk] = {}
        for batch_start in range(0, len(ids), 500):
            batch = ids[batch_start:batch_start + 500]
            marks = ",".join("?" * len(batch))
            for row in self._db.execute(
                f'SELECT id, doc_id, start, "end", text FROM chunks WHERE id IN ({marks})', batch
            ):
                found[row[0]] = Chunk(*row[1:])
        return found

    def quotations(self, doc_id: str | None = None) -> list[Quotation]:
        """Direct quotations found at index time, oldest document first, in text order."""
        sql = ('SELECT q.doc_id, q.start, q."end", q.text, q.speaker, q.cue, q.cue_phrase, '
               "q.direct_quote FROM quotations q JOIN documents d ON d.doc_id = q.doc_id")
        args: tuple = ()
        if doc_id is not None:
            sql += " WHERE q.doc_id = ?"
            args = (doc_id,)
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        try:
            rows = self._db.execute(sql + " ORDER BY d.date IS NULL, d.date, d.path, q.start",
                                    args).fetchall()
        except sqlite3.OperationalError:
            version = None
        if version != QUOTES_VERSION:
            raise IndexMismatchError(
                "This index holds no quotations or ones from an older qa.", fix="rebuild"
            )
        return [Quotation(*row[:7], direct_quote=bool(row[7])) for row in rows]

    def iter_chunks(self) -> Iterator[tuple[int, str]]:
        """Every ``(id, text)`` in id order."""
        yield from self._db.execute("SELECT id, text FROM chunks ORDER BY id")

    def chunk_ids(self, *, since: str | None = None, until: str | None = None,
                  sources: Iterable[str] = (), doc_ids: Iterable[str] = ()) -> list[int]:
        """Ids of the chunks whose document passes every given filter."""
        where, args = [], []
        if since:
            where.append("d.date >= ?")
            args.append(since)
        if until:
            where.append("d.date <= ?")
            args.append(until)
        for column, values in (("d.source", list(sources)), ("d.doc_id", list(doc_ids))):
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                args.extend(values)
        sql = "SELECT c.id FROM chunks c JOIN documents d ON d.doc_id = c.doc_id"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [r[0] for r in self._db.execute(sql, args)]
