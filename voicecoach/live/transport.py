"""What the live player plays next: the pure logic of playback, which the player's
render thread runs ahead of the audio callback (tests drive :meth:`Transport.render`
with plain arrays).

It renders the session through the export's :class:`~voicecoach.audio.mixer.Mixer`,
so live audio equals the exported file sample for sample, and counts frames: that
count is the only clock. Commands from other threads (keys, MPRIS) arrive through
:meth:`Transport.request`, one attribute assignment (atomic under the GIL), and take
effect at the next block rendered, wherever they came from; a :class:`Mark` taken
between blocks lets the render thread go back to a frame not yet heard and apply
a command there (:meth:`Transport.restore`), and says what was heard there. An
interruption fades the sound out over a few milliseconds (no click), says a
precomputed clip (:mod:`voicecoach.live.clips`), and goes on where it makes sense for the segment:

* pause, then resume: in a rep, from its start after a count-in; elsewhere from
  the start of the phrase that was cut, after a short "carrying on" (a rest's own
  count-in is heard whole again);
* skip: names the set it goes to, leaves a gap, and plays that set's count-in;
  in the last set it goes to the outro;
* restart: back to the count-in of the current set;
* quit: says so, lets the music fade, and ends;
* repeat, how many left, a count noted: said over a held timeline, which then
  goes on as after a pause (a paused session stays paused);
* ask (a set's perfect reps, for voice control): the timeline is held at the
  set's end (or, for a set left early, after the skip's announcement) while
  the question is said and an answer awaited, then goes on: the export has no
  question, and outside the player's own words live still equals it.

Music stays ducked under the clips and fades out and back in around a pause.
"""

from __future__ import annotations

import bisect
import copy
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, Protocol

import numpy as np

from voicecoach.audio.bed import MusicBed
from voicecoach.audio.levels import TruePeakLimiter
from voicecoach.audio.mixer import Mixer
from voicecoach.audio.normalise import limited
from voicecoach.common.arrays import scale_frames
from voicecoach.common.fades import fade_in
from voicecoach.live.clips import NO_CLIP, Clips
from voicecoach.plan.kinds import COUNT_IN, REP_KINDS, EventKind, SegmentKind
from voicecoach.plan.timeline import Timeline

FADE_SECONDS = 0.005  # the session fades out this fast when interrupted
MUSIC_FADE_SECONDS = 0.3  # music fades out after a pause or quit clip, and back in on resume
LISTEN_SECONDS = 5.0  # how long the timeline is held for an answer to "how many were perfect?"
SOUNDING = 10 ** (-45 / 10)  # mean square of a block over -45 dBFS: the session's own sound is heard


class TransportCommand(StrEnum):
    """What the listener (keys, media controls) or the player's watchdog asks for."""

    PAUSE = "pause"
    RESUME = "resume"
    TOGGLE = "toggle"
    SKIP = "skip"
    RESTART = "restart"
    QUIT = "quit"
    RECOVER = "recover"
    REPEAT = "repeat"  # the last cue, again
    LEFT = "left"  # the sets and reps left, spoken
    ASK = "ask"  # how many reps of set ``number`` were perfect? (held while awaiting the answer)
    NOTED = "noted"  # confirm a count of perfect reps: ``number``, or None for all of them
    DEAF = "deaf"  # listening has stopped: said once


class TransportState(StrEnum):
    """Whether the session is heard, held (paused), or over."""

    PLAYING = "playing"
    PAUSED = "paused"
    DONE = "done"


class Activity(StrEnum):
    """What the player is saying instead of the session (for the status line
    and MPRIS); ``SESSION`` while the session itself is heard."""

    SESSION = "session"
    PAUSING = "pausing"
    COUNT_IN = "count-in"
    RESUMING = "resuming"
    SKIPPING = "skipping"
    RESTARTING = "restarting"
    STOPPING = "stopping"
    ASKING = "asking"
    TELLING = "telling"


class Music(StrEnum):
    """How music sounds under a section."""

    TIMELINE = "timeline"  # ducked by the session's envelope
    DUCKED = "ducked"  # ducked all through (under a spoken clip)
    FADE_OUT = "fade-out"  # ducked, fading to silence
    FADE_IN = "fade-in"  # ducked, rising from silence


