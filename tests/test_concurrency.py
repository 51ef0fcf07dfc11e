"""Queries keep succeeding, and stay consistent, while index updates run.

Readers in threads of this process and in another process query while this process
updates the index again and again. Every passage and citation they get must be the
stored text at its offsets in one single version of the index, and they must move on to
the new versions as they are switched in.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

import pytest

from qa.assistant import Assistant
from qa.config import Settings
from qa.index import Index, update
from qa.retrieval import search
from tests.conftest import ROOT, FakeEmbedder, copy_seed

PORTS = 4  # documents that every update rewrites: a result mixing versions shows
QUERY = "harbour reopened ships sailed storm"
QUESTION = "Which harbour reopened after the storm?"

Spans = list[tuple[str, int, int, str]]  # (doc_id, start, end, text) of one result


def harbour(port: int, revision: int) -> str:
    return (f"Harbour report {port}, revision {revision}.\n\n"
            f"The harbour of Port {port} reopened after storm {revision} "
            f"and the ships sailed again.\n")


class Corpus:
    """A corpus that changes at every step: every harbour document gets a new revision,
    one extra document comes and another goes."""

    def __init__(self, root: Path) -> None:
        self.path = copy_seed(root / "corpus")
        self.index = root / "index"
        self.revision = 0
        self._write()

    def step(self) -> None:
        self.revision += 1
        self._write()

    def _write(self) -> None:
        r = self.revision
        for port in range(PORTS):
            (self.path / f"port-{port}.txt").write_text(harbour(port, r), encoding="utf-8")
        (self.path / f"extra-{r}.txt").write_text(
            f"Extra notice {r}\n\nNotice {r}: the harbour office moved to a new building.\n",
            encoding="utf-8")
        (self.path / f"extra-{r - 2}.txt").unlink(missing_ok=True)

    def expected_paths(self) -> set[str]:
        return {p.name for p in self.path.iterdir() if not p.name.endswith(".meta.json")}


def snapshot(index_dir: Path) -> tuple[int, dict[str, str]]:
    """The current version's number and every document's stored text."""
    index = Index.load(index_dir)
    texts = {d.doc_id: index.chunks.document(d.doc_id).text for d in index.chunks.documents()}
    return index.manifest.version, texts


def consistent(spans: Spans, versions: dict[int, dict[str, str]]) -> bool:
    """Whether one version holds every span's text at its offsets."""
    return any(all(doc_id in texts and texts[doc_id][start:end] == text
                   for doc_id, start, end, text in spans)
               for texts in versions.values())


def run_together(threads: list[threading.Thread], timeout: float) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)


def assert_one_version_each(results: list[Spans], versions: dict[int, dict[str, str]]) -> None:
    mixed = [spans for spans in results if not consistent(spans, versions)]
    assert not mixed, f"{len(mixed)} results are no single version's text, e.g. {mixed[0]}"


def answer_spans(answer) -> Spans:
    return ([(c.doc_id, c.start, c.end, c.quote) for c in answer.citations]
            + [(p.doc_id, p.start, p.end, p.text) for p in answer.related])


def check_final_index(corpus: Corpus) -> None:
    index = Index.load(corpus.index, verify=True)
    assert {d.path for d in index.chunks.documents()} == corpus.expected_paths()
    assert len(index.store) == index.chunks.count() == index.manifest.chunks
    for d in index.chunks.documents():
        if d.path.startswith("port-"):
            assert f"revision {corpus.revision}." in index.chunks.document(d.doc_id).text


# -- threads ------------------------------------------------------------------------------


