"""Primary sources first, reports listed after, speeches attributed to their speaker.

A corpus of the seed (the official statement, primary), two news reports (secondary, by
folders.toml) that print Tokayev's words, one of them changed, and an address whose
sidecar-free text is the President's own words (a speaker for its folder). Real model,
real index.
"""

from __future__ import annotations

import json

import pytest

from qa.retrieval import Filters
from qa.verify import verify
from tests.conftest import build_index, copy_seed

TOKAYEV = "Kassym-Jomart Tokayev"
REPORT_EARLY = """Kazakhstan asks allies for help

January 6, 2022

The president spoke to the Security Council on Thursday. "Together we will definitely
win," Tokayev said. "We know that they are running riot in Almaty and other cities," he
added.
"""
REPORT_LATE = """Unrest in Almaty: what was said

January 8, 2022

"Together we will definitely win," the president told the Security Council. An adviser,
speaking on condition of anonymity, said: "The army will restore order by Friday."
"""
ADDRESS = """Address to the people of Kazakhstan

January 7, 2022

Dear compatriots, constitutional order has been largely restored in all regions.

I have given the order to open fire without warning. The militants have not laid down
their arms.
"""


def _write(path, text, meta=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if meta:
        path.with_name(path.name + ".meta.json").write_text(json.dumps(meta))


@pytest.fixture(scope="module")
def sources_index(tmp_path_factory, real_embedder):
    root = tmp_path_factory.mktemp("sources")
    corpus = copy_seed(root / "corpus")
    _write(corpus / "news" / "early.txt", REPORT_EARLY, {"date": "2022-01-06"})
    _write(corpus / "news" / "late.txt", REPORT_LATE, {"date": "2022-01-08"})
    _write(corpus / "speeches" / "address.txt", ADDRESS, {"date": "2022-01-07"})
    (corpus / "folders.toml").write_text('["news"]\nkind = "secondary"\n\n'
                                         f'["speeches"]\nspeaker = "{TOKAYEV}"\n')
    index = build_index(corpus, root / "index", real_embedder)
    index.root = root  # for the CLI test
    return index


def test_a_verbatim_quote_is_confirmed_by_the_transcript_and_its_reprints_listed(
        sources_index, real_embedder):
    v = verify(sources_index, real_embedder, "Together we will definitely win.")
    assert v.verdict == "verbatim" and not v.secondary_only
    assert v.match.path.endswith("security-council-session.txt")  # the primary source
    assert [r.path for r in v.reprints] == ["news/early.txt", "news/late.txt"]  # oldest first
    assert [r.date for r in v.reprints] == ["2022-01-06", "2022-01-08"]
    assert v.as_json()["reprints"][0]["path"] == "news/early.txt"


def test_a_report_printing_a_changed_quote_does_not_make_it_verbatim(sources_index,
                                                                     real_embedder):
    quote = "We know that they are running riot in Almaty and other cities."
    v = verify(sources_index, real_embedder, quote)
    # the report has these very words, the transcript does not: never a plain verbatim,
    # and what the transcript says is shown beside it
    assert v.secondary_only and v.match.path == "news/early.txt"
    assert v.closest is not None and v.closest.path.endswith("security-council-session.txt")
    assert "rampaging in Almaty" in v.closest.text
    assert [r.path for r in v.reprints] == ["news/early.txt"]


def test_a_quote_only_a_report_has_is_verbatim_from_a_secondary_source_only(sources_index,
                                                                           real_embedder):
    v = verify(sources_index, real_embedder, "The army will restore order by Friday.")
    assert v.verdict == "verbatim" and v.secondary_only
    assert v.match.path == "news/late.txt"
    assert "no primary source has it" in v.message
    assert v.as_json()["secondary_only"] is True


def test_a_speech_is_its_speakers_words_without_quote_marks(sources_index, real_embedder):
    quote = "I have given the order to open fire without warning."
    v = verify(sources_index, real_embedder, quote)
    assert v.verdict == "verbatim" and v.speaker == TOKAYEV and not v.direct_quote
    assert "own words" in v.message
    wrong = verify(sources_index, real_embedder, quote, speaker="Askar Mamin")
    assert wrong.verdict == "misattributed" and wrong.speaker == TOKAYEV
    assert verify(sources_index, real_embedder, quote, speaker="Tokayev").verdict == "verbatim"


def test_filters_restrict_the_documents_a_quote_is_checked_against(sources_index,
                                                                   real_embedder):
    quote = "I have given the order to open fire without warning."
    assert verify(sources_index, real_embedder, quote,
                  filters=Filters(until="2022-01-06")).verdict == "not_found"
    assert verify(sources_index, real_embedder, quote,
                  filters=Filters(since="2022-01-07")).verdict == "verbatim"
    # a report outside the dates is no longer listed as a reprint
    v = verify(sources_index, real_embedder, "Together we will definitely win.",
               filters=Filters(until="2022-01-07"))
    assert [r.path for r in v.reprints] == ["news/early.txt"]


def test_the_cli_says_secondary_source_only_and_lists_the_reprints(sources_index):
    import os
    import subprocess
    import sys

    env = {**os.environ, "QA_CORPUS": str(sources_index.root / "corpus"),
           "QA_INDEX": str(sources_index.root / "index")}
    out = subprocess.run([sys.executable, "-m", "qa", "verify",
                          "The army will restore order by Friday."],
                         capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("VERBATIM (SECONDARY SOURCE ONLY)")
    assert "Printed word for word by 1 secondary source; the earliest, 2022-01-08" in out.stdout
    both = subprocess.run([sys.executable, "-m", "qa", "verify", "--json",
                           "Together we will definitely win.", "--since", "2022-01-07"],
                          capture_output=True, text=True, env=env, timeout=300)
    data = json.loads(both.stdout)
    # from 7 January on, the transcript of the 6th is out of reach: only the late report
    assert data["verdict"] == "verbatim" and data["secondary_only"]
    assert [r["path"] for r in data["reprints"]] == ["news/late.txt"]
