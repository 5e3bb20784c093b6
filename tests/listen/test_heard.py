"""From the grammar's words to what the player is asked: every command,
every number from 0 to 200, and nothing without the wake word."""

from __future__ import annotations

import pytest

from voicecoach.listen.heard import ONES, TENS, Heard, Intent, Mode, interpret, number_value

WAKE = ["coach"]


def said(n: int) -> list[str]:
    """``n`` in words, as the grammar spells it."""
    head = ["one", "hundred"] if 100 <= n < 200 else ["two", "hundred"] if n == 200 else []
    n %= 100
    if n == 0:
        return head or ["zero"]
    tail = [ONES[n]] if n < 20 else [TENS[n // 10 - 2]] + ([ONES[n % 10]] if n % 10 else [])
    return [*head, "and", *tail] if head else tail


@pytest.mark.parametrize("n", range(201))
def test_every_number_from_0_to_200_is_read(n):
    assert number_value(said(n)) == n


@pytest.mark.parametrize(
    "words",
    [
        ["a", "hundred"],
        ["hundred", "and", "five"],
        ["twenty", "twelve"],
        ["three", "hundred"],
        ["twenty", "zero"],
        [],
        ["coach"],
    ],
)
def test_what_is_not_a_number_is_none(words):
    expected = {("a", "hundred"): 100, ("hundred", "and", "five"): 105}.get(tuple(words))
    assert number_value(words) == expected


@pytest.mark.parametrize("phrase,intent", [("pause", Intent.PAUSE), ("stop", Intent.PAUSE),
                                           ("go on", Intent.RESUME), ("resume", Intent.RESUME),
                                           ("continue", Intent.RESUME), ("next", Intent.NEXT),
                                           ("skip", Intent.NEXT), ("again", Intent.AGAIN), ("back", Intent.AGAIN),
                                           ("repeat", Intent.REPEAT), ("how many left", Intent.LEFT),
                                           ("quit", Intent.QUIT)])  # fmt: skip
def test_each_command_after_the_wake_word(phrase, intent):
    for mode in Mode:
        assert interpret(["coach", *phrase.split()], mode, WAKE, 5.0) == Heard(intent, ended=5.0)
    assert interpret(phrase.split(), Mode.COMMANDS, WAKE) is None
    assert interpret(["hey", "coach", *phrase.split()], Mode.COMMANDS, ["hey", "coach"]) == Heard(intent)


def test_a_correction_carries_its_number():
    assert interpret("coach correction seventy three".split(), Mode.COMMANDS, WAKE) == Heard(Intent.CORRECTION, 73)
    assert interpret("coach correction".split(), Mode.COMMANDS, WAKE) is None


def test_an_answer_needs_no_wake_word_only_when_one_is_asked_for():
    assert interpret(["eight"], Mode.ANSWER, WAKE) == Heard(Intent.NUMBER, 8)
    assert interpret(["none"], Mode.ANSWER, WAKE) == Heard(Intent.NUMBER, 0)
    assert interpret(["all"], Mode.ANSWER, WAKE) == Heard(Intent.NUMBER, None, everything=True)
    assert interpret(["eight"], Mode.COMMANDS, WAKE) is None
    assert interpret(["all"], Mode.COMMANDS, WAKE) is None
