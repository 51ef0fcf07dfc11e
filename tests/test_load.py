"""A short load on the real page: several browser sessions asking questions at once."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests._server import CHROMIUM, streamlit_server

pytestmark = pytest.mark.slow

if not Path(CHROMIUM).exists():
    pytest.skip("chromium is not installed (.ci/run installs it)", allow_module_level=True)


def test_three_sessions_keep_getting_answers_for_twenty_seconds(seed_corpus, seed_index,
                                                               tmp_path):
    from bench.bench_load import UNANSWERABLE, run_load

    shutil.copytree(seed_index.path, tmp_path / "index")  # the seed, already indexed
    with streamlit_server(seed_corpus, tmp_path / "index", build=False) as url:
        result = run_load(url, sessions=3, seconds=20, turns=4, timeout=60)

    assert not result.errors, result.errors
    assert [len(s.answers) >= 3 for s in result.sessions] == [True] * 3, result.sessions
    for session in result.sessions:
        for question, outcome, _ in session.answers:
            # cited sentences for the seed's questions, an abstention for the other one
            assert outcome == ("abstained" if question == UNANSWERABLE else "answer"), question
    assert result.percentile(95) < 30
