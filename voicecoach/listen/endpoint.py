"""Where utterances begin and end, from the microphone's energy against its
own noise floor: a room with a fan or music under the voice keeps a
trained voice-activity detector "in speech" for ever, and then no command
ever ends."""

from __future__ import annotations

import numpy as np

FRAME = 480  # samples at 16 kHz: 30 ms
ABOVE = 9.0  # dB over the floor: speech
LEAD = 10  # frames kept before the start (the soft onset of "coach")
HANG = 10  # frames under the threshold that end an utterance (0.3 s)
RISE = 10 ** (2 / 10 * FRAME / 16000)  # the floor rises 2 dB a second under sound


class Endpointer:
    """Frames of 16-bit PCM in (`FRAME` samples); `step` says whether the
    frame belongs to an utterance, and when one has just ended."""

    def __init__(self) -> None:
        self.floor = 0.0  # mean square of the quietest recent frames (0: none yet)
        self.in_speech = False
        self._quiet = 0
        self._loud = 0
        self.lead: list[bytes] = []
        self.frames = 0  # frames stepped

    def step(self, frame: np.ndarray) -> tuple[list[bytes], bool]:
        """The frames to decode now (the lead-in at a start), and whether the
        utterance ended with this frame."""
        x = np.diff(frame.astype(np.float32)) / 32768  # tilted up: speech over a room's rumble
        level = float(np.dot(x, x)) / len(x) + 1e-10
        floor = self.floor or level
        loud = level > floor * 10 ** (ABOVE / 10)
        self.floor = min(level, floor * RISE)  # quiet at once, louder noise slowly
        data = frame.tobytes()
        self.frames += 1
        if not self.in_speech:
            self.lead = [*self.lead[-LEAD + 1 :], data]
            self._loud = self._loud + 1 if loud else 0
            if self._loud >= 3:
                self.in_speech, self._quiet = True, 0
                out, self.lead = self.lead, []
                return out, False
            return [], False
        self._quiet = 0 if loud else self._quiet + 1
        if self._quiet >= HANG:
            self.in_speech = False
            return [data], True
        return [data], False
