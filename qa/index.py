"""The index directory: its manifest, loading it, and updating it safely.

Layout of ``index/``::

    manifest.json       what is here: format, model, chunker, documents, files, checksums
    v000007/            the version the manifest names
        vectors.faiss   normalised chunk vectors under chunk ids (exact, or IVF-SQ8 when large)
        chunks.sqlite3  documents' stored text and metadata, chunk offsets
        bm25/           the lexical (BM25) index over the same chunk ids
        deleted.npy     tombstones: removed chunks' ids, still in vectors.faiss and bm25/
    .lock               held by the one process that is updating

An update writes a complete new version into a temporary folder, renames it to the
next ``vNNNNNN`` and then replaces ``manifest.json`` in one atomic rename. Readers only
ever follow the manifest, so they see the old version or the new one, never a mix.

An update that only removes documents rewrites neither ``vectors.faiss`` nor ``bm25/``:
the new version hard-links them from the previous one (versions never change once
written, so they can share files) and lists the removed chunks in ``deleted.npy``,
sorted int64 ids that every search leaves out. The tombstones add up over such updates.
The next update that adds or changes documents rewrites both files anyway, so it removes
the tombstoned chunks from them for real and writes no ``deleted.npy``. Until then BM25
still counts the removed chunks in its term statistics (IDF, average chunk length; see
``qa.lexical``), so its scores differ slightly from a fresh build's.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from qa.chunking import ChunkerSettings, chunk_document
from qa.chunkstore import ChunkStore, IndexedDocument
from qa.documents import (
    SIDECAR_SUFFIX,
    content_hash,
    discover,
    doc_id_for,
    folder_defaults,
    load_document,
)
from qa.embedding import INT8_MIN_BATCH
from qa.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
    IngestError,
)
from qa.lexical import DIRNAME as LEXICAL_DIR
from qa.lexical import LexicalIndex, load_ids
from qa.store import FaissStore

if TYPE_CHECKING:
    import numpy as np

    from qa.embedding import Embedder

__all__ = ["FORMAT_VERSION", "Index", "Manifest", "UpdateReport", "update"]

FORMAT_VERSION = 1
Progress = Callable[[str, int, int], None]
MANIFEST = "manifest.json"
LOCK = ".lock"
DELETED = "deleted.npy"
TMP_PREFIX = ".tmp-"
PROGRESS_SLICE = 64  # chunks embedded between two progress reports in a small update
WRITE_STAGES = 5     # progress steps reported after embedding (see ``step`` in the update)


@dataclass(frozen=True)
class Manifest:
    """Everything needed to trust and load one version of the index."""

    format: int
    version: int
    directory: str
    model: str
    dim: int
    chunker: dict
    documents: dict[str, dict]  # doc_id -> {"path": ..., "sha256": ..., "stamp": ...}
    files: dict[str, dict]  # posix path in the version -> {"bytes": ..., "sha256": ...}
    chunks: int
    created: str
    vector_index: str = "exact"  # FaissStore.kind: "exact" or "ivf<lists>-sq8"
    deleted_chunks: int = 0  # tombstones in deleted.npy; 0, and no file, after a rewrite

    @classmethod
    def read(cls, index_dir: Path) -> Manifest | None:
        path = index_dir / MANIFEST
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            raise IndexCorruptError(f"{path} is damaged ({e}).", fix="rebuild") from e
        if not isinstance(data, dict) or data.get("format") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"{index_dir} uses index format {data.get('format') if isinstance(data, dict) else '?'}"
                f", this qa reads format {FORMAT_VERSION}.", fix="rebuild"
            )
        try:
            return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})
        except TypeError as e:  # a required field is missing
            raise IndexCorruptError(f"{path} is incomplete ({e}).", fix="rebuild") from e

    def write(self, index_dir: Path) -> None:
        tmp = index_dir / f"{TMP_PREFIX}{MANIFEST}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(asdict(self), f, indent=2, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, index_dir / MANIFEST)
        _fsync(index_dir)


class Index:
    """A loaded, read-only version of the index."""

    def __init__(self, path: Path, manifest: Manifest, store: FaissStore,
                 chunks: ChunkStore, lexical: LexicalIndex) -> None:
        self.path = path
        self.manifest = manifest
        self.store = store
        self.chunks = chunks
        self.lexical = lexical  # BM25 over the same chunk ids as ``store``
        self._documents: dict[str, IndexedDocument] | None = None
        self._stamp: tuple[int, int] | None = None  # the manifest file this was loaded from

    @classmethod
    def load(cls, path: Path, *, model: str | None = None, verify: bool = True) -> Index:
        """Open the current version under ``path``.

        Args:
            model: when given, the model the caller will query with; it must be the one
                the index was built with.
            verify: check every file's sha256 against the manifest, not only its size
                (about 1 s per GB of index; docs/benchmarks.md, section "scale").
        """
        for attempt in range(3):
            stamp = _manifest_stamp(path)  # before reading: a switch in between means a reload
            manifest = Manifest.read(path)
            if manifest is None:
                raise IndexMissingError(f"No index in {path}.", fix="build")
            if model is not None and model != manifest.model:
                raise IndexMismatchError(
                    f"{path} was built with model {manifest.model!r}, not {model!r}; "
                    f"rebuild it to use {model!r}.", fix="rebuild"
                )
            try:
                index = cls._open(path, manifest, verify=verify)
            except IndexCorruptError:
                # Updates keep two versions: if two finished since the manifest was read,
                # the version it named is gone. That is no damage; read the new manifest.
                if attempt == 2 or _manifest_stamp(path) == stamp:
                    raise
                continue
            index._stamp = stamp
            return index
        raise AssertionError("unreachable")

    @classmethod
    def _open(cls, path: Path, manifest: Manifest, *, verify: bool) -> Index:
        version_dir = path / manifest.directory
        _check_files(version_dir, manifest.files, verify=verify)
        deleted = _read_deleted(version_dir, manifest)
        return cls(path, manifest, FaissStore.load(version_dir, manifest.dim, deleted=deleted),
                   ChunkStore(version_dir, readonly=True),
                   LexicalIndex.load(version_dir, mmap=True, deleted=deleted))

    def documents_by_id(self) -> dict[str, IndexedDocument]:
        if self._documents is None:
            self._documents = {d.doc_id: d for d in self.chunks.documents()}
        return self._documents

    def is_current(self) -> bool:
        """False once a newer version has been switched in on disk.

        Called before every query, so the manifest (which lists every document) is only
        parsed when its file is no longer the one this index was loaded from.
        """
        if self._stamp is not None and _manifest_stamp(self.path) == self._stamp:
            return True
        try:
            latest = Manifest.read(self.path)
        except Exception:
            return True  # keep serving what we have; the next load reports the damage
        return latest is None or latest.version == self.manifest.version


@dataclass(frozen=True)
class UpdateReport:
    """What one ``update`` did. ``as_json`` is the ``qa index --json`` contract."""

    added: int
    updated: int
    removed: int
    unchanged: int
    documents: int
    chunks: int
    seconds: float
    skipped: tuple[IngestError, ...] = field(default=())

    def as_json(self) -> dict:
        return {"added": self.added, "updated": self.updated, "removed": self.removed,
                "unchanged": self.unchanged, "documents": self.documents,
                "chunks": self.chunks, "seconds": round(self.seconds, 3)}


def update(corpus: Path, index_dir: Path, *, model: str,
           load_embedder: Callable[[str], Embedder], rebuild: bool = False,
           chunker: ChunkerSettings = ChunkerSettings(), progress: bool = False,
           on_progress: Progress | None = None, lock_timeout: float = 600) -> UpdateReport:
    """Bring ``index_dir`` in line with ``corpus``, embedding only what changed.

    The model is loaded through ``load_embedder`` only when something must be embedded.
    Files that cannot be read are skipped and listed in the report; a changed file that
    no longer reads keeps its previously indexed version.

    Args:
        progress: show progress bars on the terminal.
        on_progress: called as ``on_progress(stage, done, total)`` while documents are
            read and chunks embedded, for progress shown elsewhere (the page).
    """
    from filelock import FileLock, Timeout

    started = time.perf_counter()
    if not corpus.is_dir():
        raise IngestError(str(corpus), "corpus folder does not exist", fix="corpus")
    index_dir.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(index_dir / LOCK, timeout=lock_timeout):
            return _update_locked(corpus, index_dir, model, load_embedder, rebuild, chunker,
                                  progress, on_progress, started)
    except Timeout as e:
        raise IndexLockedError(
            f"Another update has held {index_dir / LOCK} for over {lock_timeout:.0f} s. "
            "Wait for it to finish, then run again."
        ) from e


def _update_locked(corpus, index_dir, model, load_embedder, rebuild, chunker, progress,
                   on_progress, started) -> UpdateReport:
    import numpy as np

    _clean_stale(index_dir)
    previous = _read_quietly(index_dir)  # kept on disk for readers still opening it
    old = None if rebuild else Manifest.read(index_dir)
    if old is not None and (old.model != model or old.chunker != chunker.as_dict()):
        what = "model" if old.model != model else "chunker settings"
        raise IndexMismatchError(
            f"{index_dir} was built with other {what} ({old.model!r}, {old.chunker}).",
            fix="rebuild",
        )
    old_docs = old.documents if old else {}

    seen: dict[str, dict] = {}
    skipped: list[IngestError] = []
    for p in discover(corpus):
        rel = p.relative_to(corpus).as_posix()
        doc_id, stamp = doc_id_for(rel), _stamp(p)
        known = old_docs.get(doc_id, {})
        try:
            sha256 = (known["sha256"] if stamp is not None and known.get("stamp") == stamp
                      else content_hash(p))
        except IngestError as e:  # gone or unreadable since it was listed
            skipped.append(e)
            sha256 = known.get("sha256")
            if sha256 is None:
                continue
        seen[doc_id] = {"path": rel, "sha256": sha256, "stamp": stamp, "file": p,
                        "defaults": folder_defaults(corpus, rel)}
    new = [d for d in seen if d not in old_docs]
    # a document changes with its bytes, its sidecar, or its folder's defaults (folders.toml)
    changed = [d for d in seen if d in old_docs and (
        old_docs[d]["sha256"] != seen[d]["sha256"]
        or old_docs[d].get("defaults", {}) != seen[d]["defaults"])]
    removed = [d for d in old_docs if d not in seen]
    unchanged = len(seen) - len(new) - len(changed)

    # Nothing changed: nothing to write, unless the chunk store was written by an older qa
    # (older quotation rules or columns); then a new version upgrades it, re-embedding nothing.
    if old is not None and not (new or changed or removed) and not _outdated(
            index_dir / old.directory):
        return UpdateReport(0, 0, 0, unchanged, len(old_docs), old.chunks,
                            time.perf_counter() - started, tuple(skipped))

    old_dir = index_dir / old.directory if old is not None else None
    old_deleted = np.zeros(0, np.int64)
    if old is not None:
        # damage must not be carried into the new version, under fresh checksums or linked
        _check_files(old_dir, old.files, verify=True)
        old_deleted = _read_deleted(old_dir, old)
    docs, failed = [], set()
    to_read = new + changed
    for done, doc_id in enumerate(_progress(to_read, progress, "reading"), 1):
        if on_progress:
            on_progress("Reading documents", done, len(to_read))
        try:
            docs.append(load_document(seen[doc_id]["file"], corpus))
        except IngestError as e:
            skipped.append(e)
            failed.add(doc_id)
    if old is not None and to_read and not docs and not removed:
        # only files that cannot be read: the current version stays, nothing is rewritten
        return UpdateReport(0, 0, 0, unchanged + len(changed), len(old_docs), old.chunks,
                            time.perf_counter() - started, tuple(skipped))
    chunked = [(doc, chunk_document(doc, chunker)) for doc in docs]
    # Nothing to add, only chunks to remove: they become tombstones, and the vectors and
    # BM25 are linked from the old version instead of being rewritten without them.
    tombstones = old is not None and not docs

    embedder = load_embedder(model) if chunked or old is None else None
    texts = [c.text for _, chunks in chunked for c in chunks]
    vectors = _embed(embedder, texts, progress, on_progress) if embedder else None
    dim = embedder.dim if embedder else old.dim

    version = max(previous.version if previous else 0, _latest_version(index_dir)) + 1
    tmp = index_dir / f"{TMP_PREFIX}{os.getpid()}-{version}"
    tmp.mkdir()
    if old is not None:
        # Copied even for tombstones: the chunk store must lose the removed documents'
        # rows, since their text, metadata and quotations must not be found any more.
        shutil.copyfile(old_dir / "chunks.sqlite3", tmp / "chunks.sqlite3")
    stages = iter(range(1, WRITE_STAGES + 1))

    def step(stage: str) -> None:
        """One of the WRITE_STAGES steps after embedding, so the bar keeps moving."""
        if on_progress:
            on_progress(stage, next(stages, WRITE_STAGES), WRITE_STAGES)

    step("Writing the chunk store")
    db = ChunkStore(tmp, readonly=False)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    documents = dict(old_docs)
    gone = []
    for doc_id in removed + [d for d in changed if d not in failed]:
        gone += db.remove(doc_id)
        documents.pop(doc_id, None)
    deleted = np.union1d(old_deleted, _ids(gone))  # sorted, as the stores expect
    reused: dict[str, dict] = {}
    if tombstones:
        db.commit()
        total = db.count()
        db.close()
        reused = _link_unchanged(old_dir, tmp, old.files)
        np.save(tmp / DELETED, deleted)
        kind, deleted_chunks = old.vector_index, len(deleted)
    else:
        # Both are rewritten anyway, so every tombstone is applied for real.
        store = FaissStore.load(old_dir, old.dim) if old is not None else FaissStore(dim)
        store.remove(deleted)
        deleted_chunks = 0
        offset = 0
        for doc, chunks in chunked:
            ids = db.add(doc, chunks, now)
            store.add(_ids(ids), vectors[offset:offset + len(chunks)])
            offset += len(chunks)
            documents[doc.doc_id] = {"path": doc.path, "sha256": doc.sha256,
                                     "stamp": seen[doc.doc_id]["stamp"]}
            if seen[doc.doc_id]["defaults"]:
                documents[doc.doc_id]["defaults"] = seen[doc.doc_id]["defaults"]
        db.commit()
        total = db.count()
        step("Writing the lexical index")
        # bm25s cannot add or remove documents, so the lexical index is rebuilt from every
        # chunk; that takes seconds where re-embedding would take minutes.
        LexicalIndex.build(db.iter_chunks()).save(tmp)
        db.close()
        step("Writing the vectors")
        store.fit()
        store.save(tmp)
        kind = store.kind

    step("Checking the new files")
    files = {name: reused.get(name) or _describe(tmp / name)
             for name in (path.relative_to(tmp).as_posix()
                          for path in sorted(tmp.rglob("*")) if path.is_file())}
    for name in files:
        _fsync(tmp / name)
    for folder in sorted({(tmp / name).parent for name in files}, reverse=True):
        _fsync(folder)
    step("Switching to the new version")
    directory = f"v{version:06d}"
    os.rename(tmp, index_dir / directory)
    _fsync(index_dir)
    Manifest(FORMAT_VERSION, version, directory, model, dim, chunker.as_dict(),
             dict(sorted(documents.items())), files, total, now, kind,
             deleted_chunks).write(index_dir)
    _drop_old_versions(index_dir, keep={directory, previous.directory if previous else ""})

    really_added = sum(1 for d in new if d not in failed)
    really_updated = sum(1 for d in changed if d not in failed)
    return UpdateReport(really_added, really_updated, len(removed),
                        unchanged + (len(changed) - really_updated),
                        len(documents), total, time.perf_counter() - started, tuple(skipped))


def _outdated(version_dir: Path) -> bool:
    store = ChunkStore(version_dir)
    try:
        return store.outdated()
    finally:
        store.close()


def _stamp(path: Path) -> list[int] | None:
    """Size and mtime of a document and its sidecar, or None when too fresh to trust.

    A document whose stamp matches the manifest's is not read again to hash it. A file
    modified in the same clock tick as it was stamped could keep its stamp while its
    bytes change, so files changed in the last two seconds get no stamp and are hashed.
    """
    stamps = []
    for file in (path, path.with_name(path.name + SIDECAR_SUFFIX)):
        try:
            st = file.stat()
        except FileNotFoundError:
            stamps += [-1, -1]
            continue
        if time.time_ns() - st.st_mtime_ns < 2_000_000_000:
            return None
        stamps += [st.st_size, st.st_mtime_ns]
    return stamps


def _ids(ids: list[int]):
    import numpy as np

    return np.asarray(ids, dtype=np.int64)


def _link_unchanged(old_dir: Path, new_dir: Path, files: dict[str, dict]) -> dict[str, dict]:
    """Hard-link the vectors and the lexical index of ``old_dir`` into ``new_dir``.

    Returns their manifest entries, which carry over: the old version was verified just
    before, and these are the same bytes, so nothing is read or written again.
    """
    linked = {}
    for name, entry in files.items():
        if name != FaissStore.FILENAME and not name.startswith(f"{LEXICAL_DIR}/"):
            continue
        source, target = old_dir / name, new_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:  # a file system without hard links (some network or FUSE ones)
            shutil.copyfile(source, target)
        linked[name] = entry
    return linked


def _read_deleted(version_dir: Path, manifest: Manifest) -> np.ndarray:
    """The version's tombstones: sorted ids of removed chunks its vectors and BM25 hold."""
    import numpy as np

    if not manifest.deleted_chunks:
        return np.zeros(0, np.int64)
    path = version_dir / DELETED
    try:
        deleted = load_ids(path)
    except (OSError, ValueError) as e:
        raise IndexCorruptError(
            f"{path} cannot be read ({type(e).__name__}).", fix="rebuild"
        ) from e
    if deleted.dtype != np.int64 or deleted.shape != (manifest.deleted_chunks,):
        raise IndexCorruptError(f"{path} does not hold the manifest's {manifest.deleted_chunks} "
                                "deleted chunk ids.", fix="rebuild")
    return deleted


