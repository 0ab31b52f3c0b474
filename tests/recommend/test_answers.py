"""Kept answers: the same question gets the kept answer until it expires or is pushed out."""

import gc
import time

from relevo.recommend.answers import KeptAnswers
from relevo.recommend.service import with_confidence


def test_an_answer_is_kept_for_the_same_question_only() -> None:
    answers = KeptAnswers(size=10, seconds=60)
    answers.put(("u1", 10), ["a", "b"])

    assert answers.get(("u1", 10)) == ["a", "b"]
    assert answers.get(("u1", 5)) is None


def test_the_least_recently_used_answer_goes_first() -> None:
    answers = KeptAnswers(size=2, seconds=60)
    answers.put("first", 1)
    answers.put("second", 2)
    answers.get("first")
    answers.put("third", 3)

    assert answers.get("second") is None
    assert answers.get("first") == 1 and answers.get("third") == 3


def test_answers_expire() -> None:
    answers = KeptAnswers(size=2, seconds=0.05)
    answers.put("question", 1)
    time.sleep(0.1)

    assert answers.get("question") is None


def test_size_zero_keeps_nothing() -> None:
    answers = KeptAnswers(size=0, seconds=60)
    answers.put("question", 1)

    assert answers.get("question") is None


def test_a_kept_list_is_nothing_the_garbage_collector_follows() -> None:
    # Tens of thousands of answers are kept; objects the collector tracks would each cost
    # every full collection a visit (about a fifth of a first-time request's time, measured).
    kept = with_confidence(["p1", "p2", "p3"], [0.9, 0.5, 0.1], ["als", "popular", "item_knn"], ["p9", None, "p8"])
    gc.collect()
    gc.collect()

    assert kept == (
        ("p1", 0.9, 1.0, "als", "p9"),
        ("p2", 0.5, 0.5556, "popular", None),
        ("p3", 0.1, 0.1111, "item_knn", "p8"),
    )
    assert not gc.is_tracked(kept) and not any(gc.is_tracked(item) for item in kept)