class _Section:
    """A stretch to play: timeline frames ``[pos, end)`` of the mix, or a clip. The
    transport refills a few for each command: the audio callback builds no objects."""

    __slots__ = ("activity", "clip", "end", "fade", "music", "origin", "pos")
    pos: int
    end: int  # < 0: endless silence (paused)
    clip: np.ndarray | None  # mono float32; None = the mix
    fade: bool  # fade the mix out over this section
    activity: Activity
    music: Music
    origin: int  # where the section began


_MOST_SECTIONS = 6  # sections one command queues: a fade, up to three clips, the count-in, the session


class Rewind(Protocol):
    """Music that can be read again from a frame already taken (the live feeder)."""

    @property
    def taken(self) -> int: ...

    def rewind(self, taken: int) -> None: ...


@dataclass(frozen=True, eq=False)
class Mark:
    """The transport between two blocks: what a listener hears at that frame
    (``position``, ``state``, ``activity``, ``quitting``, ``seeks`` and how many
    ``jumps`` were made), and all :meth:`Transport.restore` needs to render on
    from there as if nothing after it had been rendered."""

    rendered: int
    position: int
    state: TransportState
    activity: Activity
    quitting: bool
    seeks: int
    jumps: int
    pulled: int
    source_end: int | None
    sections: tuple[tuple, ...]  # the queue from its head: each section's slots
    limiter: TruePeakLimiter | None  # with music: its state, copied
    music: int  # with music: frames the bed had taken
    sounded: int = 0  # frames rendered in blocks where the session's own sound (not the music) was heard


_SLOTS = _Section.__slots__


