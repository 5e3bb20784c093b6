"""Presets: what a session is made of, parsed from TOML and validated.

A preset is plain TOML a user can write by hand (see the README). Parsing
checks every key and value and reports the first problem as one line naming
the file, the key and the value (:class:`~voicecoach.errors.PresetError`).
:func:`dump_preset` writes the canonical TOML, which loads back equal.
Finding and reading preset files is :mod:`voicecoach.plan.preset_files`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import tomli_w

from voicecoach.common.files import MIB, UnusableFile, regular_file
from voicecoach.errors import PresetError, TempoError
from voicecoach.plan.checks import MAX_CUE_CHARS, MAX_LIST_ITEMS, Checker
from voicecoach.plan.kinds import MOVING_KINDS, EngineKind, SegmentKind, Side
from voicecoach.plan.metronome import SHIPPED_SOUNDS, SOUND_SECONDS
from voicecoach.plan.mix import LEVEL_RANGE_DB, MAX_ATTACK, MAX_DEPTH_DB, MAX_RELEASE, Duck, Levels
from voicecoach.plan.phrases import MAX_COUNT
from voicecoach.plan.tempo import Tempo, parse_tempo

MAX_SESSION_SECONDS = 4 * 3600
SPEECH_SECONDS_PER_CHAR = 0.1
"""Over-estimate of speech per character at 175 words a minute (espeak-ng takes about 0.07)."""
MAX_SOUND_BYTES = 64 * MIB
"""A [sounds] file is a short sound (5 s at most); bigger files are not read."""
_K = SegmentKind
PHASE_ORDER: dict[SegmentKind, tuple[SegmentKind, ...]] = {
    _K.CONCENTRIC: (_K.CONCENTRIC, _K.TOP, _K.ECCENTRIC, _K.BOTTOM),
    _K.ECCENTRIC: (_K.ECCENTRIC, _K.BOTTOM, _K.CONCENTRIC, _K.TOP),
}


@dataclass(frozen=True)
class WarmupStep:
    """One warm-up step: ``say`` at its start, then ``count`` rounds counted
    aloud evenly over ``seconds``."""

    say: str
    seconds: float
    count: int = 0


@dataclass(frozen=True)
class Cues:
    """What the coach says. Phase cues are lists of variants, longest first:
    the scheduler uses the first that fits its gap."""

    intro: tuple[str, ...] = ()
    concentric: tuple[str, ...] = ()
    top: tuple[str, ...] = ()
    eccentric: tuple[str, ...] = ()
    bottom: tuple[str, ...] = ()
    hold: tuple[str, ...] = ()
    reminders: tuple[str, ...] = ()
    outro: tuple[str, ...] = ()
    halfway_rep: int | None = None
    last_rep: bool = True


OVERRIDE_KEYS = {k: k for k in ("sets", "reps", "tempo", "rest")} | {
    k: f"speech.{k}" for k in ("voice", "rate", "engine", "language")
}
OVERRIDE_KEYS |= {"voice_volume": "mix.voice", "tick_volume": "mix.ticks", "music_volume": "mix.music"}
""":meth:`Preset.with_overrides` keyword -> the preset key it sets; the option a user
types is the keyword with dashes (``voice_volume``: ``--voice-volume``)."""

SOUND_ROLES = (*SOUND_SECONDS, "rest_end")
"""``[sounds]`` keys: replace a built-in sound, or ``rest_end``: a sound at the end of each rest."""


@dataclass(frozen=True)
class Preset:
    """A validated session description. Times are seconds here; the
    scheduler converts them to frames once."""

    name: str
    title: str
    exercise: str
    variation: str = ""
    description: str = ""
    sets: int = 3
    reps: int = 10
    rest: float = 60.0
    tempo: Tempo | None = None
    hold: float | None = None
    start: SegmentKind = SegmentKind.CONCENTRIC
    sides: Side = Side.NONE
    side_names: tuple[str, str] | None = None  # None: the phrase book's
    count: tuple[SegmentKind, ...] = (SegmentKind.ECCENTRIC,)
    voice: str | None = None
    rate: int | None = None
    engine: EngineKind | None = None
    language: str | None = None  # None: the locale's
    cues: Cues = field(default_factory=Cues)
    warmup: tuple[WarmupStep, ...] = ()
    levels: Levels = field(default_factory=Levels)
    duck: Duck = field(default_factory=Duck)
    sounds: tuple[tuple[str, str], ...] = ()  # (role, shipped name or absolute path)
    source: str = field(default="", compare=False)  # the file it came from, for messages

    def sound(self, role: str) -> str | None:
        return dict(self.sounds).get(role)

    @property
    def phases(self) -> tuple[SegmentKind, ...]:
        """Phases of one rep in the order performed."""
        return (SegmentKind.HOLD,) if self.hold is not None else PHASE_ORDER[self.start]

    @property
    def reps_per_set(self) -> int:
        """Reps performed in a set: ``each`` works both sides in turn."""
        return self.reps * 2 if self.sides == Side.EACH else self.reps

    @property
    def halfway_rep(self) -> int | None:
        """The rep announced as halfway (1-based), or None."""
        if self.cues.halfway_rep is not None:
            return self.cues.halfway_rep or None
        n = self.reps_per_set
        return n // 2 + 1 if n >= 6 else None

    def speech_seconds(self) -> float:
        """A generous estimate of the speech that lengthens the session (the
        intro, each warm-up step's text, the outro): the true lengths are only
        known after synthesis, so validation over-estimates rather than pass
        a preset the export would refuse."""
        scale = 175 / (self.rate or 175)
        texts = (self.title, *self.cues.intro, *(s.say for s in self.warmup), *self.cues.outro)
        return sum(SPEECH_SECONDS_PER_CHAR * len(t) * scale + 0.5 for t in texts)

    def work_seconds(self) -> float:
        """The session length as validation sees it, for the 4-hour limit:
        the work, the rests, the warm-up and the speech estimate."""
        rep = self.tempo.seconds if self.tempo is not None else self.hold or 0.0
        warm = sum(s.seconds for s in self.warmup)
        return warm + self.sets * self.reps_per_set * rep + (self.sets - 1) * self.rest + self.speech_seconds()

    def with_overrides(
        self,
        *,
        sets: int | None = None,
        reps: int | None = None,
        tempo: str | None = None,
        rest: float | None = None,
        voice: str | None = None,
        rate: int | None = None,
        engine: str | None = None,
        language: str | None = None,
        voice_volume: float | None = None,
        tick_volume: float | None = None,
        music_volume: float | None = None,
    ) -> Preset:
        """This preset with command-line overrides applied and re-validated;
        a bad value is reported under the option that gave it."""
        if tempo is not None and self.hold is not None:
            problem = f"preset {self.name} is an isometric hold of {self.hold:g} s; it has no tempo"
            raise PresetError("", "--tempo", problem)
        given = {k: v for k, v in locals().items() if k in OVERRIDE_KEYS}  # the keywords above
        data = preset_to_dict(self)  # fresh tables: safe to fill in
        options = {}
        for keyword, path in OVERRIDE_KEYS.items():
            if given[keyword] is not None:
                table, _, key = path.rpartition(".")
                (data.setdefault(table, {}) if table else data)[key] = given[keyword]
                options[path] = "--" + keyword.replace("_", "-")
        changed = preset_from_dict(data, source="command line", name=self.name, options=options)
        return replace(changed, source=self.source)


_TOP_KEYS: tuple[str, ...] = ("name", "title", "exercise", "variation", "description", "sets", "reps", "rest")
_TOP_KEYS += ("tempo", "hold", "start", "sides", "side_names", "count", "speech", "cues", "warmup", "mix", "sounds")
_CUE_KEYS = tuple(f.name for f in fields(Cues))
CUE_TEXTS = _CUE_KEYS[:8]
"""The ``[cues]`` keys that hold words (the rest are numbers and switches)."""
_SPEECH_KEYS = ("voice", "rate", "engine", "language")
_WARMUP_KEYS = ("say", "seconds", "count")
_LEVEL_KEYS = {"voice": "voice_db", "ticks": "tick_db", "music": "music_db"}
_DUCK_KEYS = {  # key -> (Duck field, upper bound, unit)
    "duck_depth": ("depth_db", MAX_DEPTH_DB, "dB"),
    "duck_attack": ("attack", MAX_ATTACK, "seconds"),
    "duck_release": ("release", MAX_RELEASE, "seconds"),
}
_MIX_KEYS = (*_LEVEL_KEYS, *_DUCK_KEYS)


def _mix(c: Checker, table: dict) -> tuple[Levels, Duck]:
    """``[mix]``: levels in dB and how the music ducks under the voice."""
    c.unknown(table, _MIX_KEYS, "mix.")
    lo, hi = LEVEL_RANGE_DB
    levels = {
        name: c.seconds(table, f"mix.{k}", lo, hi, default=getattr(Levels, name), unit="dB")
        for k, name in _LEVEL_KEYS.items()
    }
    duck = {
        name: c.seconds(table, f"mix.{k}", 0, top, default=getattr(Duck, name), unit=unit)
        for k, (name, top, unit) in _DUCK_KEYS.items()
    }
    return Levels(**levels), Duck(**duck)


def _sounds(c: Checker, table: dict, base_dir: Path | None) -> tuple[tuple[str, str], ...]:
    """``[sounds]``: a shipped sound's name, or a file (relative to the preset's folder)."""
    c.unknown(table, SOUND_ROLES, "sounds.")
    out = []
    for role in SOUND_ROLES:
        value = c.text(table, f"sounds.{role}", default=None)
        if value is None:
            continue
        if value not in SHIPPED_SOUNDS:
            path = Path(value).expanduser()
            if not path.is_absolute():
                path = (base_dir or Path.cwd()) / path
            try:
                regular_file(path, MAX_SOUND_BYTES)
            except UnusableFile as exc:
                problem = f"{path} {exc.problem}"
                if exc.problem == "no such file":
                    problem = f"no such sound file ({path}); shipped sounds: {', '.join(SHIPPED_SOUNDS)}"
                raise c.fail(f"sounds.{role}", problem, value) from None
            value = str(path.resolve())
        out.append((role, value))
    return tuple(out)


def _movement(c: Checker, data: dict) -> dict[str, Any]:
    """How a rep moves: its tempo or hold, the phase it starts with, its sides, the phases counted."""
    if ("tempo" in data) == ("hold" in data):
        raise c.fail("tempo", "give exactly one of 'tempo' (moving reps) or 'hold' (isometric seconds)")
    tempo = hold = None
    if "tempo" in data:
        raw = data["tempo"]
        if not isinstance(raw, str):
            raise c.fail("tempo", "must be a string like '3-1-2-1'", raw)
        try:
            tempo = parse_tempo(raw)
        except TempoError as exc:
            raise c.fail("tempo", str(exc)) from None
    else:
        hold = c.seconds(data, "hold", 1, 600)
    start = SegmentKind(c.choice(data, "start", tuple(PHASE_ORDER), SegmentKind.CONCENTRIC))
    sides = Side(c.choice(data, "sides", tuple(Side), Side.NONE))
    side_names = c.texts(data, "side_names")
    for i, side in enumerate(side_names):
        if len(side) > 40:
            raise c.fail(f"side_names[{i}]", "is too long (at most 40 characters)", side[:40] + "...")
    if "side_names" in data and len(side_names) != 2:
        raise c.fail("side_names", "must name exactly two sides", list(side_names))
    raw = data.get("count", [SegmentKind.ECCENTRIC])
    if not isinstance(raw, list) or any(p not in MOVING_KINDS for p in raw):
        raise c.fail("count", f"must be a list of phases counted aloud, from {', '.join(MOVING_KINDS)}", raw)
    count = tuple(dict.fromkeys(SegmentKind(p) for p in raw))
    names = (side_names[0], side_names[1]) if side_names else None
    return {"tempo": tempo, "hold": hold, "start": start, "sides": sides, "side_names": names, "count": count}


def _speech(c: Checker, table: dict) -> dict[str, Any]:
    """``[speech]``: the voice, its rate, the engine and the language, each None when not given."""
    c.unknown(table, _SPEECH_KEYS, "speech.")
    voice = c.text(table, "speech.voice", default=None)
    rate = c.integer(table, "speech.rate", 80, 450, default=None)
    engine = c.choice(table, "speech.engine", tuple(EngineKind), "auto") if "engine" in table else None
    language = c.text(table, "speech.language", default=None, max_len=16)
    if language is not None and not re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*", language):
        raise c.fail("speech.language", "must be a language code such as de, fr, es or en", language)
    return {"voice": voice, "rate": rate, "engine": engine and EngineKind(engine), "language": language}


def _cues(c: Checker, table: dict, per_set: int) -> Cues:
    c.unknown(table, _CUE_KEYS, "cues.")
    halfway = c.integer(table, "cues.halfway_rep", 0, per_set, default=None)
    last_rep = c.boolean(table, "cues.last_rep", True)
    return Cues(halfway_rep=halfway, last_rep=last_rep, **{k: c.texts(table, f"cues.{k}") for k in _CUE_KEYS[:8]})


def _warmup(c: Checker, steps: Any) -> tuple[WarmupStep, ...]:
    if not isinstance(steps, list):
        raise c.fail("warmup", "must be a list of [[warmup]] tables", steps)
    if len(steps) > MAX_LIST_ITEMS:
        raise c.fail("warmup", f"has {len(steps)} steps; at most {MAX_LIST_ITEMS}")
    out = []
    for i, step in enumerate(steps):
        path = f"warmup[{i + 1}]"
        if not isinstance(step, dict):
            raise c.fail(path, "must be a table with 'say' and 'seconds'", step)
        c.unknown(step, _WARMUP_KEYS, f"{path}.")
        say = c.text(step, f"{path}.say", max_len=MAX_CUE_CHARS, spoken=True)
        seconds = c.seconds(step, f"{path}.seconds", 1, 600)
        out.append(WarmupStep(say, seconds, c.integer(step, f"{path}.count", 0, MAX_COUNT, default=0)))
    return tuple(out)


def preset_from_dict(
    data: Any,
    source: str,
    name: str | None = None,
    options: Mapping[str, str] | None = None,
    base_dir: Path | None = None,
) -> Preset:
    """Validate a parsed TOML document and build a :class:`Preset`; the first
    problem is a :class:`PresetError` naming ``source``, the key and the value."""
    c = Checker(source, options)
    if not isinstance(data, dict):
        raise c.fail("", "a preset must be a TOML table", data)
    c.unknown(data, _TOP_KEYS)
    values: dict[str, Any] = {  # checked in this order: the first problem is the one reported
        "name": c.text(data, "name", default=name or "preset", max_len=64),
        "title": c.text(data, "title", max_len=120, spoken=True),
        "exercise": c.text(data, "exercise", max_len=120),
        "variation": c.text(data, "variation", default="", empty=True, max_len=120),
        "description": c.text(data, "description", default="", empty=True, max_len=2000),
        "sets": c.integer(data, "sets", 1, 20),
        "reps": c.integer(data, "reps", 1, 200),
        "rest": c.seconds(data, "rest", 5, 1800, default=60.0),
        **_movement(c, data),
        **_speech(c, c.table(data, "speech")),
    }
    per_set = values["reps"] * (2 if values["sides"] == Side.EACH else 1)
    values["cues"] = _cues(c, c.table(data, "cues"), per_set)
    values["warmup"] = _warmup(c, data.get("warmup", []))
    values["levels"], values["duck"] = _mix(c, c.table(data, "mix"))
    values["sounds"] = _sounds(c, c.table(data, "sounds"), base_dir)
    preset = Preset(**values, source=source)
    if preset.work_seconds() > MAX_SESSION_SECONDS:
        key = next((k for k in ("sets", "reps", "tempo", "rest") if k in c.options), "sets")  # one typed
        problem = f"the session would last {preset.work_seconds() / 3600:.1f} hours; "
        problem += f"the limit is {MAX_SESSION_SECONDS // 3600} hours"
        raise c.fail(key, problem, data.get(key, values["sets"]))
    return preset


def preset_to_dict(preset: Preset) -> dict:
    """The canonical TOML document of ``preset`` (defaults included)."""
    data: dict[str, Any] = {k: getattr(preset, k) for k in _TOP_KEYS[:8]}
    if preset.tempo is not None:
        data["tempo"] = str(preset.tempo)
    else:
        data["hold"] = preset.hold
    data.update(start=str(preset.start), sides=str(preset.sides))
    if preset.side_names is not None:
        data["side_names"] = list(preset.side_names)
    data["count"] = [str(p) for p in preset.count]
    speech = {"voice": preset.voice, "rate": preset.rate, "engine": preset.engine and str(preset.engine)}
    speech["language"] = preset.language
    if any(v is not None for v in speech.values()):
        data["speech"] = {k: v for k, v in speech.items() if v is not None}
    cues: dict[str, Any] = {k: list(getattr(preset.cues, k)) for k in _CUE_KEYS[:8]}
    if preset.cues.halfway_rep is not None:
        cues["halfway_rep"] = preset.cues.halfway_rep
    cues["last_rep"] = preset.cues.last_rep
    data["cues"] = cues
    if preset.warmup:
        data["warmup"] = [{"say": s.say, "seconds": s.seconds, "count": s.count} for s in preset.warmup]
    data["mix"] = {k: getattr(preset.levels, name) for k, name in _LEVEL_KEYS.items()}
    data["mix"].update({k: getattr(preset.duck, name) for k, (name, _, _) in _DUCK_KEYS.items()})
    if preset.sounds:
        data["sounds"] = dict(preset.sounds)
    return data


def dump_preset(preset: Preset) -> str:
    """TOML text a user can save, edit and load back unchanged."""
    return tomli_w.dumps(preset_to_dict(preset), multiline_strings=False)


def parse_preset(text: str, source: str, name: str | None = None, base_dir: Path | None = None) -> Preset:
    """Parse and validate TOML ``text``; ``source`` names it in errors and
    ``base_dir`` anchors relative sound paths."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PresetError(source, None, f"not valid TOML: {exc}") from None
    except RecursionError:
        raise PresetError(source, None, "not valid TOML: nested too deeply") from None
    return preset_from_dict(data, source, name=name, base_dir=base_dir)
