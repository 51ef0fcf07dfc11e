from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from qa.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexMissingError,
    IngestError,
)
from qa.index import LOCK, Index, Manifest, update
from qa.retrieval import search


def build(corpus: Path, index: Path, embedder, **kw):
    return update(corpus, index, model=embedder.name, load_embedder=lambda _: embedder, **kw)


def never_load(_name):
    raise AssertionError("the model must not be loaded")


def write(corpus: Path, name: str, text: str) -> Path:
    path = corpus / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def all_texts(index_dir: Path) -> str:
    index = Index.load(index_dir)
    return "\n".join(text for _, text in index.chunks.iter_chunks())


def test_first_build_indexes_the_seed_with_a_self_describing_manifest(seed_corpus, tmp_path,
                                                                        fake_embedder):
    report = build(seed_corpus, tmp_path / "index", fake_embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 0, 0, 0)
    assert report.documents == 1 and report.chunks > 3

    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["format"] == 1 and manifest["model"] == "fake" and manifest["dim"] == 64
    assert manifest["chunker"]["size"] > 0
    [(doc_id, entry)] = manifest["documents"].items()
    assert len(entry["sha256"]) == 64
    assert {f.split("/")[0] for f in manifest["files"]} == {"vectors.faiss", "chunks.sqlite3",
                                                           "bm25"}

    index = Index.load(tmp_path / "index")
    doc = index.chunks.document(doc_id)
    chunks = index.chunks.chunks(i for i, _ in index.chunks.iter_chunks())
    assert len(chunks) == report.chunks == len(index.store)
    for chunk in chunks.values():
        assert doc.text[chunk.start:chunk.end] == chunk.text
    assert "Go back Go back" not in all_texts(tmp_path / "index")


def test_incremental_add_unchanged_modify_delete(seed_corpus, tmp_path, fake_embedder):
    index_dir = tmp_path / "index"
    build(seed_corpus, index_dir, fake_embedder)
    write(seed_corpus, "a.txt", "Aircraft landed in Almaty.\n\nThe airport reopened.")
    write(seed_corpus, "sub/b.md", "# Budget\n\nThe budget grew by five percent.")

    report = build(seed_corpus, index_dir, fake_embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (2, 0, 0, 1)
    embedded = fake_embedder.texts_embedded

    report = update(seed_corpus, index_dir, model="fake", load_embedder=never_load)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 3)
    assert report.documents == 3

    write(seed_corpus, "a.txt", "Aircraft landed in Astana instead.")
    report = build(seed_corpus, index_dir, fake_embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 0, 2)
    assert fake_embedder.texts_embedded - embedded == 1  # only the changed document
    assert "Astana" in all_texts(index_dir) and "Almaty." not in all_texts(index_dir)

    (seed_corpus / "sub" / "b.md").unlink()
    report = build(seed_corpus, index_dir, fake_embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 1, 2)
    index = Index.load(index_dir)
    hits = search(index, fake_embedder, "budget grew five percent", k=50)
    assert hits and all("budget" not in h.text for h in hits)
    assert len(index.store) == index.chunks.count() == report.chunks


def test_unreadable_new_file_is_skipped_and_the_rest_indexed(seed_corpus, tmp_path,
                                                             fake_embedder):
    (seed_corpus / "broken.txt").write_bytes(b"\x00\x01\x02binary\x00" * 50)
    report = build(seed_corpus, tmp_path / "index", fake_embedder)
    assert report.added == 1 and report.documents == 1
    assert [Path(e.path).name for e in report.skipped] == ["broken.txt"]


def test_changed_file_that_no_longer_reads_keeps_its_indexed_version(seed_corpus, tmp_path,
                                                                      fake_embedder):
    index_dir = tmp_path / "index"
    write(seed_corpus, "a.txt", "Original words about Almaty.")
    build(seed_corpus, index_dir, fake_embedder)
    (seed_corpus / "a.txt").write_bytes(b"")
    report = build(seed_corpus, index_dir, fake_embedder)
    assert report.updated == 0 and len(report.skipped) == 1
    assert "Original words about Almaty." in all_texts(index_dir)


