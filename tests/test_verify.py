"""Quote verification on the real model and a real index of the seed plus the gold texts.

Every case of tests/gold/verify.csv is checked (verdict, meaning_changed, matched
document, source speaker, exact offsets); each normalisation rule, elision rule and
difference is also checked on its own.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa.align import key, units
from qa.errors import InvalidInputError
from qa.index import Index, update
from qa.verify import VERDICTS, Difference, normalise_words, verify
from tests.conftest import ROOT, SEED, FakeEmbedder

GOLD = ROOT / "tests" / "gold"
TOKAYEV = "Kassym-Jomart Tokayev"

with open(GOLD / "verify.csv", newline="", encoding="utf-8") as f:
    CASES = list(csv.DictReader(f))

# Cases the measured thresholds get wrong (docs/benchmarks.md). Strict: they fail the run
# as soon as they pass, so this list cannot hide an improvement or go stale.
# A paraphrase needs a counterpart for each content word (qa.align); the model's word
# vectors miss many synonyms, so these paraphrases come out not_found, their closest
# passage shown with the words that found no counterpart.
KNOWN_MISSES = {
    "paraphrase-meals": "no counterpart for study (learn 0.47), hungry (stomach 0.48)",
    "paraphrase-csto": "no counterpart for asked (appealed 0.31), leaders (heads 0.46)",
    "paraphrase-tariffs": "no counterpart for prices (tariffs 0.52), go up (rise)",
    "paraphrase-steel": "no counterpart for turned out, far, shape (condition 0.22)",
    "paraphrase-rampage": "no counterpart for running riot (rampaging 0.30)",
    "paraphrase-promises": "no counterpart for past (before); cosine 0.61 under 0.7",
    "paraphrase-review": "no counterpart for going to look (review 0.53)",
    "para-stage": "no counterpart for kept",
    "para-bridge-open": "no counterpart for carry",
    # the one that errs the other way: two of seven content words lack a counterpart,
    # which the coverage threshold (0.8) lets through
    "theater-payer": "national government has no counterpart, yet coverage is 0.8",
}


def make_corpus(folder: Path) -> Path:
    corpus = folder / "corpus"
    corpus.mkdir()
    for src in (SEED, SEED.with_name(SEED.name + ".meta.json"), *sorted(GOLD.glob("docs/*"))):
        shutil.copy(src, corpus / src.name)
    return corpus


@pytest.fixture(scope="module")
def gold_index(tmp_path_factory, real_embedder) -> Index:
    root = tmp_path_factory.mktemp("verify")
    update(make_corpus(root), root / "index", model=real_embedder.name,
           load_embedder=lambda _: real_embedder)
    return Index.load(root / "index", model=real_embedder.name)


def check(index: Index, embedder, quote: str, speaker: str | None = None):
    verdict = verify(index, embedder, quote, speaker)
    if verdict.match is not None:
        stored = index.chunks.document(verdict.match.doc_id).text
        assert stored[verdict.match.start:verdict.match.end] == verdict.match.text
        assert stored[:verdict.match.start].endswith(verdict.context_before)
        assert stored[verdict.match.end:].startswith(verdict.context_after)
    return verdict


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c["id"], marks=[pytest.mark.xfail(reason=KNOWN_MISSES[c["id"]],
                                                           strict=True)]
                  if c["id"] in KNOWN_MISSES else []) for c in CASES],
)
def test_gold_case(gold_index, real_embedder, case):
    v = check(gold_index, real_embedder, case["quote"], case["speaker"] or None)
    assert v.verdict == case["verdict"], v.message
    assert v.meaning_changed == (case["meaning_changed"] == "true")
    if case["verdict"] in ("not_found", "stitched"):
        assert v.match is None and v.speaker is None and not v.differences
        assert bool(v.pieces) == (case["verdict"] == "stitched")
        return
    assert v.match.path == case["doc"]
    assert v.speaker == (case["source_speaker"] or None)
    assert v.direct_quote == bool(case["source_speaker"])
    if v.verdict == "verbatim" or (v.verdict == "misattributed" and not v.differences):
        assert not v.differences and v.score == 1.0
    if case["verdict"] == "altered":
        assert v.differences and case["rule"]


def test_the_gold_set_covers_every_verdict_in_each_half():
    from collections import Counter

    def half(case_id: str) -> str:  # as bench/bench_verify.py splits them
        return "tuning" if int(hashlib.sha256(case_id.encode()).hexdigest(), 16) % 2 == 0 \
            else "held-out"

    counts = Counter((half(c["id"]), c["verdict"]) for c in CASES)
    for name in ("tuning", "held-out"):
        assert all(counts[(name, v)] >= 2 for v in VERDICTS), counts
        assert sum(counts[(name, v)] for v in VERDICTS) >= 40, counts


BASE = "In fact, this is no longer a threat - it is undermining the state integrity"


@pytest.mark.parametrize(
    ("rule", "quote"),
    [
        ("curly quotes", f"“{BASE}”"),
        ("straight quotes", f'"{BASE}"'),
        ("guillemets", f"«{BASE}»"),
        ("single curly quotes", f"‘{BASE}’"),
        ("em dash", BASE.replace(" - ", " — ")),
        ("en dash", BASE.replace(" - ", " – ")),
        ("dash without spaces", BASE.replace(" - ", "—")),
        ("no dash", BASE.replace(" - ", " ")),
        ("whitespace", BASE.replace(" ", "  \n ")),
        ("case", BASE.upper()),
        ("punctuation at the ends", f"...{BASE}!"),
        ("trailing ellipsis", f"{BASE}…"),
        ("comma dropped", BASE.replace("In fact,", "In fact")),
    ],
)
def test_typography_is_normalised_to_the_same_span(gold_index, real_embedder, rule, quote):
    plain = check(gold_index, real_embedder, BASE)
    v = check(gold_index, real_embedder, quote)
    assert plain.verdict == v.verdict == "verbatim", rule
    assert (v.match.start, v.match.end) == (plain.match.start, plain.match.end)
    assert v.match.text.startswith("In fact") and v.match.text.endswith("state integrity")


def test_curly_apostrophe_matches_straight_one(gold_index, real_embedder):
    straight = check(gold_index, real_embedder, "according to the city's finance department")
    curly = check(gold_index, real_embedder, "according to the city’s finance department")
    assert straight.verdict == curly.verdict == "verbatim"
    assert straight.match == curly.match


@pytest.mark.parametrize(
    ("quote", "expected"),
    [
        ("In particular, the Almaty airport along with about six aircrafts",
         [Difference("replace", "six", "five")]),
        ("I believe that the people of Kazakhstan will not support this decision",
         [Difference("insert", "not", "")]),
        ("My constitutional duty is to take care of the well-being and tranquility",
         [Difference("delete", "", "safety")]),
        ("We are well aware that they are now rampaging in Almaty and other cities",
         [Difference("replace", "now", "currently")]),
        ("we need to conduct a counter-terrorist operation to fight them back",
         [Difference("delete", "", "in order")]),
    ],
)
def test_every_word_change_is_listed_as_written(gold_index, real_embedder, quote, expected):
    v = check(gold_index, real_embedder, quote)
    assert v.verdict == "altered"
    assert list(v.differences) == expected


@pytest.mark.parametrize("quote", [
    "I head up the anti-terrorism command.",
    "the Almaty airport along with about six aircrafts, including foreign ones",
    "We are well aware that they are now rampaging in Almaty and other cities.",
    "Together we will definitely lose.",
])
def test_the_page_draws_exactly_the_listed_differences(gold_index, real_embedder, quote):
    from qa.render import word_diff

    v = verify(gold_index, real_embedder, quote)
    assert v.verdict == "altered" and v.differences
    drawn = word_diff(quote, v.differences)
    for d in v.differences:
        assert quote[d.start:d.end] == d.quote
        if d.quote:
            assert f"<ins>{d.quote}</ins>" in drawn
        if d.source:
            assert f"<del>{d.source}</del>" in drawn
    assert drawn.count("<ins>") == sum(1 for d in v.differences if d.quote)
    assert drawn.count("<del>") == sum(1 for d in v.differences if d.source)


@pytest.mark.parametrize(
    ("quote", "changed"),
    [
        ("the Almaty airport along with about six aircrafts", True),
        ("The repairs cost 48 million euros", False),
        ("The repairs cost 48 billion dollars", True),
        ("Nobody will ever cross this bridge until the engineers have signed off", False),
        ("The steel wasn't in worse condition than anyone expected", True),
        ("Families should never pay for the mistakes of the utilities", False),
    ],
)
def test_meaning_changed_means_a_number_or_a_negation(gold_index, real_embedder, quote,
                                                      changed):
    v = check(gold_index, real_embedder, quote)
    assert v.verdict == "altered"
    assert v.meaning_changed is changed


@pytest.mark.parametrize(
    "marker", ["...", "…", "[...]", "[…]", ". . .", " ... "],
)
def test_each_elision_mark_joins_parts_in_order(gold_index, real_embedder, marker):
    quote = (f"We are well aware that they are currently rampaging in Almaty{marker}"
             "Currently, there is a battle near Almaty")
    v = check(gold_index, real_embedder, quote)
    assert v.verdict == "verbatim" and not v.differences
    assert v.match.text.startswith("We are well aware")
    assert v.match.text.endswith("there is a battle near Almaty")
    assert "They are seizing infrastructure" in v.match.text  # the elided words


def test_elided_parts_out_of_order_are_not_verbatim(gold_index, real_embedder):
    v = check(gold_index, real_embedder, "Currently, there is a battle near Almaty ... "
                                         "We are well aware that they are currently rampaging")
    assert v.verdict != "verbatim"


def test_elided_parts_far_apart_are_stitched(gold_index, real_embedder):
    # both parts are in the seed, but many sentences apart
    v = check(gold_index, real_embedder, "we need to conduct a counter-terrorist operation "
                                         "... Together we will definitely win")
    assert v.verdict == "stitched" and v.match is None
    assert [normalise_words(p.text) for p in v.pieces] == [
        normalise_words("we need to conduct a counter-terrorist operation"),
        normalise_words("Together we will definitely win")]


def test_a_quote_across_paragraphs_matches_one_span(gold_index, real_embedder):
    v = check(gold_index, real_embedder, "The final inspection is scheduled for May. Every "
                                         "cable has been replaced")
    assert v.verdict == "verbatim"
    assert "\n\n“Every cable" in v.match.text
    assert v.speaker == "Ryan Cole" and v.direct_quote


def test_not_found_says_not_in_these_documents_with_their_dates(gold_index, real_embedder):
    v = check(gold_index, real_embedder, "Our football team won the championship last night.")
    assert v.verdict == "not_found"
    assert "Not in these documents" in v.message
    assert "2022-01-06 to 2023-11-08" in v.message
    assert "never" not in v.message.lower() and "not said" not in v.message.lower()


def test_misattribution_names_the_source_speaker(gold_index, real_embedder):
    v = check(gold_index, real_embedder, "Together we will definitely win.",
              speaker="Alikhan Smailov")
    assert v.verdict == "misattributed"
    assert v.speaker == TOKAYEV and v.cue == "Kassym-Jomart Tokayev said"
    assert TOKAYEV in v.message and "Alikhan Smailov" in v.message


@pytest.mark.parametrize("given", ["Tokayev", "President Tokayev", TOKAYEV,
                                   "kassym-jomart tokayev", "the Head of State"])
def test_the_right_speaker_in_any_form_is_not_misattributed(gold_index, real_embedder, given):
    v = check(gold_index, real_embedder, "Together we will definitely win.", speaker=given)
    assert v.verdict == "verbatim"


def test_narration_has_no_speaker(gold_index, real_embedder):
    v = check(gold_index, real_embedder, "President Tokayev stressed the complexity of the "
                                         "current situation", speaker="Alikhan Smailov")
    assert v.verdict == "verbatim"  # narration attributes no words, so nothing to misattribute
    assert v.speaker is None and v.direct_quote is False and v.cue is None


def test_json_contract(gold_index, real_embedder):
    data = check(gold_index, real_embedder, "about six aircrafts, including foreign ones",
                 speaker="Tokayev").as_json()
    assert set(data) == {"quote", "verdict", "score", "meaning_changed", "match",
                         "differences", "speaker", "direct_quote", "cue", "context",
                         "no_counterpart", "pieces", "closest", "secondary_only", "reprints"}
    assert data["no_counterpart"] == ["six"] and data["pieces"] == []
    assert data["closest"] is None
    assert data["secondary_only"] is False and data["reprints"] == []  # all gold is primary
    assert set(data["match"]) == {"doc_id", "path", "title", "date", "start", "end", "text"}
    assert set(data["context"]) == {"before", "after"}
    assert data["verdict"] == "altered" and data["meaning_changed"] is True
    assert data["differences"] == [{"op": "replace", "quote": "six", "source": "five"}]
    assert data["match"]["date"] == "2022-01-06" and isinstance(data["score"], float)
    stored = gold_index.chunks.document(data["match"]["doc_id"]).text
    assert stored[data["match"]["start"]:data["match"]["end"]] == data["match"]["text"]
    json.dumps(data)
    missing = verify(gold_index, real_embedder, "Our football team won the cup.").as_json()
    assert missing["match"] is None and missing["context"] == {"before": "", "after": ""}
    # the nearest passage may be shown, marked as not confirming the quote
    assert missing["closest"] is None or missing["closest"]["confirms_quote"] is False


@pytest.mark.parametrize("quote", ["", "   ", "...", "“ … ”", "[...]"])
def test_a_quote_without_words_is_refused(gold_index, real_embedder, quote):
    with pytest.raises(InvalidInputError, match="no words"):
        verify(gold_index, real_embedder, quote)


def test_alignment_does_not_depend_on_the_model(tmp_path):
    """Verbatim and altered come from the words alone: a fake model gives the same."""
    corpus = make_corpus(tmp_path)
    fake = FakeEmbedder()
    update(corpus, tmp_path / "index", model=fake.name, load_embedder=lambda _: fake)
    index = Index.load(tmp_path / "index")
    assert verify(index, fake, "Together we will definitely win.").verdict == "verbatim"
    v = verify(index, fake, "Together we will definitely lose.")
    assert v.verdict == "altered"
    assert v.differences == (Difference("replace", "lose", "win"),)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("“Counter–terrorist” — «OPERATION»…", ["counter", "terrorist", "operation"]),
        ("It’s  the city's", ["it's", "the", "city's"]),
        ("1,000 people, 5.5%", ["1,000", "people", "5.5%"]),
        ("don't", ["don't"]),
    ],
)
def test_normalise_words(text, words):
    assert normalise_words(text) == words


# -- meaning: what a paraphrase must carry (qa.align), on the seed with the real model --


def seed_check(index: Index, embedder, quote: str):
    v = verify(index, embedder, quote)
    stored = {m.doc_id: index.chunks.document(m.doc_id).text
              for m in (v.match, v.closest, *v.pieces) if m is not None}
    for m in (v.match, v.closest, *v.pieces):
        if m is not None:
            assert stored[m.doc_id][m.start:m.end] == m.text
    return v


@pytest.mark.parametrize(
    ("quote", "closest_has"),
    [
        # the source: "there is a battle near Almaty with airborne units of the Defense
        # Ministry"; the troops neither seized the airport nor left
        ("The airborne units seized the airport in Almaty.", "airborne units"),
        ("The airborne units of the Defense Ministry have left Almaty.", "airborne units"),
        ("Tokayev asked NATO to help Kazakhstan fight the terrorists.", "terrorist"),
    ],
)
def test_same_subject_other_claim_is_not_found_with_its_closest_passage(
        seed_index, real_embedder, quote, closest_has):
    v = seed_check(seed_index, real_embedder, quote)
    assert v.verdict == "not_found", v.message
    assert v.match is None and v.closest is not None and closest_has in v.closest.text
    assert v.no_counterpart  # what the passage does not say
    data = v.as_json()
    assert data["match"] is None and data["closest"]["confirms_quote"] is False


@pytest.mark.parametrize(
    ("quote", "pieces"),
    [
        ("We need to conduct a counter-terrorist operation to protect our state from an "
         "external threat.", ["We need to conduct a counter-terrorist operation",
                              "to protect our state from an external threat"]),
        ("Together we will definitely win, and the main thing now is to protect our country "
         "and our citizens.", ["Together we will definitely win",
                               "main thing now is to protect our country and our citizens"]),
    ],
)
def test_a_quote_stitched_from_far_sentences_is_stitched(seed_index, real_embedder, quote,
                                                          pieces):
    v = seed_check(seed_index, real_embedder, quote)
    assert v.verdict == "stitched" and v.match is None
    assert [normalise_words(p.text) for p in v.pieces] == [normalise_words(p) for p in pieces]
    assert v.pieces[0].end < v.pieces[1].start
    assert [p["text"] for p in v.as_json()["pieces"]] == [p.text for p in v.pieces]


def test_nearby_sentences_with_a_marked_elision_stay_verbatim(seed_index, real_embedder):
    v = seed_check(seed_index, real_embedder, "I head up the counter-terrorism command ... "
                                              "They are seizing infrastructure buildings")
    assert v.verdict == "verbatim" and not v.pieces


@pytest.mark.parametrize(
    "quote",
    [
        "trying to destabilise the situation in Kazakhstan",  # -ise for -ize
        "a battle near Almaty with airborne units of the Defence Ministry",  # defence
        "Currently, there is battle near Almaty with airborne units of Defense Ministry",
        "I head up the the counter-terrorism command",  # a doubled article
    ],
)
def test_spelling_variants_and_articles_are_verbatim(seed_index, real_embedder, quote):
    v = seed_check(seed_index, real_embedder, quote)
    assert v.verdict == "verbatim" and not v.differences and v.score == 1.0


def test_a_paraphrase_lists_its_words_without_counterpart(seed_index, real_embedder):
    v = seed_check(seed_index, real_embedder, "We know very well that these people are "
                                              "rampaging in Almaty and in other cities.")
    assert v.verdict == "paraphrase", v.message
    assert v.no_counterpart == ("people",)
    assert v.as_json()["no_counterpart"] == ["people"]


def test_an_altered_quote_lists_its_words_without_counterpart(seed_index, real_embedder):
    v = seed_check(seed_index, real_embedder, "Together we will definitely lose.")
    assert v.verdict == "altered" and v.no_counterpart == ("lose",)


@pytest.mark.parametrize(
    ("british", "american"),
    [("stabilise", "stabilize"), ("honour", "honor"), ("honoured", "honored"),
     ("favourite", "favorite"), ("centre", "center"), ("theatres", "theaters"),
     ("analyse", "analyze"), ("organisation", "organization"), ("travelled", "traveled"),
     ("defence", "defense"), ("programme", "program"), ("fibre", "fiber"),
     ("Colour", "color")],
)
def test_spelling_variants_share_a_key(british, american):
    assert key(british) == key(american)


@pytest.mark.parametrize(
    ("a", "b"),
    [("four", "for"), ("our", "or"), ("filled", "filed"), ("hour", "her"), ("rise", "rize")],
)
def test_words_that_only_look_alike_keep_apart(a, b):
    assert key(a) != key(b)


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("The troops seized the airport", [("troops", "word"), ("seized", "word"),
                                           ("airport", "word")]),
        ("They have left Almaty", [("left", "verb"), ("Almaty", "name")]),
        ("Water prices will not rise", [("Water", "word"), ("prices", "word"),
                                        ("not", "negation"), ("rise", "verb")]),
        ("No one saw 15 CSTO planes", [("No", "negation"), ("saw", "word"), ("15", "number"),
                                       ("CSTO", "name"), ("planes", "word")]),
        ("It cost two million. Kazakhstan paid", [("cost", "word"), ("two", "number"),
                                                  ("million", "number"),
                                                  ("Kazakhstan", "word"), ("paid", "word")]),
    ],
)
def test_content_units_and_their_kinds(text, kinds):
    assert [(u.word, u.kind) for u in units(text)] == kinds


# -- the command line ------------------------------------------------------------------


def qa(*args: str, env: dict, cwd: Path | None = None):
    return subprocess.run([sys.executable, "-m", "qa", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    root = tmp_path_factory.mktemp("verify-cli")
    env = {"QA_CORPUS": str(make_corpus(root)), "QA_INDEX": str(root / "index")}
    result = qa("index", env=env)
    assert result.returncode == 0, result.stderr
    return env


def test_cli_verify_json(cli_env):
    result = qa("verify", "Together we will definitely win", "--speaker", "Smailov", "--json",
                env=cli_env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["verdict"] == "misattributed" and data["speaker"] == TOKAYEV
    assert data["match"]["text"] == "Together we will definitely win"


def test_cli_verify_human_output(cli_env):
    result = qa("verify", "about six aircrafts", env=cli_env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("ALTERED") and "MEANING CHANGED" in out
    assert "2022-01-06" in out and "six" in out and "five" in out
    assert f"Speaker: {TOKAYEV}" in out


def test_cli_verify_batch_writes_a_report(cli_env, tmp_path):
    quotes = tmp_path / "quotes.csv"
    quotes.write_text('quote,speaker\n"Together we will definitely win.",Smailov\n'
                      '"We will lower taxes for every family next year.",\n'
                      '"I believe that the people of Kazakhstan will not support this '
                      'decision",Tokayev\n', encoding="utf-8")
    out = tmp_path / "report.csv"
    result = qa("verify", "--file", str(quotes), "--out", str(out), env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "verifying" in result.stderr and "3/3" in result.stderr  # tqdm on stderr
    with open(out, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [r["verdict"] for r in rows] == ["misattributed", "not_found", "altered"]
    assert rows[2]["meaning_changed"] == "true" and rows[0]["speaker"] == TOKAYEV
    assert "1 misattributed" in result.stdout and "1 not_found" in result.stdout


@pytest.mark.parametrize(
    ("args", "content", "message"),
    [
        ((), None, "Give either a QUOTE or --file"),
        (("--file", "{file}"), "text,who\nhello,me\n", "no 'quote' column"),
        (("--file", "{file}"), "quote,speaker\n", "has no quotes"),
        (("we will win", "--out", "x.csv"), None, "Use it with --file"),
        (("...",), None, "no words"),
    ],
)
def test_cli_verify_errors_are_one_line(cli_env, tmp_path, args, content, message):
    file = tmp_path / "in.csv"
    if content is not None:
        file.write_text(content, encoding="utf-8")
    result = qa("verify", *[a.format(file=file) for a in args], env=cli_env, cwd=tmp_path)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# -- properties over random spans of the seed (fake model: only the words matter here) ----

SEED_TEXT = SEED.read_text(encoding="utf-8")
SEED_WORDS = list(re.finditer(r"\S+", SEED_TEXT))
STYLES = [("“", "”"), ('"', '"'), ("«", "»"), ("", "")]


@pytest.fixture(scope="module")
def fake_index(tmp_path_factory):
    root = tmp_path_factory.mktemp("verify-fake")
    fake = FakeEmbedder()
    update(make_corpus(root), root / "index", model=fake.name, load_embedder=lambda _: fake)
    return Index.load(root / "index"), fake


def _window(data, st) -> tuple[int, int]:
    start = data.draw(st.integers(0, len(SEED_WORDS) - 6))
    length = data.draw(st.integers(4, 25))
    return start, min(len(SEED_WORDS), start + length)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_span_of_the_seed_in_any_typography_is_verbatim(fake_index, data):
    index, fake = fake_index
    a, b = _window(data, st)
    span = SEED_TEXT[SEED_WORDS[a].start():SEED_WORDS[b - 1].end()]
    opening, closing = data.draw(st.sampled_from(STYLES))
    quote = opening + span.replace(" - ", " — ").replace("\n", " ") + closing
    if data.draw(st.booleans()):
        quote = quote.upper()
    v = verify(index, fake, quote)
    assert v.verdict == "verbatim"
    assert normalise_words(v.match.text) == normalise_words(span)
    stored = index.chunks.document(v.match.doc_id).text
    assert stored[v.match.start:v.match.end] == v.match.text


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_changed_word_is_never_verbatim(fake_index, data):
    index, fake = fake_index
    a, b = _window(data, st)
    words = [m.group() for m in SEED_WORDS[a:b]]
    i = data.draw(st.integers(0, len(words) - 1))
    words[i] = data.draw(st.sampled_from(["zebra", "never", "seven", "Qwerty"]))
    v = verify(index, fake, " ".join(words))
    assert v.verdict != "verbatim"
    if v.verdict == "altered":
        assert any(d.quote.lower().strip(".,“”\"") == words[i].lower() for d in v.differences)
