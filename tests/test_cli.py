"""The command line as users run it: real model, real FAISS, a separate process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SEARCH_KEYS = {"rank", "score", "doc_id", "path", "title", "date", "source", "start", "end",
               "text"}


def qa(*args: str, env: dict | None = None, cwd: Path | None = None):
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=300)


def index_seed(root: Path) -> tuple[Path, dict, dict]:
    """Copy the seed under ``root`` and run `qa index`: the corpus, env and its report."""
    from tests.conftest import copy_seed

    corpus = copy_seed(root / "corpus")
    env = {"QA_CORPUS": str(corpus), "QA_INDEX": str(root / "index")}
    result = qa("index", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return corpus, env, json.loads(result.stdout)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A corpus with the seed, indexed once by `qa index` with the packaged model."""
    return index_seed(tmp_path_factory.mktemp("cli"))


def test_index_json_contract(built):
    _, _, report = built
    assert set(report) == {"added", "updated", "removed", "unchanged", "documents", "chunks",
                           "seconds"}
    assert report["added"] == 1 and report["documents"] == 1 and report["chunks"] > 0


def test_search_json_contract_and_offsets(built):
    _, env, _ = built
    result = qa("search", "Almaty airport aircraft", "-k", "3", "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["query"] == "Almaty airport aircraft"
    assert len(data["results"]) == 3
    stored = json.loads(qa("show", data["results"][0]["doc_id"], "--json", env=env).stdout)
    for r in data["results"]:
        assert set(r) == SEARCH_KEYS
        assert stored["text"][r["start"]:r["end"]] == r["text"]
    assert data["results"][0]["date"] == "2022-01-06"
    assert "five aircrafts" in data["results"][0]["text"]
    # `qa show --text` prints the stored text alone, so the offsets count from its start
    plain = qa("show", data["results"][0]["doc_id"], "--text", env=env).stdout
    assert plain == stored["text"]
    for r in data["results"]:
        assert plain[r["start"]:r["end"]] == r["text"]
    assert qa("show", data["results"][0]["doc_id"], env=env).stdout != plain


def test_add_change_delete_through_the_cli(built, tmp_path):
    corpus, env, _ = built
    env = {**env, "QA_INDEX": str(tmp_path / "index")}
    assert qa("index", env=env).returncode == 0
    (corpus / "a.txt").write_text("The wheat harvest in Kostanay reached a record.\n")
    (corpus / "b.md").write_text("# Rail\n\nA new railway line opened to Dostyk.\n")
    try:
        added = json.loads(qa("index", "--json", env=env).stdout)
        assert (added["added"], added["unchanged"]) == (2, 1)

        again = qa("index", "--json", env=env)
        assert json.loads(again.stdout)["unchanged"] == 3

        (corpus / "a.txt").write_text("The wheat harvest in Kostanay fell short.\n")
        assert json.loads(qa("index", "--json", env=env).stdout)["updated"] == 1

        (corpus / "b.md").unlink()
        assert json.loads(qa("index", "--json", env=env).stdout)["removed"] == 1
        hits = json.loads(qa("search", "railway line to Dostyk", "-k", "10", "--json",
                             env=env).stdout)["results"]
        assert all("Dostyk" not in h["text"] for h in hits)
    finally:
        for name in ("a.txt", "b.md"):
            (corpus / name).unlink(missing_ok=True)


def test_unchanged_run_does_not_load_the_model(built):
    _, env, _ = built
    # torch is only imported to load the model; a clean run must not import it.
    code = ("import sys; from qa.cli import main; sys.argv=['qa','index','--json']\n"
            "try:\n    main()\nexcept SystemExit: pass\n"
            "assert 'torch' not in sys.modules, 'model was loaded'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, **env})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["unchanged"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["search", "   "], "The query is empty"),
        (["show", "no-such-doc"], "is not in the index"),
        (["search", "x", "--model", "other-model"], "qa index --rebuild"),
    ],
)
def test_bad_input_gives_one_line_and_exit_1(built, args, message):
    _, env, _ = built
    result = qa(*args, env=env)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_index_and_missing_corpus(tmp_path):
    result = qa("search", "x", env={"QA_INDEX": str(tmp_path / "none")})
    assert result.returncode == 1 and "Run `qa index` first" in result.stderr
    result = qa("index", env={"QA_CORPUS": str(tmp_path / "nope"),
                              "QA_INDEX": str(tmp_path / "i")})
    assert result.returncode == 1 and "corpus" in result.stderr
    assert "Traceback" not in result.stderr


def test_unloadable_model_is_reported_clearly(tmp_path, seed_corpus):
    result = qa("index", env={"QA_CORPUS": str(seed_corpus), "QA_INDEX": str(tmp_path / "i"),
                              "QA_MODEL": str(tmp_path / "no-model-here")})
    assert result.returncode == 1
    assert "Cannot load model" in result.stderr and "offline" in result.stderr
    assert "Traceback" not in result.stderr


def test_skipped_file_is_named_and_exit_code_is_nonzero(tmp_path, seed_corpus):
    (seed_corpus / "junk.txt").write_bytes(b"\x00\xff" * 100)
    result = qa("index", "--json", env={"QA_CORPUS": str(seed_corpus),
                                        "QA_INDEX": str(tmp_path / "i")})
    assert result.returncode == 1
    assert "junk.txt" in result.stderr and "binary" in result.stderr
    assert json.loads(result.stdout)["added"] == 1


def test_help_and_version():
    result = qa("--help")
    assert result.returncode == 0 and "qa index" in result.stdout
    assert qa("--version").stdout.startswith("qa, version")
    assert qa("search", "-h").returncode == 0