def test_crash_between_writing_and_switching_leaves_the_old_index(seed_corpus, tmp_path,
                                                                  fake_embedder, monkeypatch):
    index_dir = tmp_path / "index"
    build(seed_corpus, index_dir, fake_embedder)
    before = Index.load(index_dir).manifest

    write(seed_corpus, "a.txt", "A new document that never makes it.")

    def crash(self, _dir):
        raise KeyboardInterrupt

    monkeypatch.setattr(Manifest, "write", crash)
    with pytest.raises(KeyboardInterrupt):
        build(seed_corpus, index_dir, fake_embedder)
    monkeypatch.undo()

    after = Index.load(index_dir)
    assert after.manifest == before
    assert "never makes it" not in all_texts(index_dir)
    orphans = {p.name for p in index_dir.iterdir()} - {"manifest.json", LOCK, before.directory}
    assert orphans  # the unswitched version is still lying there

    report = build(seed_corpus, index_dir, fake_embedder)
    assert report.added == 1
    left = {p.name for p in index_dir.iterdir()}
    assert not any(name.startswith(".tmp-") for name in left)
    current = Index.load(index_dir).manifest.directory
    assert left <= {"manifest.json", LOCK, before.directory, current}


def test_a_second_writer_waits_for_the_lock(seed_corpus, tmp_path, fake_embedder):
    from filelock import FileLock

    index_dir = tmp_path / "index"
    index_dir.mkdir()
    lock = FileLock(index_dir / LOCK)
    lock.acquire()
    try:
        with pytest.raises(IndexLockedError, match="Wait for it to finish"):
            build(seed_corpus, index_dir, fake_embedder, lock_timeout=0.2)
    finally:
        lock.release()

    # Two writers at once: both finish, one after the other, and the result is whole.
    write(seed_corpus, "a.txt", "Another document.")
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(build(
        seed_corpus, index_dir, fake_embedder))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.added for r in reports) == [0, 2]
    assert Index.load(index_dir).manifest.version == 1


def test_lock_of_a_killed_process_does_not_block(seed_corpus, tmp_path, fake_embedder):
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    pid = os.fork()
    if pid == 0:  # child: take the lock and die without releasing it
        from filelock import FileLock

        FileLock(index_dir / LOCK).acquire()
        os._exit(0)
    os.waitpid(pid, 0)
    # the dead holder's lock file is still there, yet it holds no lock: a writer that had
    # to wait for it would fail with IndexLockedError after a second
    assert (index_dir / LOCK).exists()
    assert build(seed_corpus, index_dir, fake_embedder, lock_timeout=1).added == 1


def test_an_update_reports_progress_per_slice_and_per_writing_stage(tmp_path, fake_embedder):
    from qa.index import PROGRESS_SLICE, WRITE_STAGES

    corpus = tmp_path / "corpus"
    for i in range(5):
        write(corpus, f"d{i}.txt", "\n\n".join(f"Paragraph {i}.{j} says something new about "
                                                f"topic {j} in some words." * 8
                                                for j in range(40)))
    seen = []
    report = build(corpus, tmp_path / "index", fake_embedder,
                   on_progress=lambda stage, done, total: seen.append((stage, done, total)))
    embedding = [(done, total) for stage, done, total in seen if stage == "Embedding chunks"]
    assert report.chunks > 2 * PROGRESS_SLICE
    assert len(embedding) == -(-report.chunks // PROGRESS_SLICE)
    assert embedding[-1] == (report.chunks, report.chunks)
    assert [d for d, _ in embedding] == sorted(d for d, _ in embedding)
    writing = [(done, total) for stage, done, total in seen
               if stage not in ("Embedding chunks", "Reading documents")]
    assert writing == [(n, WRITE_STAGES) for n in range(1, WRITE_STAGES + 1)]
    assert seen[-1][0] == "Switching to the new version"


def test_index_built_with_another_model_says_to_rebuild(seed_corpus, tmp_path, fake_embedder):
    index_dir = tmp_path / "index"
    build(seed_corpus, index_dir, fake_embedder)
    with pytest.raises(IndexMismatchError, match="rebuild it to use") as caught:
        Index.load(index_dir, model="all-MiniLM-L6-v2")
    assert caught.value.fix == "rebuild"
    with pytest.raises(IndexMismatchError, match="built with other model") as caught:
        update(seed_corpus, index_dir, model="other", load_embedder=never_load)
    assert caught.value.fix == "rebuild"

    class Other(type(fake_embedder)):
        name = "other"

    report = update(seed_corpus, index_dir, model="other", load_embedder=lambda _: Other(),
                    rebuild=True)
    assert report.added == 1
    assert Index.load(index_dir, model="other").manifest.model == "other"


def test_format_version_mismatch_says_to_rebuild(seed_corpus, tmp_path, fake_embedder):
    index_dir = tmp_path / "index"
    build(seed_corpus, index_dir, fake_embedder)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    manifest["format"] = 999
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="this qa reads format 1") as caught:
        Index.load(index_dir)
    assert caught.value.fix == "rebuild"
    assert build(seed_corpus, index_dir, fake_embedder, rebuild=True).added == 1
    Index.load(index_dir)


