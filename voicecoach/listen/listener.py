"""Listening on a microphone while the session plays: the input stream, a
thread that resamples and hands over what was heard, and a process of its
own that decodes (pocketsphinx holds the GIL while it decodes: in the
player's process, on a busy machine, the audio callback waited for it).

Nothing here may stop the session: a missing microphone, one that goes away
or fails is reported once through ``on_stopped`` and listening ends; the
player goes on with its keys and remote controls.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import Callable

import numpy as np

from voicecoach.errors import InputError, RuntimeFailure
from voicecoach.listen.echo import PlayedLog
from voicecoach.listen.heard import Heard, Mode
from voicecoach.listen.recogniser import RATE

SILENT_FOR = 2.0  # seconds without a block from the microphone: it has gone
LOADING = 60.0  # seconds the decoding process may take to load its models
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
            from voicecoach.listen import ears
        except ImportError as e:
            raise RuntimeFailure(
                f"listening needs the recogniser: pip install 'voicecoach[voice-control]' ({e})"
            ) from e
        self._judge = ears.judge
        self._wake = wake.lower().split()
        self._reference = reference
        self._log = PlayedLog(reference or RATE)
        self._decoder = _Decoding(self._wake)  # an unknown wake word is an InputError, now
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
        self._decoder.close()

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
        threading.Thread(target=self._hand_over, name="voicecoach-heard", daemon=True).start()
        while not self._done.is_set():
            try:
                got = self._blocks.get(timeout=SILENT_FOR)
            except queue.Empty:
                self._stop("the microphone stopped sending sound")
                return
            if got is None:
                return
            samples, when = got
            self._decoder.send((resampler.resample_chunk(samples), when - latency, self._mode))

    def _hand_over(self) -> None:
        """What the decoding process decoded, judged here (the log of what was
        played is here) and handed to the player."""
        while (decoded := self._decoder.receive()) is not None:
            heard = self._judge(decoded, self._wake, self._log)
            if heard is not None:
                with contextlib.suppress(Exception):  # the player's fault is not ours to raise
                    self._on_heard(heard)
        if not self._done.is_set():
            self._stop("the recogniser stopped")


def _reason(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


class _Decoding:
    """The decoding process: blocks of 16 kHz samples in, `ears.Decoded` out."""

    def __init__(self, wake: list[str]) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a process that may hold audio threads
        self._inbox: multiprocessing.Queue = context.Queue()
        self._outbox: multiprocessing.Queue = context.Queue()
        self._process = context.Process(target=_decode, args=(wake, self._inbox, self._outbox),
                                        name="voicecoach-decode", daemon=True)  # fmt: skip
        self._process.start()
        try:
            ready = self._outbox.get(timeout=LOADING)
        except queue.Empty:
            ready = RuntimeFailure("the recogniser did not load")
        if ready is not None:
            self.close()
            raise ready

    def send(self, block: tuple) -> None:
        self._inbox.put(block)

    def receive(self):
        """The next utterance decoded; None once the process has ended."""
        while self._process.is_alive() or not self._outbox.empty():
            with contextlib.suppress(queue.Empty):
                return self._outbox.get(timeout=0.5)
        return None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._inbox.put(None)
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def _decode(wake: list[str], inbox: multiprocessing.Queue, outbox: multiprocessing.Queue) -> None:
    """The decoding process's work, until None comes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the player's to handle
    try:
        from voicecoach.listen.ears import Ears

        ears = Ears(wake)
    except InputError as e:
        outbox.put(e)
        return
    except Exception as e:
        outbox.put(RuntimeFailure(f"the recogniser did not load ({_reason(e)})"))
        return
    outbox.put(None)
    while (got := inbox.get()) is not None:
        samples, clock, mode = got
        ears.mode = mode
        for decoded in ears.decode(samples, clock):
            outbox.put(decoded)
