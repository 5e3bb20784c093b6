"""The commands that make a session heard: ``timeline``, ``export`` and ``play``."""

from __future__ import annotations

import shlex
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from voicecoach.cli.context import (
    NEXT,
    ProgressLine,
    current_env,
    describe_recommendation,
    echo,
    prepare_session,
    printable,
    resolve,
    session_phrases,
    show_progress,
)
from voicecoach.cli.options import loudness_option, music_options, override_options, quiet_option
from voicecoach.cli.timeline_table import clock, format_table
from voicecoach.encode.chapters import chapters
from voicecoach.encode.formats import FORMATS
from voicecoach.errors import InputError
from voicecoach.plan.phrases import PhraseBook, default_phrases
from voicecoach.plan.preset import Preset
from voicecoach.plan.preset_files import DEFAULT_PRESET
from voicecoach.plan.schedule import DEFAULT_SAMPLERATE
from voicecoach.plan.timeline import Timeline

if TYPE_CHECKING:  # numpy and PortAudio: only when playing
    from voicecoach.live.player import PlayResult

T = TypeVar("T")


@click.command()
@click.argument("preset", default=DEFAULT_PRESET)
@override_options
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
@quiet_option
def timeline(preset: str, as_json: bool, **overrides) -> None:
    """Print the plan of a session: every segment and what is heard."""
    p = resolve(preset, overrides)[0]
    book = session_phrases(p)
    if p.sounds:  # its own sound files: their lengths need decoding
        plan = prepare_session(p).timeline
    else:  # spoken lengths only: no numpy on a warm cache
        from voicecoach.cli.context import voice_dir
        from voicecoach.cues.timing import cue_bank, spoken_timeline

        env = current_env()
        with (
            cue_bank(p, env.cache_dir, voice_dir=voice_dir(env)) as bank,
            ProgressLine("cues synthesised", counted=True) as progress,
        ):
            plan = spoken_timeline(p, bank, progress=progress, phrases=book)
    echo(plan.to_json() if as_json else format_table(plan, book), nl=as_json)