def test_missing_index_says_to_run_qa_index(tmp_path):
    with pytest.raises(IndexMissingError, match="No index in") as caught:
        Index.load(tmp_path / "nothing")
    assert caught.value.fix == "build"


@pytest.mark.parametrize("damage", ["truncate", "zero", "garble", "delete"])
@pytest.mark.parametrize("name", ["vectors.faiss", "linked vectors.faiss", "deleted.npy"])
def test_damaged_files_are_detected(seed_corpus, tmp_path, fake_embedder, damage, name):
    index_dir = tmp_path / "index"
    if name != "vectors.faiss":  # a removal leaves a linked vectors.faiss and tombstones
        write(seed_corpus, "gone.txt", "A note that is indexed and then removed.\n")
        build(seed_corpus, index_dir, fake_embedder)
        (seed_corpus / "gone.txt").unlink()
    build(seed_corpus, index_dir, fake_embedder)
    name = name.split()[-1]
    target = index_dir / Index.load(index_dir).manifest.directory / name
    data = target.read_bytes()
    if damage == "truncate":
        target.write_bytes(data[: len(data) // 2])
    elif damage == "zero":
        target.write_bytes(b"\0" * len(data))
    elif damage == "garble":  # one byte of one vector: the file still reads as an index
        target.write_bytes(data[:-9] + bytes([data[-9] ^ 0x40]) + data[-8:])
    else:
        target.unlink()
    with pytest.raises(IndexCorruptError, match=rf"{name}") as caught:
        Index.load(index_dir)
    assert caught.value.fix == "rebuild"
    # an update would carry the damage into its new version: it refuses
    write(seed_corpus, "more.txt", "A further statement on the harvest.\n")
    corpus = {p.name: p.read_bytes() for p in seed_corpus.iterdir()}
    with pytest.raises(IndexCorruptError, match=name):
        build(seed_corpus, index_dir, fake_embedder)
    assert {p.name: p.read_bytes() for p in seed_corpus.iterdir()} == corpus
    assert build(seed_corpus, index_dir, fake_embedder, rebuild=True).added == 2
    Index.load(index_dir)


def test_reader_follows_new_versions(seed_corpus, tmp_path, fake_embedder):
    index_dir = tmp_path / "index"
    build(seed_corpus, index_dir, fake_embedder)
    index = Index.load(index_dir)
    assert index.is_current()
    write(seed_corpus, "a.txt", "Fresh news.")
    build(seed_corpus, index_dir, fake_embedder)
    assert not index.is_current()
    assert search(index, fake_embedder, "Security Council", k=1)  # the old version still serves


def test_unchanged_files_are_not_read_again_to_hash_them(tmp_path, fake_embedder,
                                                         monkeypatch):
    import qa.index

    corpus = tmp_path / "corpus"
    old = time.time() - 60
    for name in ("a.txt", "b.txt"):
        os.utime(write(corpus, name, f"Text of {name} about harvests and rain.\n"), (old, old))
    build(corpus, tmp_path / "index", fake_embedder)

    hashed = []
    real_hash = qa.index.content_hash
    monkeypatch.setattr(qa.index, "content_hash", lambda p: hashed.append(p.name) or real_hash(p))
    report = build(corpus, tmp_path / "index", fake_embedder)
    assert hashed == [] and report.unchanged == 2

    # same size, new bytes, an older mtime than before: the stamp differs, so it is hashed
    os.utime(write(corpus, "a.txt", "Text of a.txt about markets and snow.\n"),
             (old - 30, old - 30))
    report = build(corpus, tmp_path / "index", fake_embedder)
    assert hashed == ["a.txt"] and report.updated == 1
    assert "markets" in all_texts(tmp_path / "index")

    # a file changed within the last seconds is always hashed
    write(corpus, "b.txt", "Text of b.txt about harvests and rain.\n")
    hashed.clear()
    report = build(corpus, tmp_path / "index", fake_embedder)
    assert "b.txt" in hashed and report.unchanged == 2


def test_a_file_that_cannot_be_read_does_not_write_a_new_version(seed_corpus, tmp_path,
                                                                  fake_embedder):
    (seed_corpus / "broken.txt").write_bytes(b"\x00\x01\x02binary" * 100)
    first = build(seed_corpus, tmp_path / "index", fake_embedder)
    assert len(first.skipped) == 1
    version = Manifest.read(tmp_path / "index").version

    again = update(seed_corpus, tmp_path / "index", model="fake", load_embedder=never_load)
    assert len(again.skipped) == 1 and "broken.txt" in str(again.skipped[0])
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 1)
    assert Manifest.read(tmp_path / "index").version == version


def test_a_file_gone_between_listing_and_hashing_is_skipped(seed_corpus, tmp_path,
                                                            fake_embedder, monkeypatch):
    import qa.index
    from qa.errors import IngestError

    write(seed_corpus, "brief.txt", "A brief note about harvests and rain.\n")

    def gone(path):
        if path.name == "brief.txt":
            raise IngestError(path.name, "cannot read file (No such file or directory)")
        return real_hash(path)

    real_hash = qa.index.content_hash
    monkeypatch.setattr(qa.index, "content_hash", gone)
    report = build(seed_corpus, tmp_path / "index", fake_embedder)
    assert report.added == 1 and len(report.skipped) == 1
    assert "harvests" not in all_texts(tmp_path / "index")


# -- removals leave tombstones -------------------------------------------------------------

ZEBRA = ("Zebra herds crossed the Ili river near Kapchagay.\n\n"
         '"The zebras will stay until the spring floods," Ms Aigerim Bekova said.\n')
HARVEST = "Kostanay farmers brought in a record wheat harvest this autumn.\n"
LINKED = ("vectors.faiss", "bm25/")  # what a removal must not rewrite


def version_files(index_dir: Path) -> tuple[Path, dict[str, os.stat_result]]:
    folder = index_dir / Manifest.read(index_dir).directory
    return folder, {p.relative_to(folder).as_posix(): p.stat()
                    for p in sorted(folder.rglob("*")) if p.is_file()}


def chunk_ids_of(index: Index, path: str) -> list[int]:
    [doc_id] = [d.doc_id for d in index.chunks.documents() if d.path == path]
    return sorted(index.chunks.chunk_ids(doc_ids=[doc_id]))


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_a_removal_links_vectors_and_bm25_and_hides_the_removed_chunks(
        seed_corpus, tmp_path, fake_embedder, monkeypatch, mode):
    import numpy as np

    import qa.index

    index_dir = tmp_path / "index"
    write(seed_corpus, "zebra.txt", ZEBRA)
    write(seed_corpus, "harvest.txt", HARVEST)
    build(seed_corpus, index_dir, fake_embedder)
    before = Index.load(index_dir)
    zebra_chunks = chunk_ids_of(before, "zebra.txt")
    assert any("zebras" in q.text for q in before.chunks.quotations())
    old_manifest = Manifest.read(index_dir)
    old_dir, old_files = version_files(index_dir)

    hashed: list[Path] = []
    real_describe = qa.index._describe
    monkeypatch.setattr(qa.index, "_describe",
                        lambda path: hashed.append(path) or real_describe(path))
    (seed_corpus / "zebra.txt").unlink()
    report = update(seed_corpus, index_dir, model="fake", load_embedder=never_load)
    assert report.removed == 1
    new_dir, new_files = version_files(index_dir)
    assert old_dir.is_dir() and new_dir != old_dir  # the old version stays for its readers
    linked = [name for name in new_files if name.startswith(LINKED)]
    assert "vectors.faiss" in linked and "bm25/ids.npy" in linked
    manifest = Manifest.read(index_dir)
    for name in linked:
        assert new_files[name].st_ino == old_files[name].st_ino, name
        assert manifest.files[name] == old_manifest.files[name], name
    # of the new version's files, only those written anew are hashed
    written = {Path(*p.relative_to(index_dir).parts[1:]).as_posix() for p in hashed
               if p.relative_to(index_dir).parts[0].startswith(".tmp-")}
    assert written == {"chunks.sqlite3", "deleted.npy"}
    assert manifest.deleted_chunks == len(zebra_chunks) and manifest.chunks < old_manifest.chunks
    deleted = np.load(new_dir / "deleted.npy")
    assert deleted.dtype == np.int64 and deleted.tolist() == zebra_chunks

    index = Index.load(index_dir, verify=True)
    live = index.chunks.count()
    assert len(index.store) == len(index.lexical) == live == manifest.chunks
    assert "zebra.txt" not in {d.path for d in index.chunks.documents()}
    assert not [q for q in index.chunks.quotations() if "zebras" in q.text]
    for query in ("zebra herds Ili river Kapchagay", "zebras spring floods ranger Bekova"):
        hits = search(index, fake_embedder, query, k=live, mode=mode)
        assert all(h.path != "zebra.txt" and "ebra" not in h.text for h in hits)
        if mode != "bm25":  # dense and hybrid rank every live chunk: k of them
            assert len(hits) == live
    hits = search(index, fake_embedder, "record wheat harvest Kostanay", k=3, mode=mode)
    assert hits[0].path == "harvest.txt"
    assert len(hits) == (1 if mode == "bm25" else 3)  # only one chunk has these words


def test_tombstones_add_up_and_an_addition_compacts_them(seed_corpus, tmp_path,
                                                         fake_embedder):
    from qa.lexical import LexicalIndex
    from qa.store import FaissStore

    index_dir = tmp_path / "index"
    write(seed_corpus, "zebra.txt", ZEBRA)
    write(seed_corpus, "harvest.txt", HARVEST)
    build(seed_corpus, index_dir, fake_embedder)
    first = Index.load(index_dir)
    removed = chunk_ids_of(first, "zebra.txt") + chunk_ids_of(first, "harvest.txt")
    _, first_files = version_files(index_dir)
    for name in ("zebra.txt", "harvest.txt"):
        (seed_corpus / name).unlink()
        update(seed_corpus, index_dir, model="fake", load_embedder=never_load)
    folder, files = version_files(index_dir)
    assert files["vectors.faiss"].st_ino == first_files["vectors.faiss"].st_ino
    index = Index.load(index_dir)
    assert index.manifest.deleted_chunks == len(removed)
    assert len(index.store) == len(first.store) - len(removed) == index.chunks.count()
    assert not search(index, fake_embedder, "zebra harvest Kostanay", k=5, mode="bm25")

    write(seed_corpus, "storm.txt", "A snow storm closed the roads to Shymkent.\n")
    report = build(seed_corpus, index_dir, fake_embedder)
    assert report.added == 1
    folder, files = version_files(index_dir)
    assert files["vectors.faiss"].st_ino != first_files["vectors.faiss"].st_ino
    assert "deleted.npy" not in files
    index = Index.load(index_dir, verify=True)
    assert index.manifest.deleted_chunks == 0 and "deleted.npy" not in index.manifest.files
    total = index.chunks.count()
    assert len(index.store) == len(index.lexical) == total == index.manifest.chunks
    # the files themselves hold only live chunks: nothing is left for tombstones to hide
    assert len(FaissStore.load(folder, 64)) == len(LexicalIndex.load(folder)) == total
    assert search(index, fake_embedder, "snow storm Shymkent", k=1)[0].path == "storm.txt"
    for mode in ("dense", "bm25", "hybrid"):
        hits = search(index, fake_embedder, "zebra herds wheat harvest", k=total, mode=mode)
        assert all(h.path not in ("zebra.txt", "harvest.txt") for h in hits)
        assert mode == "bm25" or len(hits) == total


def test_a_removed_document_is_not_found_by_answers_verification_or_quotations(
        seed_corpus, tmp_path, fake_embedder):
    from qa.assistant import Assistant
    from qa.config import Settings

    write(seed_corpus, "zebra.txt", ZEBRA)
    qa = Assistant(Settings(corpus=seed_corpus, index=tmp_path / "index", model="fake"),
                   embedder=fake_embedder)
    qa.update()
    question = "Where did the zebra herds cross the river?"
    quote = "The zebras will stay until the spring floods"
    assert any(c.path == "zebra.txt" for c in qa.answer(question).citations)
    assert qa.quotations("Aigerim Bekova")
    assert qa.verify(quote).match.path == "zebra.txt"

    qa.delete_document("zebra.txt")
    assert qa.update().removed == 1
    assert qa.index.manifest.deleted_chunks > 0
    answer = qa.answer(question)
    assert all(c.path != "zebra.txt" for c in answer.citations)
    assert all(p.path != "zebra.txt" for p in answer.related)
    assert not qa.quotations("Aigerim Bekova")
    assert all(h.path != "zebra.txt" for h in qa.search("zebra zebras Bekova", k=20))
    verdict = qa.verify(quote)
    assert verdict.match is None or verdict.match.path != "zebra.txt"


def test_a_manifest_written_before_tombstones_loads(seed_corpus, tmp_path, fake_embedder):
    index_dir = tmp_path / "index"
    build(seed_corpus, index_dir, fake_embedder)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    del manifest["deleted_chunks"]
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    index = Index.load(index_dir, verify=True)
    assert index.manifest.deleted_chunks == 0
    assert len(index.store) == index.chunks.count() == index.manifest.chunks


def test_tombstones_that_do_not_match_the_manifest_are_reported(seed_corpus, tmp_path,
                                                                fake_embedder):
    index_dir = tmp_path / "index"
    write(seed_corpus, "zebra.txt", ZEBRA)
    build(seed_corpus, index_dir, fake_embedder)
    (seed_corpus / "zebra.txt").unlink()
    build(seed_corpus, index_dir, fake_embedder)
    manifest = json.loads((index_dir / "manifest.json").read_text())
    manifest["deleted_chunks"] += 1
    (index_dir / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match="deleted.npy does not hold"):
        Index.load(index_dir)


def test_kind_and_speaker_are_stored_and_a_folder_default_change_reindexes_its_documents(
        tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    write(corpus, "news/report.txt", "Report\n\nThe minister said the talks went well.\n")
    write(corpus, "akorda/address.txt", "Address\n\nWe will rebuild what was destroyed.\n")
    write(corpus, "folders.toml", '["news"]\nkind = "secondary"\n')
    index_dir = tmp_path / "index"
    assert build(corpus, index_dir, fake_embedder).added == 2
    kinds = {d.path: (d.kind, d.speaker) for d in Index.load(index_dir).chunks.documents()}
    assert kinds == {"news/report.txt": ("secondary", None), "akorda/address.txt": ("primary",
                                                                                   None)}

    # a new default for one folder re-reads the documents of that folder only
    write(corpus, "folders.toml", '["news"]\nkind = "secondary"\n\n'
                                  '["akorda"]\nspeaker = "Kassym-Jomart Tokayev"\n')
    report = build(corpus, index_dir, fake_embedder)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    index = Index.load(index_dir)
    [address] = [d for d in index.chunks.documents() if d.path == "akorda/address.txt"]
    assert address.speaker == "Kassym-Jomart Tokayev"
    assert index.chunks.document(address.doc_id).speaker == "Kassym-Jomart Tokayev"
    speech = [q for q in index.chunks.quotations(address.doc_id) if not q.direct_quote]
    assert [q.text for q in speech] == ["We will rebuild what was destroyed."]
    assert build(corpus, index_dir, fake_embedder).unchanged == 2

    # a broken folders.toml stops the update with its name, and the index stays as it was
    write(corpus, "folders.toml", '["news"]\nkind = "rumour"\n')
    with pytest.raises(IngestError, match="folders.toml"):
        build(corpus, index_dir, fake_embedder)
    assert Index.load(index_dir).manifest.version == index.manifest.version


def test_a_store_written_by_an_older_qa_is_upgraded_without_embedding(seed_corpus, tmp_path,
                                                                      fake_embedder):
    import hashlib
    import sqlite3

    index_dir = tmp_path / "index"
    build(seed_corpus, index_dir, fake_embedder)
    old = Index.load(index_dir).manifest
    # what an older qa wrote: no kind or speaker columns, quotations of older rules
    store = index_dir / old.directory / "chunks.sqlite3"
    db = sqlite3.connect(store)
    db.execute("ALTER TABLE documents DROP COLUMN speaker")
    db.execute("ALTER TABLE documents DROP COLUMN kind")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    # the manifest's checksum of the store, as the older qa would have written it
    manifest = json.loads((index_dir / "manifest.json").read_text())
    entry = manifest["files"]["chunks.sqlite3"]
    entry["sha256"] = hashlib.sha256(store.read_bytes()).hexdigest()
    entry["bytes"] = store.stat().st_size
    (index_dir / "manifest.json").write_text(json.dumps(manifest))

    readable = Index.load(index_dir)  # an older store still reads: everything is primary
    assert {d.kind for d in readable.chunks.documents()} == {"primary"}

    report = update(seed_corpus, index_dir, model="fake", load_embedder=never_load)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 0, 0, 1)
    upgraded = Index.load(index_dir, verify=True)
    assert upgraded.manifest.version == old.version + 1
    assert upgraded.chunks.quotations()  # current rules, readable again
    assert {d.kind for d in upgraded.chunks.documents()} == {"primary"}
    assert update(seed_corpus, index_dir, model="fake", load_embedder=never_load).unchanged == 1
    assert Index.load(index_dir).manifest.version == upgraded.manifest.version
