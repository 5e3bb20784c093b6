"""What the live player plays next: the pure logic of playback.

The audio callback calls :meth:`Transport.render` with the block to fill.
It renders the session through the same :class:`~voicecoach.audio.mixer.Mixer` as
the export, so live audio equals the exported file sample for sample, and
advances a frame counter: that counter is the only clock.

Commands (pause, resume, skip, quit) arrive from other threads through
:meth:`Transport.request`, a single attribute assignment (atomic under the
GIL: no lock in the callback), and take effect at the start of the next
block. Interruptions fade the sound out over a few milliseconds (no click),
play a precomputed spoken clip, and continue from a beat:

* pause resumes from the start of the interrupted rep, after a lead-in
  ("back to the start of this rep", three, two, one);
* skip goes to the count-in of the next set, or to the outro in the last
  set; in a rest it ends the rest early;
* quit says so and ends.

No sounddevice here: tests drive :meth:`render` with plain arrays.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Callable, Mapping

import numpy as np

from voicecoach.audio.bed import MusicBed
from voicecoach.audio.levels import TruePeakLimiter
from voicecoach.audio.mixer import Mixer
from voicecoach.plan.kinds import COUNT_IN, REP_KINDS, EventKind, SegmentKind
from voicecoach.plan.phrases import PhraseBook, default_phrases, number_word
from voicecoach.plan.timeline import Timeline

FADE_SECONDS = 0.005


class TransportCommand(StrEnum):
    """What the listener (keys, media controls) or the player's watchdog asks for."""

    PAUSE = "pause"
    RESUME = "resume"
    TOGGLE = "toggle"
    SKIP = "skip"
    QUIT = "quit"
    RECOVER = "recover"


class TransportState(StrEnum):
    """Whether the session is heard, held at a rep start, or over."""

    PLAYING = "playing"
    PAUSED = "paused"
    DONE = "done"


#: Clips the transport needs, by name; the player synthesises them up front.
CLIP_NAMES = ("paused", "resume", "skip", "quit", "recovered")


@dataclass(slots=True)
class _Section:
    """A stretch to play: timeline frames ``[pos, end)`` of the mix, or a clip."""

    pos: int
    end: int
    clip: np.ndarray | None = None   # mono float32; None = the mix
    fade: bool = False               # fade out linearly over this section
    silence: bool = False            # endless silence (paused)
    origin: int = field(init=False, default=0)   # where a fade section began

    def __post_init__(self) -> None:
        self.origin = self.pos


