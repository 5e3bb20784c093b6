"""Listening on a microphone while the session plays: the input stream, and
a thread that resamples, decodes and hands over what was heard.

Nothing here may stop the session: a missing microphone, one that goes away
or fails is reported once through ``on_stopped`` and listening ends; the
player goes on with its keys and remote controls.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable

import numpy as np

from voicecoach.errors import RuntimeFailure
from voicecoach.listen.echo import PlayedLog
from voicecoach.listen.heard import Heard, Mode
from voicecoach.listen.recogniser import RATE

SILENT_FOR = 2.0  # seconds without a block from the microphone: it has gone
BLOCK = 0.05  # seconds a block, at the microphone's rate


class Listener:
    """A context manager: entered, it opens the input stream and its decoding
    thread; ``on_heard`` and ``on_stopped`` are called from that thread.

    ``reference``: the sample rate of the blocks the player hands to
    `played`; a player that knows what it sounds over time says so
    through `sounded` instead.
    """

    def __init__(
        self,
        on_heard: Callable[[Heard], None],
        *,
        device: int | str | None = None,
        wake: str = "coach",
        on_stopped: Callable[[str], None] = lambda reason: None,
        reference: int | None = None,
    ) -> None:
        try:
            from voicecoach.listen.ears import Ears
        except ImportError as e:
            raise RuntimeFailure(
                f"listening needs the recogniser: pip install 'voicecoach[voice-control]' ({e})"
            ) from e
        self._reference = reference
        self._log = PlayedLog(reference or RATE)
        self._ears = Ears(wake.lower().split(), self._log)  # an unknown wake word is an InputError, now
        self._on_heard = on_heard
        self._on_stopped = on_stopped
        self._device = device
        self._mode = Mode.COMMANDS
        self._blocks: queue.SimpleQueue[tuple[np.ndarray, float] | None] = queue.SimpleQueue()
        self._done = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="voicecoach-listen", daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._blocks.put(None)
        self._thread.join(5)

    def set_mode(self, mode: Mode) -> None:
        """Takes effect from the next utterance; callable from any thread."""
        if not isinstance(mode, Mode):
            raise TypeError(f"mode must be a Mode, not {type(mode).__name__}")
        self._mode = mode

    def played(self, block: np.ndarray, when: float) -> None:
        """The player's block (frames x channels, float32, at ``reference``
        Hz), heard from ``when`` (`time.monotonic`)."""
        if self._reference is None:
            raise ValueError("blocks played need the reference rate the Listener was made with")
        self._log.played(block, when)

    def sounded(self, start: float, end: float, share: float) -> None:
        """Over ``[start, end]`` (`time.monotonic`) the player was heard
        ``share`` of the time: while it is, an answer needs the wake word and
        a command must sound closer to what the open decoding heard."""
        self._log.heard(start, end, share)

    def _stop(self, reason: str) -> None:
        if not self._stopped:
            self._stopped = True
            with contextlib.suppress(Exception):
                self._on_stopped(reason)

    def _run(self) -> None:
        try:
            import sounddevice as sd

            rate = int(sd.query_devices(self._device, "input")["default_samplerate"])
            stream = sd.InputStream(
                device=self._device, channels=1, dtype="float32", samplerate=rate,
                blocksize=round(rate * BLOCK), latency="low", callback=self._captured,
            )  # fmt: skip
        except Exception as e:  # no microphone, or none that opens: PortAudioError, ValueError, OSError
            self._stop(f"no microphone to listen on ({_reason(e)})")
            return
        try:
            stream.start()
            self._listen(stream, rate)
        except Exception as e:
            self._stop(f"the microphone failed ({_reason(e)})")
        finally:
            # abort, not stop: stop() waits for a capture thread that a vanished
            # sound server leaves spinning, and so did the interpreter's exit after it
            for op in (stream.abort, stream.close):
                with contextlib.suppress(Exception):
                    op()

    def _captured(self, indata: np.ndarray, frames: int, times: object, status: object) -> None:
        self._blocks.put((indata[:, 0].copy(), time.monotonic()))

    def _listen(self, stream, rate: int) -> None:
        import soxr

        resampler = soxr.ResampleStream(rate, RATE, 1, dtype="float32")
        latency = float(stream.latency)
        while not self._done.is_set():
            try:
                got = self._blocks.get(timeout=SILENT_FOR)
            except queue.Empty:
                self._stop("the microphone stopped sending sound")
                return
            if got is None:
                return
            samples, when = got
            self._ears.mode = self._mode
            for heard in self._ears.feed(resampler.resample_chunk(samples), when - latency):
                with contextlib.suppress(Exception):  # the player's fault is not ours to raise
                    self._on_heard(heard)


def _reason(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
