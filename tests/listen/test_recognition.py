"""The real recogniser on a fast subset of the corpus (tests/listen_corpus.py;
scripts/bench measures the whole): commands and answers said by a synthetic
voice are heard, and the coach's own speech commands nothing."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pocketsphinx", reason="the voice-control extra is not installed (scripts/setup installs it)")
pytest.importorskip("piper", reason="the neural voice is not installed (scripts/setup installs it)")
import listen_corpus as corpus  # noqa: E402

PERSON = corpus.Voice("person", "piper", noise=0.0, length=0.95)  # deterministic: noise 0
COACH = corpus.COACH_VOICES[0]


def heard(texts: list[str], mode: str, snr: float = 30) -> list[list[tuple[str, int | None]]]:
    clips = [corpus.with_noise(corpus.speech(t, PERSON), snr, i) for i, t in enumerate(texts)]
    return [[(h.intent.value, h.number) for h in r.heard] for r in corpus.listen_to(clips, mode)]


def test_commands_are_heard():
    texts = ["Coach, pause.", "Coach, go on.", "Coach, next.", "Coach, correction, seven."]
    assert heard(texts, "commands") == [[corpus.COMMANDS[t]] for t in texts]


def test_answers_are_heard_without_the_wake_word_and_commands_still_are():
    texts = ["Eight.", "Seventy seven.", "Coach, quit."]
    assert heard(texts, "answer") == [[corpus.ANSWERS.get(t) or corpus.COMMANDS[t]] for t in texts]
    assert heard(["Eight."], "commands") == [[]]


def coach_minute() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A minute of the coach's cues at the microphone, and what was played."""
    clips, played, seconds = [], [], 0.0
    for text in corpus.coach_texts()[::2]:
        said = corpus.speech(text, COACH)
        clips.append(corpus.with_noise(said, 30, len(clips), lead=0.4, tail=0.6))
        played.append(np.concatenate([np.zeros(int(0.4 * corpus.RATE), np.float32), said]))
        seconds += len(clips[-1]) / corpus.RATE
        if seconds >= 60:
            return clips, played
    raise AssertionError("the coach says less than a minute")


@pytest.mark.slow
def test_a_minute_of_the_coach_speaking_commands_nothing():
    assert [r.heard for r in corpus.listen_to(coach_minute()[0], "commands") if r.heard] == []


@pytest.mark.slow
def test_the_coach_heard_through_speakers_answers_nothing_while_it_is_played():
    """While the coach asks for an answer no wake word is needed: what the
    player plays tells its own voice at the microphone from the person's."""
    clips, played = coach_minute()
    assert [r.heard for r in corpus.listen_to(clips, "answer", played=played) if r.heard] == []


def test_while_the_coach_is_heard_an_answer_needs_the_wake_word():
    """Answers as above, with the player sounding all along: refused; commands
        whose open decoding agrees closely are still heard."""
    texts = ["Eight.", "Seventy seven.", "Coach, go on.", "Coach, next."]
    clips = [corpus.with_noise(corpus.speech(t, PERSON), 30, i) for i, t in enumerate(texts)]
    loud = [np.full(len(c), 0.1, np.float32) for c in clips]
    got = [[(h.intent.value, h.number) for h in r.heard] for r in corpus.listen_to(clips, "answer", played=loud)]
    assert got == [[], [], [corpus.COMMANDS["Coach, go on."]], [corpus.COMMANDS["Coach, next."]]]
