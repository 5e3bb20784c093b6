"""From microphone samples to what was heard: endpointing, decoding, and
the checks that keep anything but the person's own command out.

No device here: the `Listener` feeds it from the microphone, the tests and
the benchmark from files, at any pace.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voicecoach.listen.denoise import Denoiser
from voicecoach.listen.echo import PlayedLog
from voicecoach.listen.endpoint import FRAME, HANG, Endpointer
from voicecoach.listen.heard import Heard, Mode, interpret
from voicecoach.listen.recogniser import RATE, Recogniser

LONGEST = 5.0  # seconds: longer speech is talk, not a command; its decoding stops there
WAIT = 40  # frames (1.2 s) a command begun waits for its rest
CLOSE = 0.55  # the largest phone distance a phrase may have from the open decoding
CLOSE_UNDER_COACH = 0.5  # the same while the coach is heard (its cues forced into the grammar sat at 0.57 and further)
COACH_SHARE = 0.2  # of an utterance the coach was heard in: it may be the coach's own voice


class Ears:
    """Feed it mono float32 samples at 16 kHz with the monotonic time of
    their last sample; it returns what it heard, as soon as an utterance ends."""

    def __init__(self, wake: list[str], played: PlayedLog | None = None) -> None:
        self.wake = wake
        self.mode = Mode.COMMANDS
        self.played = played
        self._recogniser = Recogniser(wake)
        self._endpointer = Endpointer()
        self._denoiser = Denoiser()
        self._frame = FRAME
        self._pending = np.zeros(0, np.int16)
        self._fed = 0  # samples given to the endpointer
        self._speech = 0  # samples decoded in this utterance
        self._origin = 0.0
        self._end = 0.0  # when the last utterance's speech ended
        self._waiting = 0  # frames left to wait for a command after a lone wake word
        self.rejected = 0  # utterances decoded that asked nothing, for the benchmark

    def feed(self, samples: np.ndarray, clock: float) -> list[Heard]:
        """``samples``: shape (n,), float32 at 16 kHz; ``clock``: when the
        last of them was captured (`time.monotonic`)."""
        return [heard for decoded in self.decode(samples, clock) if (heard := self._judge(decoded)) is not None]

    def decode(self, samples: np.ndarray, clock: float) -> list[Decoded]:
        """As `feed`, the utterances decoded but not judged (`judge` does)."""
        samples = self._denoiser.process(samples)
        pcm = np.concatenate([self._pending, np.clip(samples * 32768, -32768, 32767).astype(np.int16)])
        self._origin = clock - (self._fed + len(pcm)) / RATE  # the time of stream position 0
        heard = []
        for at in range(0, len(pcm) - self._frame + 1, self._frame):
            found = self._step(pcm[at : at + self._frame])
            if found is not None:
                heard.append(found)
        self._pending = pcm[len(pcm) - len(pcm) % self._frame :]
        return heard

    def _step(self, frame: np.ndarray) -> Decoded | None:
        """One endpointer frame: an utterance starts, goes on or ends. After
        the wake word alone, or a command begun, the utterance waits a
        moment for the rest: a pause at a comma ("Coach, ... pause") is not
        its end."""
        was = self._endpointer.in_speech
        speech, ended = self._endpointer.step(frame)
        self._fed += self._frame
        if not speech:
            self._waiting -= self._waiting > 0
            return self._finish() if self._waiting == 1 else None
        if not was and not self._waiting:
            self._recogniser.mode = self.mode
            self._recogniser.start()
            self._speech = 0
        self._waiting = 0
        if self._speech < LONGEST * RATE:
            self._recogniser.feed(b"".join(speech))
        self._speech += len(speech) * self._frame
        if not ended:
            return None
        self._end = self._origin + (self._fed - HANG * self._frame) / RATE
        partial = self._recogniser.partial()
        if partial[: len(self.wake)] == self.wake and interpret(partial, self.mode, self.wake) is None:
            self._waiting = WAIT + 1  # "coach", "coach, correction": the rest may follow
            return None
        return self._finish()

    def _finish(self) -> Decoded:
        self._waiting = 0
        phrase, apart = self._recogniser.finish()
        return Decoded(phrase, apart, self._end - self._speech / RATE, self._end, self.mode)

    def _judge(self, decoded: Decoded) -> Heard | None:
        heard = judge(decoded, self.wake, self.played)
        asked = bool(decoded.phrase) and interpret(decoded.phrase, decoded.mode, self.wake) is not None
        self.rejected += heard is None and asked
        return heard


@dataclass(frozen=True)
class Decoded:
    """One utterance as decoded: the grammar's words, their phones' distance
    from the open decoding's, when it began and ended (`time.monotonic`), and
    what was listened for."""

    phrase: list[str]
    apart: float
    began: float
    ended: float
    mode: Mode


def judge(decoded: Decoded, wake: list[str], played: PlayedLog | None) -> Heard | None:
    """The grammar's phrase if it asks something, sounds like what the
    open decoding heard and is not the coach's own voice coming back."""
    phrase, began, ended = decoded.phrase, decoded.began, decoded.ended
    heard = interpret(phrase, decoded.mode, wake, ended) if phrase else None
    coach = played is not None and played.sounding(began, ended) > COACH_SHARE
    with_wake = phrase[: len(wake)] == wake
    if (
        heard is None
        or ended - began > LONGEST
        or (coach and not with_wake)
        or decoded.apart > (CLOSE_UNDER_COACH if coach else CLOSE)
    ):
        return None
    return heard