@click.command()
@click.argument("preset", default=DEFAULT_PRESET)
@override_options
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=str),
    required=True,
    help="File to write; the format comes from its extension. '-' streams to "
    "standard output (needs --format); a FIFO or character device is written "
    "through, a symlink's target is replaced. Streams carry no tags or chapters "
    "(a WAV to standard output redirected to a file does).",
)
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default=None, help="Default: from the extension.")
@click.option("--force", is_flag=True, help="Replace an existing read-only file.")
@click.option("--samplerate", type=int, default=DEFAULT_SAMPLERATE, show_default=True)
@click.option("--channels", type=click.IntRange(1, 2), default=1, show_default=True)
@click.option("--float", "as_float", is_flag=True, help="32-bit float WAV instead of 16-bit.")
@click.option(
    "--stems",
    is_flag=True,
    help="Also write NAME.voice.EXT and NAME.ticks.EXT (and NAME.music.EXT with --music): they sum to the mix.",
)
@click.option(
    "--cue",
    "cue_sheet",
    is_flag=True,
    help="Also write a NAME.cue chapter sheet (CD-style: tools that split by it expect 44.1 kHz stereo).",
)
@music_options
@loudness_option
@quiet_option
def export(
    preset: str,
    output: str,
    fmt: str | None,
    force: bool,
    samplerate: int,
    channels: int,
    as_float: bool,
    stems: bool,
    cue_sheet: bool,
    music: Path | None,
    shuffle: bool,
    loudness: float | None,
    **overrides,
) -> None:
    """Write the session as an audio file, with chapters, for a phone."""
    from voicecoach.audio.session import tagged_loudness
    from voicecoach.encode.formats import ExportOptions, check_stream, format_for, writer
    from voicecoach.encode.targets import STDOUT, check_stdout, resolve_target
    from voicecoach.encode.writer import export as write

    env = current_env()
    to_stdout = output == STDOUT
    if to_stdout and fmt is None:
        streamed = ", ".join(sorted(f for f in FORMATS if writer(f).streams))
        raise InputError(f"--format: required with -o - (standard output): one of {streamed}")
    # An unusable target fails before the slow part (synthesis); it reads the
    # name as typed (a Path drops a trailing slash and makes "" into ".").
    target = resolve_target(output, force=force)
    path = Path(output)
    chosen = format_for(path, fmt)
    check_stdout(target, stems, cue_sheet)
    if not target.seekable:
        check_stream(chosen, target.name)
    if not 8000 <= samplerate <= 192000:
        raise InputError(f"--samplerate: must be between 8000 and 192000, got {samplerate}")
    p = resolve(preset, overrides)[0]
    session, stream = _loud_session(p, music, shuffle, loudness, samplerate, channels)
    bed = session.music_bed(stream.read_into) if stream is not None else None
    options = ExportOptions(
        format=chosen,
        samplerate=samplerate,
        channels=channels,
        subtype="FLOAT" if as_float else None,
        stems=stems,
        cue_sheet=cue_sheet,
        title=session_title(p, session.phrases),
        preset=p.name,
        album=p.title,
        date=env.now().date().isoformat(),
        track=_program_track() if preset == NEXT else None,
        # WAV carries no loudness tags, and a stream is not tagged: nothing to measure
        loudness=tagged_loudness(session, stream is not None) if chosen != "wav" and target.seekable else None,
        phrases=session.phrases,
    )
    total = session.timeline.frames
    label = f"Writing {printable(path.name)}"
    with click.progressbar(length=total, label=label, file=env.stderr, hidden=not show_progress()) as bar:

        def progress(frames: int) -> None:
            bar.update(frames - bar.pos)

        written = write(session.mixer, session.timeline, path, options, progress, bed, force=force)
    minutes = total / session.timeline.samplerate / 60
    say = (lambda line: click.echo(printable(line), file=env.stderr)) if to_stdout else echo
    for name in written:
        say(f"wrote {'standard output' if to_stdout else name}")
    say(f"{p.title}: {minutes:.1f} min, {len(chapters(session.timeline, session.phrases))} chapters")


