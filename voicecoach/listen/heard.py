"""What the person said, as the player acts on it: a command after the wake
word, or a rep count when the coach has asked for one.

The words come from the recogniser's grammar (`listen/grammar.py`), so they
are always one of the phrases below; anything else was already rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Intent(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    NEXT = "next"
    AGAIN = "again"
    REPEAT = "repeat"
    LEFT = "left"
    QUIT = "quit"
    CORRECTION = "correction"
    NUMBER = "number"


class Mode(StrEnum):
    """What is listened for: commands after the wake word only, or also a bare
    number, "all" or "none" (the answer to "how many were perfect?")."""

    COMMANDS = "commands"
    ANSWER = "answer"


@dataclass(frozen=True)
class Heard:
    """``number`` is set for NUMBER and CORRECTION ("all": None with
    ``everything``); ``ended`` is the ``time.monotonic()`` at which the
    utterance ended at the microphone."""

    intent: Intent
    number: int | None = None
    everything: bool = False
    ended: float = 0.0


# Each command's words after the wake word ("how many left": the sets and reps left).
COMMANDS: dict[str, Intent] = {
    "pause": Intent.PAUSE,
    "stop": Intent.PAUSE,
    "go on": Intent.RESUME,
    "resume": Intent.RESUME,
    "continue": Intent.RESUME,
    "next": Intent.NEXT,
    "skip": Intent.NEXT,
    "again": Intent.AGAIN,
    "back": Intent.AGAIN,
    "repeat": Intent.REPEAT,
    "how many left": Intent.LEFT,
    "quit": Intent.QUIT,
}
CORRECTION = "correction"
ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_value(words: list[str]) -> int | None:
    """The value of a number said in words, 0 to 200 ("a hundred and five",
    "seventy three", "none"); None if the words are not one."""
    if words in (["none"], ["zero"]):
        return 0
    total = 0
    if "hundred" in words:
        at = words.index("hundred")
        head = words[:at]
        if head not in ([], ["a"], ["one"], ["two"]):
            return None
        total = 200 if head == ["two"] else 100
        words = words[at + 1 :]
        if words[:1] == ["and"]:
            words = words[1:]
        if not words:
            return total
    if len(words) == 1 and words[0] in ONES[1:]:
        return total + ONES.index(words[0])
    if words and words[0] in TENS and len(words) <= 2:
        unit = ONES.index(words[1]) if len(words) == 2 and words[1] in ONES[1:10] else 0
        if len(words) == 2 and not unit:
            return None
        return total + 20 + 10 * TENS.index(words[0]) + unit
    return None


def interpret(words: list[str], mode: Mode, wake: list[str], ended: float = 0.0) -> Heard | None:
    """What a decoded phrase asks for in ``mode``; None when it asks nothing
    (no wake word outside an answer, or words that are not a phrase)."""
    if words[: len(wake)] == wake and len(words) > len(wake):
        rest = words[len(wake) :]
        said = " ".join(rest)
        if said in COMMANDS:
            return Heard(COMMANDS[said], ended=ended)
        if rest[0] == CORRECTION:
            value = number_value(rest[1:])
            return None if value is None else Heard(Intent.CORRECTION, value, ended=ended)
        return None
    if mode is not Mode.ANSWER:
        return None
    if words == ["all"]:
        return Heard(Intent.NUMBER, None, everything=True, ended=ended)
    value = number_value(words)
    return None if value is None else Heard(Intent.NUMBER, value, ended=ended)
