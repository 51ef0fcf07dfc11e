"""`qa ask`, `qa chat` and the filter options as users run them: real model, separate process."""

from __future__ import annotations

import json
import re

import pytest

from tests.test_cli import SEARCH_KEYS, index_seed, qa

ANSWER_KEYS = {"question", "answer", "abstained", "citations", "related", "note",
               "source_line"}
CITATION_KEYS = {"n", "doc_id", "path", "title", "date", "source", "start", "end", "quote"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The seed indexed once by `qa index`, and its stored text from `qa show`."""
    _, env, _ = index_seed(tmp_path_factory.mktemp("ask"))
    docs = json.loads(qa("docs", "--json", env=env).stdout)["documents"]
    stored = json.loads(qa("show", docs[0]["doc_id"], "--json", env=env).stdout)
    return env, stored


def test_ask_json_contract_and_offsets(built):
    env, stored = built
    result = qa("ask", "What happened at the Almaty airport?", "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == ANSWER_KEYS
    assert data["question"] == "What happened at the Almaty airport?"
    assert data["abstained"] is False
    assert data["citations"] and any("five aircrafts" in c["quote"] for c in data["citations"])
    for c in data["citations"]:
        assert set(c) == CITATION_KEYS
        assert stored["text"][c["start"]:c["end"]] == c["quote"]
        assert c["doc_id"] == stored["doc_id"] and c["date"] == "2022-01-06"
        assert f"{c['quote']} [{c['n']}]" in data["answer"]
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", data["answer"])}
    assert markers == {c["n"] for c in data["citations"]}
    for p in data["related"]:
        assert set(p) == SEARCH_KEYS


def test_ask_abstains_off_topic(built):
    env, _ = built
    data = json.loads(qa("ask", "Who won the 2018 World Cup?", "--json", env=env).stdout)
    assert data["abstained"] is True and data["citations"] == []
    assert "do not answer" in data["answer"] and "[" not in data["answer"]
    assert data["related"] and set(data["related"][0]) == SEARCH_KEYS
    human = qa("ask", "What is the capital of France?", env=env)
    assert human.returncode == 0, human.stderr
    assert "The documents do not answer this question." in human.stdout
    assert "Closest passages:" in human.stdout


def test_ask_prints_the_note_on_dates(built):
    env, _ = built
    result = qa("ask", "When did Tokayev appeal to the CSTO?", "-n", "1", env=env)
    assert result.returncode == 0, result.stderr
    assert "appealed to the heads of the CSTO" in " ".join(result.stdout.split())
    assert "Note: The cited document is dated 6 January 2022." in result.stdout
    data = json.loads(qa("ask", "Where was the session held on 9 January?", "--json",
                         env=env).stdout)
    assert data["note"].startswith("No document is dated 9 January 2022")
    plain = json.loads(qa("ask", "Where was the session held?", "--json", env=env).stdout)
    assert plain["note"] == "" and plain["source_line"] == ""
    dated = qa("ask", "Where was the session held on 6 January?", env=env)
    assert dated.stdout.startswith("From “President Kassym-Jomart Tokayev held a session of "
                                   "the Security Council”, 6 January 2022:\n")


def test_ask_human_output_lists_numbered_citations(built):
    env, stored = built
    result = qa("ask", "Where was the session held?", "-n", "1", env=env)
    assert result.returncode == 0, result.stderr
    assert "held in Akorda Palace. [1]" in " ".join(result.stdout.split())  # wrapped at 100
    start = stored["text"].index("Under the chairmanship")
    end = stored["text"].index("Akorda Palace.") + len("Akorda Palace.")
    assert "[1] President Kassym-Jomart Tokayev" in result.stdout
    assert f"(2022-01-06) {stored['doc_id']} chars {start}-{end}" in result.stdout
    assert "[2]" not in result.stdout


@pytest.mark.parametrize(("command", "args", "code", "message"), [
    ("ask", ["--since", "2022-02-30"], 2,
     "Error: Invalid value for '--since': '2022-02-30' is not a date. Give it as YYYY-MM-DD"),
    ("search", ["--until", "yesterday"], 2,
     "Error: Invalid value for '--until': 'yesterday' is not a date."),
    ("ask", ["--since", "2022-02-01", "--until", "2022-01-01"], 2,
     "Error: --since 2022-02-01 is after --until 2022-01-01."),
    ("search", ["--doc", "no-such-document"], 1,
     "Error: Document 'no-such-document' is not in the index."),
    ("ask", ["--doc", "no-such-document"], 1, "is not in the index. Run `qa docs`"),
])
def test_bad_filters_are_one_line_errors(built, command, args, code, message):
    env, _ = built
    result = qa(command, "Where was the session held?", *args, env=env)
    assert result.returncode == code
    assert message in result.stderr
    # a usage error (exit 2) has click's usage line and hint before its one line
    problem = [line for line in result.stderr.strip().splitlines()
               if line.strip() and not line.startswith(("Usage:", "Try "))]
    assert "Traceback" not in result.stderr and len(problem) == 1


def test_filters_on_ask_and_search(built):
    env, stored = built
    later = json.loads(qa("ask", "Where was the session held?", "--since", "2022-01-07",
                          "--json", env=env).stdout)
    assert later["abstained"] is True and later["related"] == []
    assert json.loads(qa("search", "Akorda", "--until", "2022-01-05", "--json",
                         env=env).stdout)["results"] == []
    same_day = json.loads(qa("ask", "Where was the session held?", "--since", "2022-01-06",
                             "--until", "2022-01-06", "--doc", stored["path"],
                             "--source", stored["source"], "--json", env=env).stdout)
    assert same_day["abstained"] is False
    assert "Akorda Palace" in same_day["answer"]
    results = json.loads(qa("search", "Akorda", "--doc", stored["doc_id"][:6], "--json",
                            env=env).stdout)["results"]
    assert results and all(r["doc_id"] == stored["doc_id"] for r in results)
    none = json.loads(qa("search", "Akorda", "--source", "Elsewhere", "--json",
                         env=env).stdout)["results"]
    assert none == []


def test_chat_over_stdin_follows_the_conversation(built):
    env, stored = built
    import os
    import subprocess
    import sys

    lines = ["Who attended the meeting?", "", "What did they discuss?",
             "What is the capital of France?", "exit", "Where was the session held?"]
    result = subprocess.run([sys.executable, "-m", "qa", "chat", "--json"],
                            input="\n".join(lines) + "\n", capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=300)
    assert result.returncode == 0, result.stderr
    turns = [json.loads(line) for line in result.stdout.splitlines()]
    assert [t["question"] for t in turns] == [lines[0], lines[2], lines[3]]  # stops at exit
    first, follow, off = turns
    assert "The meeting was attended by" in first["answer"]
    assert not follow["abstained"]
    assert "The agenda of the discussion" in follow["citations"][0]["quote"]
    assert off["abstained"] is True
    for t in turns:
        assert set(t) == ANSWER_KEYS
        for c in t["citations"]:
            assert stored["text"][c["start"]:c["end"]] == c["quote"]


def test_chat_human_output_until_eof(built):
    env, _ = built
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "qa", "chat"],
                            input="What happened at the Almaty airport?\n", capture_output=True,
                            text=True, env={**os.environ, **env}, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "five aircrafts" in result.stdout and "chars " in result.stdout
    assert "> " not in result.stdout  # no prompt when stdin is not a terminal