class Transport:
    """The player's state machine; :meth:`fill` is the render thread's work.

    ``mixer`` renders the session (its ``channels`` fix the output's width);
    ``clips`` come from :func:`make_clips` with the same mixer's gains; ``start``
    is the timeline frame to start from; the music ``bed`` is ducked by the
    timeline, fully ducked under the clips, and not pulled while paused; ``music``,
    the source the bed pulls, is read again when the render goes back (:meth:`restore`).
    """

    def __init__(
        self,
        mixer: Mixer,
        timeline: Timeline,
        clips: Clips,
        start: int = 0,
        bed: MusicBed | None = None,
        music: Rewind | None = None,
    ):
        if not isinstance(clips, Clips):
            raise TypeError(f"clips must be Clips (see make_clips), not {type(clips).__name__}")
        sets = max((s.set or 0) for s in timeline.segments) if timeline.segments else 0
        if len(clips.skip_to) <= sets or len(clips.restart) <= sets:
            raise ValueError(f"clips name {len(clips.skip_to) - 1} sets, the session has {sets}")
        self.mixer = mixer
        self.bed = bed
        self.music = music
        self.timeline = timeline

        def level(clip: Any) -> Any:
            """A spoken clip (already at the session's gains) through its limiter: without
            music limited now, as the mixer's sounds were; with music the running limiter takes it."""
            if isinstance(clip, tuple):
                return tuple(map(level, clip))
            x = np.ascontiguousarray(clip, dtype=np.float32)
            if bed is None and mixer.limited and len(x):
                x = limited(x.astype(np.float64)).astype(np.float32)
            return x

        self.clips = Clips(**{f.name: level(getattr(clips, f.name)) for f in fields(clips)})
        self.sets = sets
        self.limiter = TruePeakLimiter(mixer.channels)  # with music: limits as it plays
        self._pulled = 0  # frames the limiter has taken
        self._source_end: int | None = None  # pulled frame where the session's sound ended
        self.sr = timeline.samplerate
        self.fade = max(1, round(FADE_SECONDS * self.sr))
        self._fade_ramp = (1.0 - np.arange(1, self.fade + 1) / self.fade).astype(np.float32)
        n = max(1, round(MUSIC_FADE_SECONDS * self.sr))
        self._music_up = fade_in(n).astype(np.float32)
        self._music_down = self._music_up[::-1].copy()
        self._silence = np.zeros(n, dtype=np.float32)
        speech = [e for e in timeline.events if e.kind == EventKind.SPEECH]
        self._speech_starts = [e.frame for e in speech]
        self._speech_ends = [e.end for e in speech]
        # the sections playing, and those the next command fills (swapped then)
        self._queue = [_Section() for _ in range(_MOST_SECTIONS)]
        self._next = [_Section() for _ in range(_MOST_SECTIONS)]
        self._filling = 0
        self._put(start, timeline.frames, None, Activity.SESSION, Music.TIMELINE)
        self._swap()
        self._pending: TransportCommand | None = None
        self._number: int | None = None  # the pending command's number (ask, noted)
        self._listen = np.zeros(round(LISTEN_SECONDS * self.sr), dtype=np.float32)
        #: the frame where each set's last rep ends: where its question is asked
        self.set_ends = {s.set: s.end for s in timeline.segments if s.kind in REP_KINDS and s.set}
        self.ask_reps = False  # voice control listens: a set left early is asked about too
        self.asking: int | None = None  # the set last asked about (activity ASKING while awaited)
        self.asked: set[int] = set()
        self._reps = {s.set: s.rep for s in timeline.segments if s.kind in REP_KINDS and s.set and s.rep}
        self.rendered = 0  # frames rendered: the clock (the device's, once heard)
        # frames rendered in blocks where the voice, ticks or bells were heard (not the music):
        # what a microphone in the room picks up of the coach (voice control's echo gate)
        self.sounded = 0
        self._energy = 0.0  # of the block being rendered, before the music
        self.latency = 0.0  # seconds from a block handed out to its being heard (the player sets it)
        self.position = start  # timeline frame rendered, limiter.delay ahead of it (resume point while paused)
        self.state = TransportState.PLAYING
        self.activity = Activity.SESSION
        self.seeks = 0  # times the position jumped (pause rewinds, skips...)
        self.underruns = 0
        self.quit_requested = False
        self.log: list[tuple[int, TransportCommand]] = []  # (rendered frame, command) as applied
        self.jumps: list[tuple[int, int]] = []  # (from, to) timeline frames: what was rendered
        self.heard = self.mark()  # set by whoever plays the frames: the audio callback

    # -- other threads ---------------------------------------------------
    def request(self, command: TransportCommand | str, number: int | None = None) -> None:
        """Ask for a :class:`TransportCommand` (``number``: the set asked about, the count
        noted); applied at the next block."""
        command = TransportCommand(command)  # raises ValueError for an unknown one
        self._number = number
        self._pending = command

    @property
    def requested(self) -> bool:
        """Whether a command waits to be applied."""
        return self._pending is not None

    # -- the render thread -------------------------------------------------
    def take_request(self) -> TransportCommand | None:
        """The command asked for since the last call, if any."""
        command, self._pending = self._pending, None
        return command

    def mark(self) -> Mark:
        """The state between two blocks (see :class:`Mark`)."""
        head = self._queue[self._head : self._queued]
        return Mark(
            self.rendered,
            self.position,
            self.state,
            self.activity,
            self.quit_requested,
            self.seeks,
            len(self.jumps),
            self._pulled,
            self._source_end,
            tuple(tuple(getattr(sec, k) for k in _SLOTS) for sec in head),
            copy.deepcopy(self.limiter) if self.bed is not None else None,
            self.music.taken if self.music is not None else 0,
            self.sounded,
        )

    def restore(self, mark: Mark) -> None:
        """Render on from ``mark`` (taken since the last command was applied):
        what was rendered after it is forgotten."""
        self.rendered, self.position, self.state, self.activity = (
            mark.rendered,
            mark.position,
            mark.state,
            mark.activity,
        )
        self.quit_requested, self.seeks, self.sounded = mark.quitting, mark.seeks, mark.sounded
        self._pulled, self._source_end = mark.pulled, mark.source_end
        for sec, slots in zip(self._queue, mark.sections, strict=False):
            for k, v in zip(_SLOTS, slots, strict=True):
                setattr(sec, k, v)
        self._head, self._queued = 0, len(mark.sections)
        if mark.limiter is not None:
            self.limiter = copy.deepcopy(mark.limiter)
        if self.music is not None:
            self.music.rewind(mark.music)

    def apply(self, command: TransportCommand) -> None:
        """Apply ``command`` now, at the next frame to render."""
        self._apply(command)

    @property
    def ahead(self) -> int:
        """Frames rendered for the limiter beyond those handed out: how long after the next block a command is heard."""
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
        while i > 0 and segs[i - 1].kind in REP_KINDS and (segs[i - 1].set, segs[i - 1].rep, segs[i - 1].side) == key:
            i -= 1
        return segs[i].start

    def resume_point(self, frame: int) -> tuple[int, bool]:
        """Where to go on after an interruption at ``frame``, and whether that
        is a rep start (which needs a count-in).

        In a rep: its start. Elsewhere: the start of the phrase that was cut;
        in a rest or the get-ready, never inside the closing count-in.
        """
        seg = self.timeline.segment_at(frame)
        if seg.kind in REP_KINDS:
            return self.rep_start(frame), True
        target = frame
        i = bisect.bisect_right(self._speech_starts, frame) - 1
        if i >= 0 and self._speech_ends[i] > frame:
            target = self._speech_starts[i]
        if seg.kind in (SegmentKind.REST, SegmentKind.GET_READY):
            target = min(target, max(seg.start, seg.end - COUNT_IN * self.sr))
        return max(target, seg.start), False

    def skip_target(self, frame: int) -> tuple[int, int | None]:
        """The count-in of the next set after ``frame`` and that set, else
        the outro and None."""
        segs = self.timeline.segments
        i = self.timeline.segment_index(frame)
        current = segs[i].set if i >= 0 and segs[i].kind in REP_KINDS else None
        for seg in segs[i + 1 :]:
            if seg.kind in REP_KINDS and seg.set != current:
                return max(frame, seg.start - COUNT_IN * self.sr), seg.set
            if seg.kind == SegmentKind.OUTRO:
                return seg.start, None
        return self.timeline.frames, None

    def restart_target(self, frame: int) -> tuple[int, int | None]:
        """The count-in of the set being done (in a rest: the one just done;
        in the outro: the last), or the session's start before any set."""
        seg = self.timeline.segment_at(frame)
        set_ = self.sets if seg.kind == SegmentKind.OUTRO else seg.set
        if not set_:
            return 0, None
        first = next(s for s in self.timeline.segments if s.set == set_ and s.kind in REP_KINDS)
        return max(0, first.start - COUNT_IN * self.sr), set_

    # -- commands (run inside render, at a block start) --------------------
    def _put(self, at: int, end: int, clip: np.ndarray | None, act: Activity, music: Music, fade: bool = False) -> None:
        """Queue a section after the command's others; ``end`` < 0 is endless silence."""
        sec = self._next[self._filling]
        sec.pos = sec.origin = at
        sec.end, sec.clip, sec.fade = end, clip, fade
        sec.activity, sec.music = act, music
        self._filling += 1

    def _swap(self) -> None:
        """Play the sections just queued."""
        self._queue, self._next = self._next, self._queue
        self._head, self._queued, self._filling = 0, self._filling, 0

    def _fade_out_now(self) -> None:
        if self._head >= self._queued:
            return
        head = self._queue[self._head]
        stop = min(head.end, head.pos + self.fade)
        if stop > head.pos:  # not while paused
            music = head.music if head.clip is not None else Music.TIMELINE
            self._put(head.pos, stop, head.clip, head.activity, music, fade=True)

    def _say(self, clip: np.ndarray, activity: Activity, music: Music = Music.DUCKED, then: int | None = None) -> None:
        """Queue ``clip``, then the session from ``then`` (playing again) if given."""
        self._put(0, len(clip), clip, activity, music)
        if then is not None:
            self._put(then, self.timeline.frames, None, Activity.SESSION, Music.TIMELINE)
            self.state = TransportState.PLAYING

    def _jump(self, target: int) -> None:
        if target != self.position:
            self.seeks += 1
            self.jumps.append((self.position, target))  # for the training log
        self.position = target

    def _apply(self, command: TransportCommand) -> None:
        self.log.append((self.rendered, command))
        paused = self.state == TransportState.PAUSED
        if command == TransportCommand.TOGGLE:
            command = TransportCommand.RESUME if paused else TransportCommand.PAUSE
        if self.state == TransportState.DONE or self.quit_requested:
            return
        rise = Music.FADE_IN if paused else Music.DUCKED  # how music comes back under what is said
        c = self.clips
        self._filling = 0
        if command == TransportCommand.RECOVER:  # after a lost device: back to where the phrase or rep began
            target, in_rep = self.resume_point(self.position)
            self._jump(target)
            clip = c.recovered_rep if in_rep else c.recovered
            self._say(clip, Activity.COUNT_IN if in_rep else Activity.RESUMING, rise, then=target)
        elif command == TransportCommand.PAUSE and not paused:
            self._fade_out_now()
            self._jump(self.resume_point(self.position)[0])
            self._say(c.paused, Activity.PAUSING)
            self._put(0, len(self._silence), self._silence, Activity.PAUSING, Music.FADE_OUT)  # music fades out
            self._put(0, -1, None, Activity.SESSION, Music.DUCKED)
            self.state = TransportState.PAUSED
        elif command == TransportCommand.RESUME and paused:
            kind = self.timeline.segment_at(self.position).kind
            clip = c.resume_rep if kind in REP_KINDS else c.resume_rest if kind == SegmentKind.REST else c.resume
            self._fade_out_now()
            self._say(clip, Activity.COUNT_IN if kind in REP_KINDS else Activity.RESUMING, rise, then=self.position)
        elif command in (TransportCommand.SKIP, TransportCommand.RESTART):
            self._fade_out_now()
            self._go_to(command == TransportCommand.SKIP, rise)
        elif command == TransportCommand.QUIT:
            self._fade_out_now()
            self._say(c.quit, Activity.STOPPING, rise)
            self._put(0, len(self._silence), self._silence, Activity.STOPPING, Music.FADE_OUT)
            self.quit_requested = True
            self.state = TransportState.PLAYING
        elif command == TransportCommand.ASK:
            set_ = self._number
            if paused or not self.clips.noted or set_ not in self.set_ends or set_ in self.asked:
                return
            self._fade_out_now()
            self._jump(self.set_ends[set_])
            self._question(set_)
        elif not self._aside(command, paused, rise):
            return
        self._swap()

    def _question(self, set_: int) -> None:
        """Ask about ``set_``, hold the timeline for the answer, then go on from :attr:`position`."""
        self.asked.add(set_)
        self.asking = set_
        self._put(0, len(self.clips.ask), self.clips.ask, Activity.ASKING, Music.DUCKED)
        self._put(0, len(self._listen), self._listen, Activity.ASKING, Music.DUCKED)
        self._say(NO_CLIP, Activity.SESSION, then=self.position)

    def _aside(self, command: TransportCommand, paused: bool, rise: Music) -> bool:
        """Say a voice command's answer (the last cue, what is left, a count noted) over
        the held timeline, then go on as after a pause; paused, it stays paused."""
        told = self._told(command)
        if told is None:
            return False
        held = paused or self.activity == Activity.ASKING  # an answer ends the wait for it
        self._fade_out_now()
        target, in_rep = (self.position, False) if held else self.resume_point(self.position)
        if isinstance(told, tuple) and told and isinstance(told[0], int):  # the last cue, as the mix had it
            start, end = told
            self.seeks += 1
            self.jumps += [(self.position, start), (end, target)]
            self.position = target
            self._put(start, end, None, Activity.TELLING, Music.DUCKED)
        else:
            self._jump(target)
            for clip in told:
                self._put(0, len(clip), clip, Activity.TELLING, rise)
        if paused:
            self._put(0, -1, None, Activity.SESSION, Music.DUCKED)
        else:
            self._say(self.clips.resume_rep if in_rep else NO_CLIP, Activity.COUNT_IN, then=target)
        return True

    def _told(self, command: TransportCommand) -> tuple | None:
        """What answers a voice command: clips, or the last cue's ``(start, end)`` frames."""
        c, n = self.clips, self._number
        if command == TransportCommand.REPEAT:
            i = bisect.bisect_right(self._speech_starts, self.position) - 1
            return (self._speech_starts[i], self._speech_ends[i]) if i >= 0 else None
        if command == TransportCommand.NOTED and c.noted:
            return (c.noted_all if n is None else c.noted[min(n, len(c.noted) - 1)],)
        if command == TransportCommand.DEAF and len(c.deaf):
            return (c.deaf,)
        if command == TransportCommand.LEFT and c.left_sets:
            seg = self.timeline.segment_at(min(self.position, self.timeline.frames - 1))
            if seg.kind == SegmentKind.OUTRO:
                return (c.left_none,)
            reps = self._reps[seg.set] - seg.rep + 1 if seg.kind in REP_KINDS and seg.set and seg.rep else 0
            done = seg.set if seg.set and (reps or seg.kind == SegmentKind.REST) else (seg.set or 1) - 1
            return tuple(
                x for x in (c.left_reps[min(reps, len(c.left_reps) - 1)], c.left_sets[self.sets - done]) if len(x)
            )
        return None

    def _go_to(self, skip: bool, rise: Music) -> None:
        """Skip to the next set's count-in, or restart the current set's."""
        c = self.clips
        here = self.timeline.segment_at(min(self.position, self.timeline.frames - 1))
        left = here.set if skip and c.noted and here.kind in REP_KINDS and here.set not in self.asked else None
        if skip:
            target, set_ = self.skip_target(self.position)
            clip, activity = (c.skip_to[set_] if set_ else c.skip_end), Activity.SKIPPING
        else:
            target, set_ = self.restart_target(self.position)
            clip, activity = (c.restart[set_] if set_ else c.restart_top), Activity.RESTARTING
            self.asked.discard(set_)  # done again: asked again
        self._jump(target)
        if left is None:
            self._say(clip, activity, rise, then=target)
        else:  # a set left early: how many of its reps were perfect?
            self._say(clip, activity, rise)
            self._question(left)

    # -- the audio callback's work -----------------------------------------
    def render(self, out: np.ndarray) -> None:
        """Apply the command asked for, :meth:`fill` ``out``, and count it heard:
        playing without rendering ahead."""
        command = self.take_request()
        if command is not None:
            self._apply(command)
        self.fill(out)
        self.heard = self.mark()

    def fill(self, out: np.ndarray) -> None:
        """Fill ``out`` (float32, shape ``(n, channels)``) with the next frames, silence
        once the session is over (:attr:`finished`). With music they pass through the
        export's :class:`TruePeakLimiter`, which pulls this transport's sound ahead;
        without, the mixer renders the planned limiter gain. No allocation beyond views.
        """
        self._energy = 0.0
        if self.bed is None:  # the mixer renders the planned limiter gain
            self._pull(out)
        else:
            self.limiter.run(self._pull, out)
        self.rendered += len(out)
        if self._energy > SOUNDING * len(out):
            self.sounded += len(out)
        if self._source_end is not None and self.rendered >= self._source_end:
            self.state = TransportState.DONE

    def _pull(self, out: np.ndarray) -> None:
        """The next frames before the limiter: sections, spoken clips, music."""
        if self._source_end is not None:
            out[:] = 0.0
            self._pulled += len(out)
            return
        n = len(out)
        done = 0
        while done < n:
            if self._head >= self._queued:
                out[done:] = 0.0
                self._source_end = self._pulled + done
                break
            sec = self._queue[self._head]
            self.activity = sec.activity
            if sec.end < 0:  # paused
                out[done:] = 0.0
                break
            take = min(n - done, sec.end - sec.pos)
            block = out[done : done + take]
            k = sec.pos - sec.origin
            if sec.clip is None:
                self.mixer.render(block, sec.pos)
                if not sec.fade:
                    self.position = sec.pos + take
            else:
                block[:] = sec.clip[sec.pos : sec.pos + take, None]
            if sec.fade:
                scale_frames(block, self._fade_ramp[k : k + take])
            first = block[:, 0]
            self._energy += float(np.dot(first, first))
            if self.bed is not None:
                self._add_music(self.bed, block, sec, k, take)
            sec.pos += take
            done += take
            if sec.pos >= sec.end:
                self._head += 1
        self._pulled += n

    def _add_music(self, bed: MusicBed, block: np.ndarray, sec: _Section, k: int, take: int) -> None:
        m = bed.music(take, sec.pos if sec.music == Music.TIMELINE else None)
        if sec.music == Music.FADE_OUT:
            scale_frames(m, self._music_down[k : k + take])
        elif sec.music == Music.FADE_IN and k < len(self._music_up):
            j = min(take, len(self._music_up) - k)
            scale_frames(m[:j], self._music_up[k : k + j])
        block += m
