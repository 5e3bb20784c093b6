"""The JSGF grammars the recogniser decodes with, built from the wake word
and the phrases in `listen/heard.py`, so the words it can return are
exactly those `heard.interpret` understands."""

from __future__ import annotations

from voicecoach.listen.heard import COMMANDS, CORRECTION, ONES, TENS, Mode


def jsgf(mode: Mode, wake: list[str]) -> str:
    """A grammar for ``mode``: the wake word and a command (or a correction
    and a number); in an answer also a bare number, "all" or "none"."""
    phrases = " | ".join(sorted(COMMANDS))
    answer = " | <number> | all | none" if mode is Mode.ANSWER else ""
    return f"""#JSGF V1.0;
grammar voicecoach;
public <said> = <command>{answer};
<command> = {" ".join(wake)} ( {phrases} | {CORRECTION} <number> );
<number> = <small> | [ a | one ] hundred [ [ and ] <small> ] | two hundred;
<small> = {" | ".join(ONES)} | ( {" | ".join(TENS)} ) [ {" | ".join(ONES[1:10])} ];
"""


def distance(a: list[str], b: list[str]) -> int:
    """Edit distance between two phone sequences."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        diagonal, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (x != y))
    return row[-1]