def _embed(embedder: Embedder, texts: list[str], progress: bool,
           on_progress: Progress | None):
    """All vectors for ``texts``; in slices when someone is watching the progress."""
    import numpy as np

    if on_progress is None or not texts:
        return embedder.embed(texts, progress=progress)
    # Slices as large as the embedder's fastest calls for big updates; a small upload moves
    # the bar every PROGRESS_SLICE chunks instead of jumping from 0 to 100%.
    step = INT8_MIN_BATCH if len(texts) >= INT8_MIN_BATCH else PROGRESS_SLICE
    parts = []
    for start in range(0, len(texts), step):
        parts.append(embedder.embed(texts[start:start + step], progress=progress))
        on_progress("Embedding chunks", min(start + step, len(texts)), len(texts))
    return np.concatenate(parts)


def _progress(items, enabled: bool, desc: str):
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, unit="doc")


def _describe(path: Path) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def _check_files(version_dir: Path, files: dict[str, dict], *, verify: bool) -> None:
    for name, expected in files.items():
        path = version_dir / name
        if not path.is_file():
            raise IndexCorruptError(f"{path} is missing.", fix="rebuild")
        actual = _describe(path) if verify else {"bytes": path.stat().st_size}
        for key, value in actual.items():
            if value != expected[key]:
                raise IndexCorruptError(
                    f"{path} is damaged ({key} differs from the manifest).", fix="rebuild"
                )


