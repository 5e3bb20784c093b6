"""What the live player says itself: its spoken clips (paused, resuming,
skipping, restarting, quitting, and voice control's answers), synthesised
before the stream opens in the session's voice and at its mixer's gains, so
the transport only copies them (:mod:`voicecoach.live.transport` levels them
as it takes them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from voicecoach.plan.kinds import COUNT_IN, EventKind
from voicecoach.plan.phrases import PhraseBook, default_phrases

__all__ = ["GAP_SECONDS", "NO_CLIP", "Clips", "make_clips", "session_clips"]

GAP_SECONDS = 0.6  # silence after a skip or restart announcement, before the count-in

NO_CLIP = np.zeros(0, np.float32)  # nothing to say


@dataclass(frozen=True, eq=False)
class Clips:
    """The player's spoken clips, mono float32 at the session rate and gains;
    ``skip_to[n]`` and ``restart[n]`` name set ``n`` (index 0 unused). Voice
    control's clips are empty unless it listens: ``noted[n]`` confirms ``n``
    perfect reps, ``left_reps[n]`` and ``left_sets[n]`` say ``n`` left."""

    paused: np.ndarray
    resume_rep: np.ndarray
    resume: np.ndarray
    resume_rest: np.ndarray
    recovered_rep: np.ndarray
    recovered: np.ndarray
    skip_to: tuple[np.ndarray, ...]
    skip_end: np.ndarray
    restart: tuple[np.ndarray, ...]
    restart_top: np.ndarray
    quit: np.ndarray
    ask: np.ndarray = field(default_factory=lambda: NO_CLIP)
    noted: tuple[np.ndarray, ...] = ()
    noted_all: np.ndarray = field(default_factory=lambda: NO_CLIP)
    left_reps: tuple[np.ndarray, ...] = ()
    left_sets: tuple[np.ndarray, ...] = ()
    left_none: np.ndarray = field(default_factory=lambda: NO_CLIP)
    deaf: np.ndarray = field(default_factory=lambda: NO_CLIP)


def make_clips(
    speech: Callable[[str], np.ndarray],
    sounds: Mapping[str, np.ndarray],
    samplerate: int,
    phrases: PhraseBook | None = None,
    *,
    sets: int = 1,
    voice_gain: float = 1.0,
    tick_gain: float = 1.0,
    reps: int = 0,
) -> Clips:
    """The player's spoken :class:`Clips`, built before the stream opens, at the
    session mixer's ``voice_gain`` and ``tick_gain`` so they sound as loud as its
    speech and ticks. The ``*_rep`` clips end with a count-in (a tick and "three,
    two, one" a second apart) so the user finds the rhythm again; skip and restart
    announcements end with a gap so the count-in that follows is heard as separate.
    ``reps`` (the most reps of a set) > 0 adds voice control's clips, for a session
    that listens: counts up to twice as many (capped) are confirmed aloud.
    """
    book = phrases or default_phrases()
    sr = samplerate

    def words(text: str) -> np.ndarray:
        return np.asarray(speech(text), dtype=np.float32) * np.float32(voice_gain)

    def voice(name: str, **values: object) -> np.ndarray:
        return words(book.variants(name, **values)[0])

    def finish(x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        x.setflags(write=False)
        return x

    def with_count_in(head: np.ndarray) -> np.ndarray:
        beat0 = -(-(len(head) + sr // 4) // sr) * sr  # next whole second after the words
        out = np.zeros(beat0 + COUNT_IN * sr, dtype=np.float32)
        out[: len(head)] += head
        tick = np.asarray(sounds[EventKind.TICK], dtype=np.float32) * np.float32(tick_gain)
        for i in range(COUNT_IN):
            at = beat0 + i * sr
            out[at : at + len(tick)] += tick[: len(out) - at]
            word = words(book.number(COUNT_IN - i))[:sr]
            out[at : at + len(word)] += word
        return finish(out)

    def with_gap(head: np.ndarray) -> np.ndarray:
        return finish(np.concatenate([head, np.zeros(round(GAP_SECONDS * sr), np.float32)]))

    def each_set(name: str) -> tuple[np.ndarray, ...]:
        return (finish(np.zeros(0, np.float32)), *(with_gap(voice(name, set=n, sets=sets)) for n in range(1, sets + 1)))

    return Clips(
        paused=finish(voice("player_paused")),
        resume_rep=with_count_in(voice("player_resume_rep")),
        resume=finish(voice("player_resume")),
        resume_rest=finish(voice("player_resume_rest")),
        recovered_rep=with_count_in(voice("player_recovered_rep")),
        recovered=finish(voice("player_recovered")),
        skip_to=each_set("player_skip"),
        skip_end=with_gap(voice("player_skip_end")),
        restart=each_set("player_restart"),
        restart_top=with_gap(voice("player_restart_top")),
        quit=finish(voice("player_quit")),
        **(_voice_control_clips(voice, finish, sets, reps) if reps > 0 else {}),
    )


def _voice_control_clips(voice: Callable[..., np.ndarray], finish: Callable, sets: int, reps: int) -> dict:
    """Voice control's clips: the question, a count confirmed, what is left."""
    plain = finish(voice("player_noted_plain"))
    top = min(2 * reps, reps + 20)
    return {
        "ask": finish(voice("player_ask")),
        "noted": tuple(finish(voice("player_noted", count=n)) if n <= top else plain for n in range(top + 2)),
        "noted_all": finish(voice("player_noted_all")),
        "left_reps": (NO_CLIP, *(finish(voice("player_left_reps", reps=n)) for n in range(1, reps + 1))),
        "left_sets": (NO_CLIP, *(finish(voice("player_left_sets", sets=n)) for n in range(1, sets + 1))),
        "left_none": finish(voice("player_left_none")),
        "deaf": finish(voice("player_deaf")),
    }


def session_clips(session, listening: bool = False) -> Clips:
    """The clips of a prepared :class:`~voicecoach.audio.session.Session`,
    in its voice, with its tick sound and its mixer's gains (and voice
    control's when ``listening``)."""
    sets = max((s.set or 0) for s in session.timeline.segments)
    reps = max((s.rep or 0) for s in session.timeline.segments) if listening else 0
    return make_clips(
        session.bank.get,
        session.sounds,
        session.timeline.samplerate,
        session.phrases,
        sets=sets,
        voice_gain=session.mixer.bus_gain("voice"),
        tick_gain=session.mixer.bus_gain("ticks"),
        reps=reps,
    )
