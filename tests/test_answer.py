"""Extractive answers on the seed with the packaged model and a real index."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from qa.answer import (
    ABSTENTION,
    Answer,
    Citation,
    answer,
    make_filters,
    passage_sentences,
    rank_sentences,
    resolve_query,
)
from qa.errors import InvalidInputError
from qa.index import Index, update
from qa.retrieval import Filters, search
from qa.sentences import sentence_spans


def assert_verbatim(index: Index, a: Answer) -> None:
    """Every citation is the document's own text, and the answer is only those quotes."""
    if a.abstained:
        assert a.answer == ABSTENTION and a.citations == ()
        return
    for c in a.citations:
        doc = index.chunks.document(c.doc_id)
        assert doc.text[c.start:c.end] == c.quote
        assert (c.start, c.end) in sentence_spans(doc.text)  # a whole sentence, not a chunk
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", a.answer)]
    assert markers == [c.n for c in a.citations] == list(range(1, len(a.citations) + 1))
    assert a.answer == " ".join(f"{c.quote} [{c.n}]" for c in a.citations)


SEED_QUESTIONS = [
    ("Who did Tokayev ask to assist Kazakhstan?", "appealed to the heads of the CSTO states"),
    ("Which allies did Kazakhstan ask for assistance?", "appealed to the heads of the CSTO states"),
    ("What happened at the Almaty airport?", "five aircrafts"),
    ("Where was the session held?", "Akorda Palace"),
    ("Who attended the meeting?", "The meeting was attended by the speakers"),
    ("Who heads the counter-terrorism command?", "I head up the counter-terrorism command"),
    ("What was on the agenda of the discussion?", "combating terrorist and criminal elements"),
]


@pytest.mark.parametrize(("question", "expected"), SEED_QUESTIONS)
def test_the_sentence_that_answers_is_the_best_citation(seed_index, real_embedder, question,
                                                        expected):
    a = answer(seed_index, real_embedder, question)
    assert not a.abstained
    best = max(a.citations, key=lambda c: c.score)
    assert expected in best.quote
    assert best.date == "2022-01-06" and best.title.startswith("President Kassym-Jomart")
    assert 1 <= len(a.citations) <= 3
    assert_verbatim(seed_index, a)


@pytest.mark.parametrize("question", [
    "What is the capital of France?",
    "Who won the 2018 World Cup?",
    "What is the recipe for pancakes?",
    "How do I reset my router password?",
])
def test_off_topic_questions_abstain_with_related_passages(seed_index, real_embedder, question):
    a = answer(seed_index, real_embedder, question)
    assert a.abstained and a.answer == ABSTENTION and a.citations == ()
    assert a.related and all(p.doc_id == a.related[0].doc_id for p in a.related)
    assert a.as_json()["related"][0] == a.related[0].as_json()


def test_max_sentences_bounds_the_answer(seed_index, real_embedder):
    for question, _ in SEED_QUESTIONS:
        a = answer(seed_index, real_embedder, question)
        assert 1 <= len(a.citations) <= 3
        one = answer(seed_index, real_embedder, question, max_sentences=1)
        assert len(one.citations) == 1
        assert one.citations[0].quote == max(a.citations, key=lambda c: c.score).quote
    with pytest.raises(InvalidInputError, match="at least 1"):
        answer(seed_index, real_embedder, "Where was the session held?", max_sentences=0)
    with pytest.raises(InvalidInputError, match="empty"):
        answer(seed_index, real_embedder, "   ")


def test_extra_sentences_score_close_to_the_best(seed_index, real_embedder):
    from qa.answer import ABSTAIN_BELOW, CLOSE_TO_BEST

    for question, _ in SEED_QUESTIONS:
        a = answer(seed_index, real_embedder, question)
        for c in a.citations:
            assert c.score >= max(ABSTAIN_BELOW, a.score - CLOSE_TO_BEST)
        assert a.score == max(c.score for c in a.citations)