def _manifest_stamp(index_dir: Path) -> tuple[int, int] | None:
    """Identity of the manifest file: an update replaces it, so the inode changes."""
    try:
        st = os.stat(index_dir / MANIFEST)
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _latest_version(index_dir: Path) -> int:
    versions = [int(p.name[1:]) for p in index_dir.glob("v[0-9]*") if p.name[1:].isdigit()]
    return max(versions, default=0)


def _read_quietly(index_dir: Path) -> Manifest | None:
    try:
        return Manifest.read(index_dir)
    except (IndexCorruptError, IndexMismatchError):
        return None


def _clean_stale(index_dir: Path) -> None:
    """Remove what a killed update left behind: temp folders and unswitched versions."""
    for p in index_dir.glob(f"{TMP_PREFIX}*"):
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    manifest = _read_quietly(index_dir)
    if manifest is None and (index_dir / MANIFEST).exists():
        return  # damaged: leave every version for `--rebuild` to replace
    current = manifest.version if manifest else 0
    for p in index_dir.glob("v[0-9]*"):
        if p.name[1:].isdigit() and int(p.name[1:]) > current:
            shutil.rmtree(p)


def _drop_old_versions(index_dir: Path, keep: set[str]) -> None:
    """Keep the current and the previous version; a reader may still be opening the latter."""
    for p in index_dir.glob("v[0-9]*"):
        if p.is_dir() and p.name not in keep:
            shutil.rmtree(p, ignore_errors=True)


def _fsync(path: Path) -> None:
    """Flush a file or a folder's entries to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