class Transport:
    """The player's state machine; :meth:`render` is the audio callback's work.

    Parameters
    ----------
    mixer : Mixer
        Renders the session; its ``channels`` fix the output's width.
    clips : mapping of str to numpy.ndarray
        Mono float32 clips at the mixer's rate for :data:`CLIP_NAMES`; the
        ``resume`` and ``recovered`` clips already include their count-in.
    start : int
        Timeline frame to start from.
    bed : MusicBed, optional
        Music under the session: ducked by the timeline, fully ducked under
        the spoken clips, and paused (not pulled) while the session is.
    """

    def __init__(self, mixer: Mixer, timeline: Timeline, clips: Mapping[str, np.ndarray],
                 start: int = 0, bed: MusicBed | None = None):
        missing = [n for n in CLIP_NAMES if n not in clips]
        if missing:
            raise ValueError(f"missing transport clips: {', '.join(missing)}")
        self.mixer = mixer
        self.bed = bed
        self.timeline = timeline
        # Spoken messages sound at the session's loudness gain and pass the
        # same limiter: a hook for every message the player adds.
        self.clips = {k: self.at_session_level(v) for k, v in clips.items()}
        self.limiter = TruePeakLimiter(mixer.channels)   # with music: limits as it plays
        self._pulled = 0             # frames the limiter has taken
        self._source_end: int | None = None   # pulled frame where the session's sound ended
        self.sr = timeline.samplerate
        self.fade = max(1, round(FADE_SECONDS * self.sr))
        self._queue: deque[_Section] = deque([_Section(start, timeline.frames)])
        self._pending: TransportCommand | None = None
        self.rendered = 0            # frames handed to the device: the clock
        self.position = start        # timeline frame rendered, limiter.delay ahead of the ears
                                     # (resume point while paused)
        self.state = TransportState.PLAYING
        self.underruns = 0
        self.quit_requested = False
        self.log: list[tuple[int, TransportCommand]] = []   # (rendered frame, command) as applied

    def at_session_level(self, clip: np.ndarray) -> np.ndarray:
        """A spoken clip (mono) at the session's loudness gain, float32; without
        music, limited now as the mixer's sounds were (with music the running
        limiter takes it)."""
        x = np.asarray(clip, dtype=np.float32) * np.float32(self.mixer.master)
        if self.bed is None and self.mixer.limited:
            from voicecoach.audio.normalise import limited
            x = limited(x.astype(np.float64)).astype(np.float32)
        return np.ascontiguousarray(x)

    # -- other threads ---------------------------------------------------
    def request(self, command: TransportCommand | str) -> None:
        """Ask for ``pause``, ``resume``, ``toggle``, ``skip`` or ``quit``."""
        if command not in tuple(TransportCommand):
            raise ValueError(f"unknown transport command {command!r}")
        self._pending = TransportCommand(command)

    @property
    def ahead(self) -> int:
        """Frames rendered for the limiter beyond those handed out: a command
        takes effect this many frames after the next block starts."""
        return self._pulled - self.rendered

    @property
    def finished(self) -> bool:
        return self.state == TransportState.DONE

    # -- timeline arithmetic ---------------------------------------------
    def rep_start(self, frame: int) -> int:
        """Start of the rep containing ``frame``, or ``frame`` outside reps."""
        i = self.timeline.segment_index(frame)
        segs = self.timeline.segments
        if i < 0 or segs[i].kind not in REP_KINDS:
            return frame
        key = (segs[i].set, segs[i].rep, segs[i].side)
        while i > 0 and segs[i - 1].kind in REP_KINDS and (segs[i - 1].set, segs[i - 1].rep,
                                                           segs[i - 1].side) == key:
            i -= 1
        return segs[i].start

    def skip_target(self, frame: int) -> int:
        """The count-in of the next set after ``frame``, else the outro."""
        segs = self.timeline.segments
        i = self.timeline.segment_index(frame)
        current = segs[i].set if i >= 0 and segs[i].kind in REP_KINDS else None
        for seg in segs[i + 1:]:
            if seg.kind in REP_KINDS and seg.set != current:
                return max(frame, seg.start - COUNT_IN * self.sr)
            if seg.kind == SegmentKind.OUTRO:
                return seg.start
        return self.timeline.frames

    # -- commands (run inside render, at a block start) --------------------
    def _fade_out_now(self) -> list[_Section]:
        head = self._queue[0] if self._queue else None
        if head is None or head.silence:
            return []
        stop = min(head.end, head.pos + self.fade)
        return [_Section(head.pos, stop, head.clip, fade=True)] if stop > head.pos else []

    def _apply(self, command: TransportCommand) -> None:
        self.log.append((self.rendered, command))
        if command == TransportCommand.TOGGLE:
            command = TransportCommand.RESUME if self.state == TransportState.PAUSED else TransportCommand.PAUSE
        if self.state == TransportState.DONE:
            return
        now = self.position
        sections = self._fade_out_now()
        if command == TransportCommand.PAUSE and self.state == TransportState.PLAYING:
            self.position = self.rep_start(now)
            n = len(self.clips["paused"])
            sections += [_Section(0, n, self.clips["paused"]), _Section(0, 0, silence=True)]
            self.state = TransportState.PAUSED
        elif command in (TransportCommand.RESUME, TransportCommand.RECOVER) and (
                self.state == TransportState.PAUSED or command == TransportCommand.RECOVER):
            clip = self.clips["resume" if command == TransportCommand.RESUME else "recovered"]
            if command == TransportCommand.RECOVER:
                self.position = self.rep_start(now)
                sections = []
            sections += [_Section(0, len(clip), clip), _Section(self.position, self.timeline.frames)]
            self.state = TransportState.PLAYING
        elif command == TransportCommand.SKIP:
            target = self.skip_target(now)
            clip = self.clips["skip"]
            self.position = target
            sections += [_Section(0, len(clip), clip), _Section(target, self.timeline.frames)]
            self.state = TransportState.PLAYING
        elif command == TransportCommand.QUIT:
            clip = self.clips["quit"]
            sections += [_Section(0, len(clip), clip)]
            self.quit_requested = True
            self.state = TransportState.PLAYING
        else:
            return
        self._queue = deque(sections)

    # -- the audio callback's work -----------------------------------------
    def render(self, out: np.ndarray) -> None:
        """Fill ``out`` (float32, shape ``(n, channels)``) with the next frames.

        With music the frames pass through the same :class:`TruePeakLimiter`
        as the export's, which pulls this transport's unlimited sound ahead
        (see :mod:`voicecoach.audio.levels`); without, the mixer renders the
        planned limiter gain. Silence once the session is over;
        :attr:`finished` tells.
        """
        if self.bed is None:                 # the mixer renders the planned limiter gain
            self._pull(out)
        else:
            if self._pending == "recover":   # what the lost device had buffered is gone
                self.limiter = TruePeakLimiter(self.mixer.channels)
                self._pulled = self.rendered
            self.limiter.run(self._pull, out)
        self.rendered += len(out)
        if self._source_end is not None and self.rendered >= self._source_end:
            self.state = TransportState.DONE

    def _pull(self, out: np.ndarray) -> None:
        """The next frames before the limiter: sections, spoken clips, music."""
        if self._source_end is not None:
            out[:] = 0.0
            self._pulled += len(out)
            return
        command, self._pending = self._pending, None
        if command is not None:
            self._apply(command)
        n = len(out)
        done = 0
        queue = self._queue
        while done < n:
            if not queue:
                out[done:] = 0.0
                self._source_end = self._pulled + done
                break
            sec = queue[0]
            if sec.silence:
                out[done:] = 0.0
                break
            take = min(n - done, sec.end - sec.pos)
            block = out[done:done + take]
            if sec.clip is None:
                self.mixer.render(block, sec.pos)
                if not sec.fade:
                    self.position = sec.pos + take
            else:
                block[:] = sec.clip[sec.pos:sec.pos + take, None]
            if sec.fade:
                first = sec.pos - sec.origin
                ramp = 1.0 - (np.arange(first + 1, first + take + 1, dtype=np.float32)
                              / (sec.end - sec.origin))
                block *= ramp[:, None]
            if self.bed is not None:
                self.bed.add(block, sec.pos if sec.clip is None else None)
            sec.pos += take
            done += take
            if sec.pos >= sec.end:
                queue.popleft()
        self._pulled += n