def test_every_passage_sentence_is_a_whole_sentence_of_the_document(seed_index, real_embedder):
    """Chunks overlap and cut sentences; the candidates are always whole sentences."""
    passages = search(seed_index, real_embedder, "terrorist attack Almaty CSTO", k=20)
    doc = seed_index.chunks.document(passages[0].doc_id)
    whole = set(sentence_spans(doc.text))
    cut = 0
    for p in passages:
        spans = passage_sentences(doc, p)
        assert spans and set(spans) <= whole
        assert spans[0][0] <= p.start + 1 and spans[-1][1] >= p.end - 1
        cut += spans[0][0] < p.start or spans[-1][1] > p.end
    assert cut  # the seed's 800-character chunks do cut sentences; they were made whole


def test_cut_sentences_are_completed_from_the_stored_text(tmp_path, fake_embedder):
    from qa.chunking import ChunkerSettings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    sentences = [f"Sentence number {i} talks about the harbour of town {i} at length."
                 for i in range(12)]
    (corpus / "long.txt").write_text("Harbour notes\n\n" + " ".join(sentences) + "\n")
    update(corpus, tmp_path / "index", model="fake", load_embedder=lambda _: fake_embedder,
           chunker=ChunkerSettings(size=100, overlap=0))
    index = Index.load(tmp_path / "index", model="fake")
    doc = index.chunks.documents()[0]
    stored = index.chunks.document(doc.doc_id)
    for p in search(index, fake_embedder, "harbour of town 7", k=5):
        for s, e in passage_sentences(stored, p):
            assert stored.text[s:e] in sentences or stored.text[s:e] == "Harbour notes"