@click.command()
@click.argument("preset", default=DEFAULT_PRESET)
@override_options
@click.option("--device", default=None, help="Output device: index or part of its name.")
@click.option("--latency", default=None, help="Output latency in seconds, or low/high (default 0.2: suits Bluetooth).")
@click.option("--no-mpris", is_flag=True, help="Do not offer the session to headset buttons and media keys (MPRIS).")
@click.option(
    "--listen",
    is_flag=True,
    help="Take voice commands ('coach, pause') and say perfect reps aloud when asked (the voice-control extra).",
)
@click.option("--mic", default=None, help="With --listen: the microphone, index or part of its name.")
@click.option("--wake", default=None, help="With --listen: the word before every command (default: coach).")
@music_options
@loudness_option
@quiet_option
def play(
    preset: str,
    device: str | None,
    latency: str,
    music: Path | None,
    shuffle: bool,
    no_mpris: bool,
    listen: bool,
    mic: str | None,
    wake: str | None,
    loudness: float | None,
    **overrides,
) -> None:
    """Play a session live: space pauses, n skips to the next set, b starts the set
    again, q quits; headset buttons and media keys do the same (MPRIS), and with
    --listen so does the voice ("coach, pause", "coach, next", "coach, how many left")."""
    env = current_env()
    listing = _started(lambda: (backend := env.audio_backend(), backend.devices()))
    from voicecoach.cli.console import StatusLine
    from voicecoach.cli.signals import Signalled, StopSignal
    from voicecoach.live.mpris import Track, open_mpris
    from voicecoach.live.native_noise import NativeNoise
    from voicecoach.live.playback import DeviceLost, Hooks, PlayInterrupted, clip_texts
    from voicecoach.live.playback import play as play_live
    from voicecoach.live.player import DEFAULT_LATENCY, parse_latency, resolve_device

    p, recommendation = resolve(preset, overrides)
    rule = recommendation.rule if recommendation is not None else None
    lat = parse_latency(latency) if latency is not None else DEFAULT_LATENCY
    backend, found = listing()
    dev = resolve_device(device, found)  # before the slow part
    voice = _voice_control(listen, mic, wake, env.listener)
    also = clip_texts(p.sets, p.reps if voice is not None else 0, phrases=session_phrases(p))
    session, tracks = _loud_session(p, music, shuffle, loudness, also=also)
    track = Track(p.title, p.name, session.timeline.frames, session.timeline.samplerate, session.phrases)
    mpris = open_mpris(track, not no_mpris)
    controls = env.controls + ((mpris,) if mpris is not None else ()) + ((voice,) if voice is not None else ())
    counts = voice.answers if voice is not None else {}
    noise = NativeNoise(env.stderr)
    terminal: list[IO] = [env.stderr]  # PortAudio's own lines are kept off it while it plays
    status = StatusLine(env.stderr, env.interactive, session.phrases)

    def notice(text: str) -> None:
        status.clear()
        click.echo(printable(f"voicecoach: {text}", getattr(terminal[0], "encoding", None)), file=terminal[0])

    started = env.now()
    stop_signal = StopSignal()
    with env.keys(env.stdin, env.interactive) as keys, noise as term:
        terminal[0] = status.stream = term
        hooks = Hooks(keys=keys.poll, status=status.draw, notice=notice, clock=env.clock, sleep=env.sleep)
        try:
            result = play_live(
                session,
                backend,
                device=dev,
                latency=lat,
                music=tracks,
                hooks=hooks,
                controls=(*controls, stop_signal),
                listening=voice is not None,
            )
        except (PlayInterrupted, DeviceLost) as stop:
            status.clear()  # Ctrl-C or the device gone for good: the sets done still count
            _record_play(p, session.timeline, stop.result, started, rule, counts, ask=False, quiet=True)
            raise
        finally:
            status.clear()
    terminal[0] = status.stream = env.stderr
    heard = clock(result.position, session.timeline.samplerate)
    how = "finished" if result.completed else f"stopped at {heard}"
    recovered = f"; device recovered {result.recoveries}x" if result.recoveries else ""
    echo(f"{p.title}: {how}; underruns: {result.underruns}{recovered}")
    if voice is not None and voice.stopped is not None:
        notice(f"listening stopped: {voice.stopped}")
    ask = env.interactive and stop_signal.received is None
    _record_play(p, session.timeline, result, started, rule, counts, ask=ask)
    if stop_signal.received is not None:  # ended like 'q', then exits as signalled
        raise Signalled(stop_signal.received)


def _started(task: Callable[[], T]) -> Callable[[], T]:
    """``task`` run on a thread from now on; the call returned waits for its result (or raises its error).

    PortAudio's start-up scans the sound system in C, without the GIL: begun first, it overlaps the imports of
    the player and the loading of the preset instead of following them.
    """
    done: list[tuple[bool, Any]] = []

    def run() -> None:
        try:
            done.append((True, task()))
        except BaseException as exc:  # handed to the caller, who raises it
            done.append((False, exc))

    thread = threading.Thread(target=run, name="voicecoach-devices", daemon=True)
    thread.start()

    def result() -> T:
        thread.join()
        ok, value = done[0]
        if not ok:
            raise value
        return value

    return result


def _loud_session(
    preset: Preset,
    music: Path | None,
    shuffle: bool,
    loudness: float | None,
    samplerate: int = DEFAULT_SAMPLERATE,
    channels: int = 1,
    also: Sequence[str] = (),
):
    """The session at ``--loudness`` (else spoken word's for its width) and its music stream, if any;
    ``also`` is synthesised with its cues (the player's messages)."""
    from voicecoach.audio.normalise import default_target
    from voicecoach.audio.session import normalise

    session = prepare_session(preset, samplerate, channels, also)
    stream = session.music(music, shuffle) if music is not None else None
    target = default_target(channels) if loudness is None else loudness
    with ProgressLine("measuring loudness") as progress:
        return normalise(session, target, stream, current_env().cache_dir, progress), stream


