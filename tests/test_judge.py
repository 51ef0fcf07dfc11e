"""The judge's rules: kinds of answers, dates named in questions, features and weights."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.dates import NamedDate, named_dates, spoken
from qa.judge import FEATURES, WEIGHTS, JudgeLoadError, Sentence, features, load_judge
from qa.kinds import asks_for, has_kind, is_list_question

CORPUS_DATES = ["2022-01-05", "2022-01-06", "2022-01-07"]


@pytest.mark.parametrize(("question", "kind"), [
    ("When did the CSTO troops arrive?", "date"),
    ("At what time did the curfew start?", "date"),
    ("In which year was the treaty signed?", "date"),
    ("What year was the treaty signed?", "date"),
    ("How many aircraft were seized at the airport?", "number"),
    ("How much damage did the riots cause?", "number"),
    ("Whom did Tokayev ask for help?", "person"),
    ("Who heads the counter-terrorism command?", "person"),
    ("Whose troops were sent?", "person"),
    ("Where was the session held?", "place"),
    ("In what city did the protests begin?", "place"),
    ("What did the President say about the terrorists?", None),
    ("Why was a state of emergency declared?", None),
])
def test_the_kind_of_answer_a_question_asks_for(question, kind):
    assert asks_for(question) == kind


@pytest.mark.parametrize(("sentence", "kind", "holds"), [
    ("The curfew starts at 23:00 every night.", "date", True),
    ("The session was held on 6 January 2022.", "date", True),
    ("Today I appealed to the heads of the CSTO states.", "date", True),
    ("The troops arrived in the spring of 1999.", "date", True),
    ("The President stressed the complexity of the situation.", "date", False),
    ("The Almaty airport was seized along with about five aircrafts.", "number", True),
    ("More than 300 people were injured.", "number", True),
    ("The President stressed the complexity of the situation.", "number", False),
    ("I appealed to the heads of the CSTO states.", "person", True),
    ("The meeting was chaired by Kassym-Jomart Tokayev.", "person", True),
    ("We will definitely win together.", "person", False),
    ("The session was held in Akorda Palace.", "place", True),
    ("There is a battle near Almaty.", "place", True),
    ("They left the building at night.", "place", True),
    ("Together we will definitely win.", "place", False),
    ("Anything at all.", None, True),
])
def test_whether_a_sentence_holds_the_kind_asked_for(sentence, kind, holds):
    assert has_kind(sentence, kind) is holds


@pytest.mark.parametrize(("question", "listing"), [
    ("Which officials attended the session?", True),
    ("What measures were announced?", True),
    ("Who attended the meeting?", True),
    ("Which allies did Kazakhstan ask for assistance?", True),
    ("What happened at the airport?", False),
    ("Who heads the command?", False),
    ("Why?", False),
])
def test_list_questions(question, listing):
    assert is_list_question(question) is listing


@pytest.mark.parametrize(("question", "expected"), [
    ("What did Tokayev say on 7 January?", [("2022-01-07", "2022-01-07")]),
    ("What did the President say about the CSTO on 9 January?",
     [("2022-01-09", "2022-01-09")]),
    ("What happened on January 6, 2022?", [("2022-01-06", "2022-01-06")]),
    ("What was said on Jan. 5?", [("2022-01-05", "2022-01-05")]),
    ("What did he promise in his February address?", [("2022-02-01", "2022-02-28")]),
    ("What did the statement of the 5th of January say?", [("2022-01-05", "2022-01-05")]),
    ("Who attended the session in 2021?", [("2021-01-01", "2021-12-31")]),
    ("What did he say on 7 January 2023?", [("2023-01-07", "2023-01-07")]),
    ("What may happen next?", []),
    ("Whom did Tokayev ask for help?", []),
    ("What is the capital of Australia?", []),
])
def test_dates_named_in_questions(question, expected):
    got = named_dates(question, CORPUS_DATES)
    assert [(n.first, n.last) for n in got] == expected


@pytest.mark.parametrize(("corpus", "year"), [
    (["2022-01-06"], 2022),
    (["2019-12-30"], 2020),  # 7 January after a late-December document is the next year's
    (["2015-06-01", "2015-01-09"], 2015),
])
def test_a_date_without_a_year_takes_the_corpus_year(corpus, year):
    (named,) = named_dates("What was announced on 7 January?", corpus)
    assert named.first == named.last == f"{year}-01-07"


def test_named_date_values():
    n = NamedDate("on 7 January", "2022-01-07", "2022-01-07")
    assert n.holds("2022-01-07") and not n.holds("2022-01-06") and not n.holds(None)
    with pytest.raises(ValueError, match="reversed"):
        NamedDate("x", "2022-02-01", "2022-01-01")
    assert spoken("2022-01-06") == "6 January 2022"
    assert n.label == "7 January 2022"
    assert NamedDate("February", "2022-02-01", "2022-02-28").label == "February 2022"
    assert NamedDate("in 2021", "2021-01-01", "2021-12-31").label == "2021"


# -- features and weights ------------------------------------------------------------


def test_features_mark_a_sentence_without_the_kind_asked_for():
    rows = features("How many aircraft were seized?", [
        Sentence("The airport was seized along with five aircraft.", 0.6),
        Sentence("The airport was seized by bandits.", 0.62),
    ])
    kind = FEATURES.index("kind_missing")
    assert rows.shape == (2, len(FEATURES))
    assert rows[0, kind] == 0.0 and rows[1, kind] == 1.0
    gap = FEATURES.index("cosine_gap")
    assert rows[1, gap] == 0.0 and rows[0, gap] == pytest.approx(0.02)


def test_the_shipped_judge_prefers_the_sentence_with_the_kind_asked_for():
    judge = load_judge()
    rows = features("How many aircraft were seized at the airport?", [
        Sentence("The airport was seized along with five aircraft.", 0.6),
        Sentence("The airport was seized by bandits.", 0.6),
    ])
    number, none = judge.score(rows)
    assert 0 < none < number < 1


@pytest.mark.parametrize(("content", "message"), [
    (None, "is missing"),
    ("{not json", "is damaged"),
    ('{"format": 1, "features": ["cosine"], "mean": [], "scale": [], "weights": [], '
     '"bias": 0}', "is damaged"),
    ("[]", "is damaged"),
])
def test_a_missing_or_damaged_weights_file_is_one_clear_error(tmp_path, content, message):
    path = tmp_path / "answer_judge.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(JudgeLoadError, match=message) as e:
        load_judge(path)
    assert "\n" not in str(e.value) and "Reinstall qa" in str(e.value)


def test_shipped_weights_are_complete():
    data = json.loads(WEIGHTS.read_text())
    assert data["features"] == list(FEATURES)
    assert len(data["weights"]) == len(FEATURES) and all(np.isfinite(data["weights"]))
    assert "tydi" in data["trained_on"] and "covid" in data["trained_on"]