def make_clips(speech: Callable[[str], np.ndarray], sounds: Mapping[str, np.ndarray],
               samplerate: int, phrases: PhraseBook | None = None) -> dict[str, np.ndarray]:
    """The spoken clips of :data:`CLIP_NAMES`, built before the stream opens.

    ``resume`` and ``recovered`` end with a count-in -- a tick and "three,
    two, one" a second apart -- so the user finds the rhythm again.
    """
    book = phrases or default_phrases()
    sr = samplerate

    def voice(name: str) -> np.ndarray:
        return np.asarray(speech(book.variants(name)[0]), dtype=np.float32)

    def with_count_in(head: np.ndarray) -> np.ndarray:
        beat0 = -(-(len(head) + sr // 4) // sr) * sr         # next whole second after the words
        out = np.zeros(beat0 + COUNT_IN * sr, dtype=np.float32)
        out[:len(head)] += head
        for i in range(COUNT_IN):
            at = beat0 + i * sr
            tick = sounds[EventKind.TICK]
            out[at:at + len(tick)] += tick
            word = np.asarray(speech(number_word(COUNT_IN - i)), dtype=np.float32)[:sr]
            out[at:at + len(word)] += word
        return out

    return {
        "paused": voice("player_paused"),
        "resume": with_count_in(voice("player_resume")),
        "skip": voice("player_skip"),
        "quit": voice("player_quit"),
        "recovered": with_count_in(voice("player_recovered")),
    }