def test_near_duplicate_sentences_are_cited_once(tmp_path, fake_embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    line = "The mayor opened the new harbour bridge in Aktau on Monday morning."
    for name in ("a.txt", "b.txt"):
        (corpus / name).write_text(f"Bridge\n\n{line} Other news followed later that week.\n")
    update(corpus, tmp_path / "index", model="fake", load_embedder=lambda _: fake_embedder)
    index = Index.load(tmp_path / "index", model="fake")
    a = answer(index, fake_embedder, "Who opened the harbour bridge in Aktau?", threshold=0.0)
    assert [c.quote for c in a.citations].count(line) == 1


# -- conversations -------------------------------------------------------------------


@pytest.mark.parametrize(("question", "is_follow_up"), [
    ("What else did he say about them?", True),
    ("Why?", True),
    ("And Almaty?", True),
    ("What happened there?", True),
    ("Where was the session held?", False),
    ("Who attended the meeting?", False),
])
def test_follow_ups_are_recognised(question, is_follow_up):
    first = Answer("Who did Tokayev ask to assist Kazakhstan?", ABSTENTION, True,
                   query="Who did Tokayev ask to assist Kazakhstan?")
    query = resolve_query(question, [first])
    assert (query != question) == is_follow_up
    if is_follow_up:
        assert query.startswith(question) and "Tokayev" in query and "Kazakhstan" in query
    assert resolve_query(question, []) == question


def test_follow_up_carries_the_names_of_the_previous_answer():
    cited = Citation(1, "d", "d.txt", "T", None, None, 0, 38,
                     "He appealed to the CSTO and to Russia.", 0.9)
    first = Answer("Whom did he ask?", "He appealed to the CSTO and to Russia. [1]", False,
                   (cited,), query="Whom did he ask?")
    query = resolve_query("What did they answer?", [first])
    assert "CSTO" in query and "Russia" in query and "He" not in query.split()


def test_follow_up_is_answered_about_the_previous_topic(seed_index, real_embedder):
    first = answer(seed_index, real_embedder, "Who attended the meeting?")
    assert "The meeting was attended by" in first.answer
    follow = answer(seed_index, real_embedder, "What did they discuss?", [first])
    assert follow.query.startswith("What did they discuss? attended meeting")
    assert not follow.abstained
    assert "The agenda of the discussion included" in follow.citations[0].quote
    assert_verbatim(seed_index, follow)


def test_what_else_searches_the_topic_and_cites_nothing_twice(seed_index, real_embedder):
    first = answer(seed_index, real_embedder, "Who did Tokayev ask to assist Kazakhstan?")
    assert "CSTO" in first.answer
    follow = answer(seed_index, real_embedder, "What else did he say about them?", [first])
    # "them" is resolved to the names of the previous answer, for retrieval
    assert "CSTO" in follow.query and "Tokayev" in follow.query
    old = {(c.doc_id, c.start) for c in first.citations}
    assert all((c.doc_id, c.start) not in old for c in follow.citations)
    assert_verbatim(seed_index, follow)
    alone = answer(seed_index, real_embedder, "What else did he say about them?")
    assert alone.query == alone.question and alone.abstained


# -- filters -------------------------------------------------------------------------


@pytest.mark.parametrize(("filters", "answers"), [
    (Filters(), True),
    (Filters(since="2022-01-06", until="2022-01-06"), True),
    (Filters(since="2022-01-07"), False),
    (Filters(until="2022-01-05"), False),
    (Filters(sources=("Some Other Publisher",)), False),
    (Filters(sources=("Official website of the President of the Republic of Kazakhstan",)),
     True),
])
def test_filters_decide_which_documents_may_answer(seed_index, real_embedder, filters, answers):
    a = answer(seed_index, real_embedder, "Where was the session held?", filters=filters)
    assert a.abstained is not answers
    if not answers:
        assert a.related == ()


def test_doc_filter(seed_index, real_embedder):
    doc_id = seed_index.chunks.documents()[0].doc_id
    a = answer(seed_index, real_embedder, "Where was the session held?",
               filters=make_filters(doc_ids=[doc_id]))
    assert not a.abstained and a.citations[0].doc_id == doc_id
    assert answer(seed_index, real_embedder, "Where was the session held?",
                  filters=make_filters(doc_ids=["no-such-doc"])).abstained


@pytest.mark.parametrize(("since", "until", "message"), [
    ("2022-13-01", None, "Invalid start date '2022-13-01'. Give a date as YYYY-MM-DD"),
    ("06/01/2022", None, "Invalid start date"),
    (None, "2022-1-6", "Invalid end date"),
    ("2022-02-01", "2022-01-01", "The start date 2022-02-01 is after the end date 2022-01-01"),
])
def test_bad_dates_are_refused(since, until, message):
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        make_filters(since, until)


def test_make_filters_keeps_good_values():
    f = make_filters("2022-01-01", "2022-01-31", ["akorda"], ["doc"])
    assert f == Filters("2022-01-01", "2022-01-31", ("akorda",), ("doc",))


# -- values --------------------------------------------------------------------------


def test_answer_refuses_markers_without_citations_and_uncited_text():
    with pytest.raises(ValueError, match="without a citation"):
        Answer("q", "Something. [1]", False)
    cited = Citation(1, "d", "p", "t", None, None, 0, 21, "As shown in [14], ok.")
    assert Answer("q", "As shown in [14], ok. [1]", False, (cited,)).citations == (cited,)
    with pytest.raises(ValueError, match="sources lack"):
        Answer("q", "Invented words. As shown in [14], ok. [1]", False, (cited,))
    with pytest.raises(ValueError, match="offsets"):
        Citation(1, "d", "p", "t", None, None, 0, 5, "abc")


def test_json_contract(seed_index, real_embedder):
    a = answer(seed_index, real_embedder, "What happened at the Almaty airport?")
    data = a.as_json()
    assert set(data) == {"question", "answer", "abstained", "citations", "related", "note",
                         "source_line"}
    assert set(data["citations"][0]) == {"n", "doc_id", "path", "title", "date", "source",
                                         "start", "end", "quote"}


def test_scores_separate_answers_from_off_topic_questions(seed_index, real_embedder):
    """The threshold sits between what the seed answers and what it does not."""
    from qa.answer import ABSTAIN_BELOW

    on = [rank_sentences(seed_index, real_embedder, q)[0][0].score for q, _ in SEED_QUESTIONS]
    off = [rank_sentences(seed_index, real_embedder, q)[0][0].score
           for q in ("What is the capital of France?", "Who won the 2018 World Cup?")]
    assert max(off) < ABSTAIN_BELOW <= min(on)


def test_the_python_api_checks_filter_dates(seed_index, real_embedder):
    with pytest.raises(InvalidInputError, match="Invalid end date"):
        answer(seed_index, real_embedder, "Where was the session held?",
               filters=Filters(until="January 2022"))


# -- the judge, dates and kinds of answers, on the seed and the test statements --------


GOLD_ANSWERS = Path(__file__).resolve().parent / "gold" / "answers"


@pytest.fixture(scope="module")
def dated_index(tmp_path_factory, real_embedder):
    """The seed (6 January 2022) with statements of 5 and 7 January 2022."""
    import shutil

    from tests.conftest import copy_seed

    root = tmp_path_factory.mktemp("dated")
    corpus = copy_seed(root / "corpus")
    for f in GOLD_ANSWERS.iterdir():
        shutil.copy(f, corpus / f.name)
    update(corpus, root / "index", model=real_embedder.name,
           load_embedder=lambda _: real_embedder)
    return Index.load(root / "index", model=real_embedder.name)


def test_whom_did_tokayev_ask_for_help_cites_the_csto_sentence(seed_index, real_embedder):
    a = answer(seed_index, real_embedder, "Whom did Tokayev ask for help?")
    assert not a.abstained
    assert a.citations[0].quote.lstrip("“").startswith(
        "In this regard, relying on the Collective Security Treaty, today I appealed to the "
        "heads of the CSTO states")
    assert a.score == a.citations[0].score
    assert_verbatim(seed_index, a)


def test_the_capital_of_australia_is_not_in_the_documents(dated_index, real_embedder):
    a = answer(dated_index, real_embedder, "What is the capital of Australia?")
    assert a.abstained and a.citations == () and a.note == ""


@pytest.mark.parametrize(("question", "date", "start"), [
    ("What did the CSTO do, according to the President on 7 January?", "2022-01-07",
     "The CSTO contingent will guard strategic facilities"),
    ("Whom did Tokayev ask for help on 6 January?", "2022-01-06",
     "In this regard, relying on the Collective Security Treaty"),
    ("Where was a state of emergency declared on January 5, 2022?", "2022-01-05",
     "The Head of State has declared a state of emergency in the city of Almaty"),
])
def test_a_date_in_the_question_prefers_documents_of_that_date(dated_index, real_embedder,
                                                               question, date, start):
    a = answer(dated_index, real_embedder, question)
    assert not a.abstained and a.note == ""
    best = max(a.citations, key=lambda c: c.score)
    assert best.date == date
    assert best.quote.lstrip("“").startswith(start)
    assert_verbatim(dated_index, a)


def test_without_a_document_of_the_date_the_note_says_which_dates_were_used(dated_index,
                                                                            real_embedder):
    a = answer(dated_index, real_embedder, "Whom did Tokayev ask for help on 9 January?")
    assert not a.abstained
    assert a.note.startswith("No document is dated 9 January")
    used = sorted({c.date for c in a.citations})
    assert all(d in ("2022-01-06", "2022-01-07") for d in used)
    assert "January 2022" in a.note and a.as_json()["note"] == a.note


def test_a_when_question_answered_by_today_names_the_documents_date(seed_index,
                                                                     real_embedder):
    a = answer(seed_index, real_embedder, "When did Tokayev appeal to the CSTO?")
    assert not a.abstained
    assert "appealed to the heads of the CSTO states" in a.citations[0].quote
    assert a.note == "The cited document is dated 6 January 2022."


def test_a_how_many_question_wants_a_number(dated_index, real_embedder):
    a = answer(dated_index, real_embedder,
               "How many planes did the attackers seize at the Almaty airport?")
    assert not a.abstained
    assert a.citations[0].quote.startswith("In particular, the Almaty airport along with")


def test_a_question_naming_the_address_matches_its_title(dated_index, real_embedder):
    a = answer(dated_index, real_embedder, "What did the address say about mourning?")
    assert not a.abstained
    assert a.citations[0].title.startswith("Address of the Head of State")
    assert "national mourning" in a.citations[0].quote