def test_threads_keep_answering_from_one_version_while_updates_run(tmp_path):
    corpus = Corpus(tmp_path)
    writer_embedder = FakeEmbedder()

    def build():
        return update(corpus.path, corpus.index, model="fake",
                      load_embedder=lambda _: writer_embedder)

    build()
    versions = dict([snapshot(corpus.index)])
    # One assistant for every reader thread, as the page shares one between sessions.
    qa = Assistant(Settings(corpus=corpus.path, index=corpus.index, model="fake"),
                   embedder=FakeEmbedder())
    updates = 12
    done = threading.Event()
    final: list[int] = []
    errors: list[str] = []
    results: list[Spans] = []
    seen: list[set[int]] = [set() for _ in range(3)]

    def reader(n: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                results.append([(p.doc_id, p.start, p.end, p.text)
                                for p in qa.search(QUERY, k=8)])
                results.append(answer_spans(qa.answer(QUESTION)))
                seen[n].add(qa.index.manifest.version)
            except Exception:
                errors.append(traceback.format_exc())
            if done.is_set() and final[0] in seen[n]:
                return

    def writer() -> None:
        try:
            for _ in range(updates):
                corpus.step()
                build()
                version, texts = snapshot(corpus.index)
                versions[version] = texts
                time.sleep(0.05)  # let readers query this version too
        except Exception:
            errors.append(traceback.format_exc())
        finally:
            final.append(max(versions))
            done.set()

    run_together([threading.Thread(target=reader, args=(n,)) for n in range(3)]
                 + [threading.Thread(target=writer)], timeout=120)

    assert not errors, errors[0]
    assert len(versions) == updates + 1
    assert len(results) > 100
    assert all(spans for spans in results)
    assert_one_version_each(results, versions)
    for observed in seen:
        assert final[0] in observed  # every reader moved on to the last version
        assert len(observed) >= 3  # and to versions in between
    check_final_index(corpus)


@pytest.mark.slow
def test_one_real_model_shared_by_an_upload_and_the_questions(tmp_path, real_embedder):
    """The page's case: one assistant, one real embedder (one set of process-wide thread
    settings), used by the update an upload starts and by the questions asked meanwhile."""
    corpus = Corpus(tmp_path)
    qa = Assistant(Settings(corpus=corpus.path, index=corpus.index, model=real_embedder.name),
                   embedder=real_embedder)
    qa.update()
    versions = dict([snapshot(corpus.index)])
    updates = 4
    done = threading.Event()
    errors: list[str] = []
    results: list[Spans] = []

    def reader() -> None:
        while not done.is_set():
            try:
                results.append([(p.doc_id, p.start, p.end, p.text)
                                for p in qa.search(QUERY, k=8)])
                results.append(answer_spans(qa.answer(QUESTION)))
            except Exception:
                errors.append(traceback.format_exc())

    def writer() -> None:
        try:
            for _ in range(updates):
                corpus.step()
                # in slices, as the page's progress bar asks, so queries run between them
                qa.update(on_progress=lambda *_: None)
                version, texts = snapshot(corpus.index)
                versions[version] = texts
        except Exception:
            errors.append(traceback.format_exc())
        finally:
            done.set()

    run_together([threading.Thread(target=reader) for _ in range(2)]
                 + [threading.Thread(target=writer)], timeout=300)

    assert not errors, errors[0]
    assert len(versions) == updates + 1 and len(results) >= 2 * updates
    assert_one_version_each(results, versions)
    # the shared model still embeds as it did before the concurrent use
    alone = real_embedder.embed([QUESTION])[0]
    assert float(alone @ real_embedder.embed([QUESTION, QUERY])[0]) > 0.999
    answer = qa.answer(QUESTION)
    assert not answer.abstained and "reopened" in answer.answer
    check_final_index(corpus)


def test_threads_opening_the_index_at_once(tmp_path):
    corpus = Corpus(tmp_path)
    embedder = FakeEmbedder()
    update(corpus.path, corpus.index, model="fake", load_embedder=lambda _: embedder)
    errors: list[str] = []
    loads = [0, 0, 0]

    def opener(n: int) -> None:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                index = Index.load(corpus.index, model="fake")
                assert search(index, embedder, QUERY, k=3)
                loads[n] += 1
            except Exception:
                errors.append(traceback.format_exc())

    threads = [threading.Thread(target=opener, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, f"{len(errors)} of {sum(loads) + len(errors)} loads failed: {errors[0]}"
    assert min(loads) > 10


def test_a_load_that_outlasts_two_updates_still_opens_an_index(tmp_path, monkeypatch):
    import qa.index

    corpus = Corpus(tmp_path)
    embedder = FakeEmbedder()

    def build():
        update(corpus.path, corpus.index, model="fake", load_embedder=lambda _: embedder)

    build()
    check_files = qa.index._check_files

    def slow_reader(version_dir, files, *, verify):
        # The reader has read the manifest; two updates finish before it opens the files.
        monkeypatch.setattr(qa.index, "_check_files", check_files)
        for _ in range(2):
            corpus.step()
            build()
        return check_files(version_dir, files, verify=verify)

    monkeypatch.setattr(qa.index, "_check_files", slow_reader)
    index = Index.load(corpus.index)
    assert len(index.store) == index.chunks.count() == index.manifest.chunks
    assert search(index, embedder, QUERY, k=3)


# -- another process ----------------------------------------------------------------------

READER = r"""
import json, sys, time, traceback
from pathlib import Path

sys.path.insert(0, sys.argv[1])
from qa.assistant import Assistant
from qa.config import Settings
from qa.errors import IndexCorruptError

corpus, index, stop, kind, query, question = sys.argv[2:8]
if kind == "fake":
    from tests.conftest import FakeEmbedder
    qa = Assistant(Settings(corpus=Path(corpus), index=Path(index), model="fake"),
                   embedder=FakeEmbedder())
else:
    qa = Assistant(Settings(corpus=Path(corpus), index=Path(index)))

def emit(**fields):
    print(json.dumps(fields), flush=True)

emit(ready=qa.index.manifest.version)
deadline = time.monotonic() + 120  # stops by itself if the test does not stop it
while not Path(stop).exists() and time.monotonic() < deadline:
    try:
        passages = [[p.doc_id, p.start, p.end, p.text] for p in qa.search(query, k=8)]
        answer = qa.answer(question)
        cited = [[c.doc_id, c.start, c.end, c.quote] for c in answer.citations]
        cited += [[p.doc_id, p.start, p.end, p.text] for p in answer.related]
        emit(version=qa.index.manifest.version, passages=passages, cited=cited)
    except Exception:
        emit(error=traceback.format_exc())
"""


def run_reader_process(corpus: Corpus, build, kind: str, updates: int) -> None:
    """Update ``updates`` times while a reader process queries; check what it saw."""
    build()
    versions = dict([snapshot(corpus.index)])
    stop = corpus.index.parent / "stop"
    log = corpus.index.parent / "reader.log"  # a file, so the reader never blocks on it
    with open(log, "w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-c", READER, str(ROOT), str(corpus.path), str(corpus.index),
             str(stop), kind, QUERY, QUESTION],
            stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=ROOT,
            env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    lines: queue.Queue[dict] = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:
            if line.startswith("{"):
                lines.put(json.loads(line))

    pumping = threading.Thread(target=pump, daemon=True)
    pumping.start()
    received: list[dict] = []

    def wait_for(predicate, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                received.append(lines.get(timeout=0.5))
            except queue.Empty:
                if proc.poll() is not None:
                    break
                continue
            if predicate(received[-1]):
                return
        proc.kill()
        raise AssertionError(f"the reader process did not get there: {received[-3:]}\n"
                             f"{log.read_text()[-3000:]}")

    try:
        wait_for(lambda m: "ready" in m, timeout=180)
        first = received[-1]["ready"]
        wait_for(lambda m: m.get("version") == first, timeout=180)  # the model has loaded
        for _ in range(updates):
            corpus.step()
            build()
            version, texts = snapshot(corpus.index)
            versions[version] = texts
            # the reader must answer from this version before the next update
            wait_for(lambda m, v=version: m.get("version", 0) >= v, timeout=60)
        last = max(versions)
        wait_for(lambda m: m.get("version") == last and len(received) > 3, timeout=60)
    finally:
        stop.touch()
        try:
            proc.wait(timeout=60)
        finally:
            proc.kill()
    pumping.join(timeout=10)
    while not lines.empty():
        received.append(lines.get())

    assert proc.returncode == 0, log.read_text()[-3000:]
    errors = [m["error"] for m in received if "error" in m]
    assert not errors, errors[0]
    answered = [m for m in received if "version" in m]
    assert {m["version"] for m in answered} == set(versions)  # every version, old and new
    for m in answered:
        assert m["passages"], m
        for spans in (m["passages"], m["cited"]):
            assert consistent([tuple(s) for s in spans], versions), m
    check_final_index(corpus)


def test_a_reader_process_keeps_answering_while_this_process_updates(tmp_path):
    corpus = Corpus(tmp_path)
    embedder = FakeEmbedder()
    run_reader_process(corpus, lambda: update(corpus.path, corpus.index, model="fake",
                                              load_embedder=lambda _: embedder),
                       "fake", updates=8)


@pytest.mark.slow
def test_a_reader_process_with_the_real_model_sees_every_update(tmp_path, real_embedder):
    corpus = Corpus(tmp_path)
    run_reader_process(corpus, lambda: update(corpus.path, corpus.index,
                                              model=real_embedder.name,
                                              load_embedder=lambda _: real_embedder),
                       "real", updates=4)


# -- the page -----------------------------------------------------------------------------


@pytest.mark.slow
def test_page_conversation_survives_its_cited_document_being_removed(tmp_path, monkeypatch,
                                                                     real_embedder):
    """Another session (or `qa index`) deletes a cited document: the conversation is
    drawn again on every rerun and must still show, with the cited words."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    corpus = Corpus(tmp_path)

    def build():
        update(corpus.path, corpus.index, model=real_embedder.name,
               load_embedder=lambda _: real_embedder)

    build()
    monkeypatch.setenv("QA_CORPUS", str(corpus.path))
    monkeypatch.setenv("QA_INDEX", str(corpus.index))
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.run()
        at.chat_input[0].set_value("When did the harbour of Port 2 reopen?").run()
        assert not at.exception, at.exception
        [citation, *_] = at.chat_message[1].expander
        assert "<mark>" in citation.markdown[0].value
        assert citation.get("download_button")
        cited = at.chat_message[1].markdown[0].value

        for p in corpus.path.glob("port-*.txt"):
            p.unlink()
        build()
        at.run()
        assert not at.exception, at.exception
        assert at.chat_message[1].markdown[0].value == cited
        [citation, *_] = at.chat_message[1].expander
        assert "changed or removed" in citation.caption[0].value
        assert "Port 2" in citation.markdown[0].value
        assert not citation.get("download_button")
    finally:
        st.cache_resource.clear()