def session_title(preset: Preset, phrases: PhraseBook | None = None) -> str:
    """The title of a session as played: ``Straight-leg lifts \u2014 3 \u00d7 12``, in its language."""
    kind = "title_hold" if preset.hold is not None else "title_each" if preset.sides == "each" else "title_reps"
    seconds = f"{preset.hold or 0:g}"
    return (phrases or default_phrases()).text(
        kind, title=preset.title, sets=preset.sets, reps=preset.reps, seconds=seconds
    )


def _program_track() -> int:
    """Today's session's number in the training program: sessions logged + 1."""
    from voicecoach.training import coach as training

    env = current_env()
    with training.open_history(env.data_dir, env.now(), env.stderr) as history:
        return len(history.workouts()) + 1


def log_hint(name: str, planned: list[int]) -> str:
    """The command that logs this session later, quoted so it can be pasted
    into a shell whatever the preset's name."""
    return f"Log your perfect reps later: voicecoach log {shlex.quote(name)} " + " ".join(str(n) for n in planned)


def _voice_control(listen: bool, mic: str | None, wake: str | None, listener=None):
    """``--listen``'s control, or None; the recogniser is an extra: without it, one line
    saying how to get it (exit 1, as for a missing speech engine: the command is right,
    the installation lacks a part)."""
    from importlib.util import find_spec

    from voicecoach.errors import RuntimeFailure

    if not listen:
        if mic is not None or wake is not None:
            raise InputError(f"{'--mic' if mic is not None else '--wake'}: only with --listen")
        return None
    if wake is not None and not wake.isalpha():
        raise InputError(f"--wake: expected one word, got {wake!r}")
    if listener is None and (find_spec("pocketsphinx") is None or find_spec("voicecoach.listen") is None):
        raise RuntimeFailure(
            "--listen needs the voice-control extra: pip install 'voicecoach[voice-control]' "
            "(scripts/setup installs it)"
        )
    from functools import partial
    from importlib import import_module

    from voicecoach.live.voice_control import VoiceControl

    if listener is None:
        listener = import_module("voicecoach.listen.listener").Listener
        mode = import_module("voicecoach.listen.heard").Mode
    else:
        mode = str
    device = int(mic) if mic is not None and mic.isdigit() else mic
    return VoiceControl(partial(listener, device=device, wake=(wake or "coach").lower()), mode)


def _record_play(
    preset: Preset,
    timeline: Timeline,
    result: PlayResult,
    started: datetime,
    rule: str | None,
    heard: Mapping[int, int | None],
    ask: bool,
    quiet=False,
) -> None:
    """Put the session in the training log, as it happened (sets skipped,
    cut short, not reached), with the perfect reps ``heard`` by voice; on a
    terminal, ask for those not heard. A session ended before its first rep
    is not a training day: nothing is logged (and said so, unless ``quiet``:
    an error is already being reported)."""
    from voicecoach.training import coach as training

    env = current_env()
    record = training.played_record(preset, timeline, result.position, result.completed, started, result.jumps, rule)
    record = training.with_counts(record, heard)
    if not record.done_sets:
        if not quiet:
            echo("Nothing logged: not one rep was played.")
        return
    with training.open_history(env.data_dir, env.now(), env.stderr) as history:
        workout_id = history.add(record)
        if record.perfect_total is not None:  # every count said aloud
            answers = [s.perfect or 0 for s in record.done_sets]
        elif not ask:
            echo(log_hint(preset.name, [s.reps_played if s.perfect is None else s.perfect for s in record.done_sets]))
            return
        else:
            typed = training.ask_perfect_reps(record, env.stdin, env.stderr, session_phrases(preset))
            if typed is None:
                return
            history.set_perfect(workout_id, typed)
            answers = typed
        recommendation = training.todays_recommendation(history, env.now(), session_phrases(preset))
    echo(f"Logged {sum(answers)} perfect reps ({' '.join(map(str, answers))}).")
    echo(describe_recommendation(recommendation, upcoming=True, language=preset.language))
