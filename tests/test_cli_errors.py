"""Every command with bad values: one line naming the problem and the fix, never a traceback.

Exit code 1 for a value qa refuses, 2 for a usage error click catches (a missing argument,
a number that is not a number). Run in-process through ``qa.cli.main``, on a real index of
the seed built with the packaged model.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from qa.cli import main


@pytest.fixture(scope="module")
def built(tmp_path_factory, real_embedder):
    from tests.conftest import build_index, copy_seed

    root = tmp_path_factory.mktemp("cli-errors")
    build_index(copy_seed(root / "corpus"), root / "index", real_embedder)
    files = root / "files"
    files.mkdir()
    (files / "bad-utf8.csv").write_bytes(b"quote,speaker\n\xff\xfe broken \xc3\n")
    (files / "no-quote-column.csv").write_text("text\nhello\n")
    (files / "empty.csv").write_text("")
    (files / "quotes.csv").write_text("quote\nTogether we will definitely win.\n")
    (files / "unreadable.csv").write_text("quote\nx\n")
    os.chmod(files / "unreadable.csv", 0)
    beir = files / "beir"
    (beir / "qrels").mkdir(parents=True)
    (beir / "corpus.jsonl").write_text(json.dumps({"_id": "d1", "title": "", "text": "x"}) + "\n")
    (beir / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "x"}) + "\n")
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\thigh\n")
    (files / "a-file").write_text("not a folder")
    return root


def run(args, env, monkeypatch, capsys) -> tuple[int, str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["qa", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    return exit_.value.code, capsys.readouterr().err


F = "{files}"  # replaced by the fixture's folder of test files
CASES = [
    # (args, extra environment, exit code, words the one line must hold)
    (["search", "x", "--since", "2022-13-01"], {}, 2, "--since"),
    (["search", "x", "--since", "yesterday"], {}, 2, "YYYY-MM-DD"),
    (["ask", "x", "--since", "2022-02-01", "--until", "2022-01-01"], {}, 2, "after --until"),
    (["verify", "x", "--until", "6 January"], {}, 2, "--until"),
    (["search", "x", "-k", "0"], {}, 1, "at least 1"),
    (["search", "x", "-k", "many"], {}, 2, "-k"),
    (["ask", "x", "-n", "0"], {}, 2, "max-sentences"),
    (["search", "   "], {}, 1, "empty"),
    (["ask", ""], {}, 1, "empty"),
    (["search"], {}, 2, "QUERY"),
    (["search", "x", "--doc", "no-such-document"], {}, 1, "not in the index"),
    (["show", "no-such-document"], {}, 1, "not in the index"),
    (["verify"], {}, 1, "QUOTE"),
    (["verify", ""], {}, 1, "no words"),
    (["verify", "x" * 6000], {}, 1, "characters"),
    (["verify", "x", "--out", "r.csv"], {}, 1, "--file"),
    (["verify", "--file", f"{F}/missing.csv"], {}, 2, "missing.csv"),
    (["verify", "--file", f"{F}/bad-utf8.csv"], {}, 1, "UTF-8"),
    (["verify", "--file", f"{F}/no-quote-column.csv"], {}, 1, "quote"),
    (["verify", "--file", f"{F}/empty.csv"], {}, 1, "quote"),
    (["verify", "--file", f"{F}/quotes.csv", "--out", "/no/such/dir/r.csv"], {}, 1,
     "/no/such/dir"),
    (["verify", "--file", f"{F}/quotes.csv", "--out", f"{F}"], {}, 2, "directory"),
    (["search", "x"], {"QA_PRECISION": "bogus"}, 1, "precision"),
    (["search", "x"], {"QA_INDEX": f"{F}/a-file"}, 1, "index"),
    (["search", "x"], {"QA_INDEX": f"{F}/nowhere"}, 1, "qa index"),
    (["index"], {"QA_CORPUS": f"{F}/nowhere"}, 1, "corpus"),
    (["index"], {"QA_CORPUS": f"{F}/a-file"}, 1, "corpus"),
    (["index"], {"QA_MAX_DOCUMENT_MB": "lots"}, 1, "QA_MAX_DOCUMENT_MB"),
    (["search", "x", "--model", "no-such-model"], {}, 1, "model"),
    (["eval", f"{F}/nowhere"], {}, 1, "nowhere"),
    (["eval", f"{F}"], {}, 1, "corpus.jsonl"),
    (["eval", f"{F}/beir"], {}, 1, "score"),
    (["quotes", "--speaker", "Nobody At All"], {}, 0, ""),
    (["search", "broken \udcff bytes"], {}, 1, "UTF-8"),
    (["verify", "broken \udcff bytes"], {}, 1, "UTF-8"),
]


@pytest.mark.parametrize(("args", "env", "code", "words"), CASES,
                         ids=[" ".join(c[0])[:40] + (f" {c[1]}" if c[1] else "") for c in CASES])
def test_bad_values_give_one_line_and_the_right_exit_code(built, monkeypatch, capsys, args, env,
                                                         code, words):
    files = str(built / "files")
    monkeypatch.setenv("QA_CORPUS", str(built / "corpus"))
    monkeypatch.setenv("QA_INDEX", str(built / "index"))
    monkeypatch.chdir(built)
    if os.geteuid() == 0 and any("unreadable" in a for a in args):
        pytest.skip("root reads unreadable files")
    got, err = run([a.replace(F, files) for a in args],
                   {k: v.replace(F, files) for k, v in env.items()}, monkeypatch, capsys)
    assert "Traceback" not in err
    assert got == code, err
    if code:
        lines = [line for line in err.strip().splitlines() if line.strip()]
        # click's usage errors add a "Usage:" and a "Try" line before the one that names it
        problem = [line for line in lines if not line.startswith(("Usage:", "Try "))]
        assert len(problem) == 1, err
        assert words.lower() in problem[0].lower(), err


def test_library_errors_leave_the_cli_words_to_the_cli():
    """No CLI flag, command or environment variable is named in an error qa/ raises."""
    import ast
    import re

    root = Path(__file__).resolve().parent.parent / "qa"
    cli_words = re.compile(r"--[a-z]{3,}|`qa [a-z]+|QA_(?!MAX_DOCUMENT_MB)[A-Z_]+")
    offenders = []
    for file in sorted(root.rglob("*.py")):
        if file.name in ("cli.py", "page.py"):
            continue  # the interfaces word the fixes
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                words = " ".join(c.value for arg in node.exc.args for c in ast.walk(arg)
                                 if isinstance(c, ast.Constant) and isinstance(c.value, str))
                if cli_words.search(words):
                    offenders.append(f"{file.relative_to(root)}:{node.lineno}: {words}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("fix", ["build", "rebuild", "list_documents", "corpus", "model",
                                 "read_only"])
def test_every_fix_is_worded_by_the_cli_and_the_page(fix):
    from qa import cli, page
    from qa.errors import FIXES, QAError, describe

    assert set(cli.FIXES) == set(page.FIXES) == set(FIXES)
    error = QAError("Something is wrong.", fix=fix)
    assert describe(error, cli.FIXES) != describe(error, page.FIXES)
    assert describe(error, cli.FIXES).startswith("Something is wrong. ")
