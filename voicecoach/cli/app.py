"""The command line: a thin layer over the core.

Parses options, builds the session, and is the one place where errors become
messages and exit codes (0 ok, 2 bad input, 1 runtime failure, 130
interrupted). Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import contextlib
import json
import sys
import traceback
from dataclasses import replace
from pathlib import Path

import click

from voicecoach import __version__
from voicecoach.cli.environment import Environment
from voicecoach.cli.timeline_table import clock, format_table
from voicecoach.encode.chapters import chapters
from voicecoach.encode.formats import FORMATS
from voicecoach.errors import AudioDeviceError, InputError, VoicecoachError
from voicecoach.plan.preset import Preset, dump_preset
from voicecoach.plan.preset_files import (
    DEFAULT_PRESET,
    builtin_names,
    load_file,
    load_preset,
    user_names,
    user_preset_dir,
)
from voicecoach.plan.schedule import DEFAULT_SAMPLERATE, build_timeline


def _env() -> Environment:
    return click.get_current_context().find_root().obj


def _echo(text: str = "", nl: bool = True) -> None:
    click.echo(text, file=_env().stdout, nl=nl)


def override_options(func):
    """``--sets --reps --tempo --rest --voice --rate`` on play, export and timeline."""
    for decl, kind, text in reversed([
        ("--sets", int, "Number of sets."),
        ("--reps", int, "Reps per set."),
        ("--tempo", str, "Lifting tempo eccentric-bottom-concentric-top, e.g. 3-1-2-1."),
        ("--rest", float, "Seconds of rest between sets."),
        ("--voice", str, "Speech voice (see 'voicecoach voices')."),
        ("--rate", int, "Speaking rate in words per minute."),
    ]):
        func = click.option(decl, type=kind, default=None, help=text)(func)
    return func


NEXT = "next"   # the preset name that means today's session by the method


def music_options(func):
    """``--music --shuffle`` and the levels, on play and export."""
    for decl, kind, text in reversed([
        ("--voice-volume", float, "Voice level in dB (default 0)."),
        ("--tick-volume", float, "Metronome level in dB (default 0)."),
        ("--music-volume", float, "Music level in dB (default -6)."),
    ]):
        func = click.option(decl, type=kind, default=None, help=text)(func)
    func = click.option("--shuffle", is_flag=True, help="Play a music folder in random order.")(func)
    func = click.option("--music", type=click.Path(path_type=Path), default=None,
                        help="Your music under the coach: a file, or a folder played as a "
                             "looping playlist; it ducks under the voice.")(func)
    return func


def resolve_preset(spec: str, overrides: dict) -> Preset:
    """A preset name or file, or ``next``: today's session by the method."""
    env = _env()
    if spec == NEXT:
        from voicecoach.training import coach as training
        with training.open_history(env.data_dir, env.now(), env.stderr) as history:
            plan = training.todays_recommendation(history, env.now())
        click.echo(_describe_recommendation(plan), file=env.stderr)
        preset = training.recommended_preset(plan, env.config_dir)
    else:
        preset = load_preset(spec, env.config_dir)
    if any(v is not None for v in overrides.values()):
        preset = preset.with_overrides(**overrides)
    return preset


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voicecoach")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def cli(debug: bool) -> None:
    """A voice and a metronome that guide your exercise sessions hands-free."""


@cli.command()
@click.argument("preset", default=DEFAULT_PRESET)
@override_options
@click.option("--json", "as_json", is_flag=True, help="Print the timeline as JSON.")
def timeline(preset: str, as_json: bool, **overrides) -> None:
    """Print the plan of a session: every segment and what is heard."""
    plan = prepare_session(resolve_preset(preset, overrides)).timeline
    _echo(plan.to_json() if as_json else format_table(plan), nl=as_json)


def prepare_session(preset: Preset, samplerate: int = DEFAULT_SAMPLERATE, channels: int = 1):
    """Synthesise or load every cue and build the session (the slow part)."""
    from voicecoach.audio.session import prepare
    return prepare(preset, _env().cache_dir, samplerate, channels)


@cli.command()
@click.argument("preset", default=DEFAULT_PRESET)
@override_options
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="File to write; the format comes from its extension.")
@click.option("--format", "fmt", type=click.Choice(sorted(FORMATS)), default=None,
              help="wav, flac, ogg, opus or mp3 (default: from the extension).")
@click.option("--samplerate", type=int, default=DEFAULT_SAMPLERATE, show_default=True)
@click.option("--channels", type=click.IntRange(1, 2), default=1, show_default=True)
@click.option("--float", "as_float", is_flag=True, help="32-bit float WAV instead of 16-bit.")
@click.option("--stems", is_flag=True, help="Also write NAME.voice.EXT and NAME.ticks.EXT.")
@click.option("--cue", "cue_sheet", is_flag=True, help="Also write a NAME.cue chapter sheet.")
@music_options
def export(preset: str, output: Path, fmt: str | None, samplerate: int, channels: int,
           as_float: bool, stems: bool, cue_sheet: bool, music: Path | None, shuffle: bool,
           **overrides) -> None:
    """Write the session as an audio file, with chapters, for a phone."""
    from voicecoach.encode.formats import ExportOptions, format_for
    from voicecoach.encode.writer import export as write
    env = _env()
    chosen = format_for(output, fmt)
    options = ExportOptions(format=chosen, samplerate=samplerate, channels=channels,
                            subtype="FLOAT" if as_float else None, stems=stems,
                            cue_sheet=cue_sheet)
    p = resolve_preset(preset, overrides)
    options = replace(options, title=p.title, preset=p.name)
    if not 8000 <= samplerate <= 192000:
        raise InputError(f"--samplerate: must be between 8000 and 192000, got {samplerate}")
    session = prepare_session(p, samplerate, channels)
    bed = None
    if music is not None:
        from voicecoach.audio.bed import MusicBed
        from voicecoach.audio.session import music_stream
        tracks = music_stream(music, samplerate, channels, shuffle)
        bed = MusicBed(tracks.read_into, session.envelope(), p.levels.music, channels)
    total = session.timeline.frames
    if env.progress:
        with click.progressbar(length=total, label=f"Writing {output.name}", file=env.stderr) as bar:
            done = [0]

            def progress(frames: int) -> None:
                bar.update(frames - done[0])
                done[0] = frames
            written = write(session.mixer, session.timeline, output, options, progress, bed)
    else:
        written = write(session.mixer, session.timeline, output, options, bed=bed)
    minutes = total / session.timeline.samplerate / 60
    for path in written:
        _echo(f"wrote {path}")
    _echo(f"{p.title}: {minutes:.1f} min, {len(chapters(session.timeline))} chapters")


@cli.command()
@click.argument("preset", default=DEFAULT_PRESET)
@override_options
@click.option("--device", default=None, help="Output device: index or part of its name.")
@click.option("--latency", default=None,
              help="Output latency in seconds, or low/high (default 0.2: suits Bluetooth).")
@music_options
def play(preset: str, device: str | None, latency: str, music: Path | None, shuffle: bool,
         **overrides) -> None:
    """Play a session live: space pauses, n skips to the next set, q quits."""
    from voicecoach.cli.console import KeyReader, StatusLine
    from voicecoach.live.player import (
        DEFAULT_LATENCY,
        Player,
        SoundDeviceBackend,
        parse_latency,
        resolve_device,
    )
    from voicecoach.live.transport import Transport, make_clips
    env = _env()
    p = resolve_preset(preset, overrides)
    lat = parse_latency(latency) if latency is not None else DEFAULT_LATENCY
    dev = resolve_device(device)
    session = prepare_session(p)
    sr = session.timeline.samplerate
    clips = make_clips(session.bank.get, session.sounds, sr)   # the preset's own tick too
    feeder = bed = None
    if music is not None:
        from voicecoach.audio.bed import MusicBed
        from voicecoach.audio.session import music_stream
        from voicecoach.live.music_feed import MusicFeeder
        feeder = MusicFeeder(music_stream(music, sr, session.mixer.channels, shuffle)).start()
        bed = MusicBed(feeder.take, session.envelope(), p.levels.music, session.mixer.channels)
    transport = Transport(session.mixer, session.timeline, clips, bed=bed)
    status = StatusLine(env.stderr, env.interactive)

    def notice(text: str) -> None:
        status.clear()
        click.echo(f"voicecoach: {text}", file=env.stderr)

    started = env.now()
    with KeyReader(env.stdin, env.interactive) as keys:
        player = Player(transport, SoundDeviceBackend(), device=dev, latency=lat, keys=keys.poll,
                        status=status.draw, notice=notice, clock=env.clock)
        try:
            result = player.run()
        except KeyboardInterrupt:
            status.clear()
            _record_play(p, session.timeline, transport.position, False, started, ask=False)
            raise
        finally:
            status.clear()
            if feeder is not None:
                feeder.stop()
    if feeder is not None and feeder.error is not None:
        notice(f"the music stopped: {feeder.error}")
    heard = clock(result.position, sr)
    how = "finished" if result.completed else f"stopped at {heard}"
    _echo(f"{p.title}: {how}; underruns: {result.underruns}"
          + (f"; device recovered {result.recoveries}x" if result.recoveries else ""))
    _record_play(p, session.timeline, result.position, result.completed, started,
                 ask=env.interactive)


def _record_play(preset: Preset, timeline, position: int, completed: bool, started,
                 ask: bool) -> None:
    """Put the session in the training log; on a terminal, ask for perfect reps."""
    from voicecoach.training import coach as training
    env = _env()
    record = training.played_record(preset, timeline, position, completed, started)
    with training.open_history(env.data_dir, env.now(), env.stderr) as history:
        session_id = history.add(record)
        if not (ask and record.sets):
            if record.sets:
                _echo(f"Log your perfect reps later: voicecoach log {preset.name} "
                      + " ".join(str(s.planned) for s in record.sets))
            return
        answers = training.ask_perfect_reps(record, env.stdin, env.stderr)
        if answers is None:
            return
        history.set_perfect(session_id, answers)
        plan = training.todays_recommendation(history, env.now())
    _echo(f"Logged {sum(answers)} perfect reps ({' '.join(map(str, answers))}).")
    _echo(_describe_recommendation(plan, upcoming=True))


def _describe_recommendation(plan, upcoming: bool = False) -> str:
    title = load_preset(plan.preset).title
    head = "Next session" if upcoming else "Today"
    text = f"{head}: {title} ({plan.preset}), {plan.sets} sets of {plan.reps}. {plan.reason}"
    if plan.rest_advice and not upcoming:
        text += f" {plan.rest_advice}"
    return text


@cli.command("next")
def next_cmd() -> None:
    """Today's session by the method, and why ('voicecoach play next' plays it)."""
    from voicecoach.training import coach as training
    env = _env()
    with training.open_history(env.data_dir, env.now(), env.stderr) as history:
        plan = training.todays_recommendation(history, env.now())
    _echo(_describe_recommendation(plan))
    if plan.rest_today:
        _echo("It can wait for tomorrow; 'voicecoach play next' plays it anyway.")


@cli.command()
@click.argument("words", nargs=-1, metavar="[PRESET] REPS...")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day of the session (YYYY-MM-DD); default today.")
def log(words: tuple[str, ...], day) -> None:
    """Record the perfect reps of each set, e.g. 'voicecoach log leg-lifts 10 9 8'."""
    from voicecoach.training import coach as training
    env = _env()
    spec = DEFAULT_PRESET
    if words and not words[0].lstrip("-").isdigit():
        spec, words = words[0], words[1:]
    preset = load_preset(spec, env.config_dir)
    numbers = training.log_numbers(preset, list(words))
    now = env.now()
    when = day.date() if day else training.local_day(now)
    with training.open_history(env.data_dir, now, env.stderr) as history:
        record, existing = training.log_session(history, preset, numbers, when, now)
    what = "the session played" if existing else "a session"
    _echo(f"Logged {what} on {when.isoformat()}: {preset.name}, perfect reps "
          f"{' '.join(map(str, numbers))} of {preset.reps_per_set}.")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the log as JSON.")
def history(as_json: bool) -> None:
    """Your sessions so far, with a chart of perfect reps over time."""
    from voicecoach.cli import history_view
    from voicecoach.training import coach as training
    env = _env()
    with training.open_history(env.data_dir, env.now(), env.stderr) as log_:
        records = log_.sessions()
    if as_json:
        _echo(json.dumps(history_view.to_json(records), indent=2))
        return
    _echo(history_view.format_table(records), nl=False)
    chart = history_view.format_chart(records)
    if chart:
        _echo()
        _echo(chart, nl=False)


@cli.command()
@click.option("--quiet", is_flag=True, help="Print nothing; exit 1 when there is no output device.")
def devices(quiet: bool) -> None:
    """List audio output devices."""
    from voicecoach.live.player import list_devices
    found = list_devices()
    if not found:
        raise AudioDeviceError("no audio output device found; try 'voicecoach export'")
    if quiet:
        return
    for d in found:
        mark = "*" if d.default else " "
        _echo(f"{mark} {d.index:>3}  {d.name}  ({d.hostapi}, {d.channels} ch, {d.samplerate:g} Hz)")


@cli.command()
def voices() -> None:
    """List the speech engine's voices."""
    from voicecoach.cues.engine import SpeechEngine
    with SpeechEngine() as engine:
        for v in engine.voices():
            langs = ", ".join(v.languages)
            _echo(f"{v.id:<28} {v.name}" + (f"  [{langs}]" if langs else ""))


@cli.group()
def presets() -> None:
    """Built-in and user presets."""


@presets.command("list")
def presets_list() -> None:
    """List the presets you can play."""
    env = _env()
    for name in builtin_names():
        p = load_preset(name)
        _echo(f"{name:<12} {p.title} ({p.sets}x{p.reps}, {p.tempo or f'hold {p.hold:g}s'})")
    for name in user_names(env.config_dir):
        _echo(f"{name:<12} (yours, {user_preset_dir(env.config_dir) / (name + '.toml')})")


@presets.command("show")
@click.argument("name")
def presets_show(name: str) -> None:
    """Print a preset as TOML you can save, edit and load back."""
    _echo(dump_preset(load_preset(name, _env().config_dir)), nl=False)


@presets.command("validate")
@click.argument("file", type=click.Path(path_type=Path))
def presets_validate(file: Path) -> None:
    """Check a preset file; print what is wrong, or a summary."""
    p = load_file(file)
    session = build_timeline(p)
    minutes = session.frames / session.samplerate / 60
    _echo(f"{file}: ok: {p.title}, {p.sets} sets of {p.reps}, about {minutes:.0f} min")


def main(argv: list[str] | None = None, env: Environment | None = None) -> int:
    """Run the CLI; return the exit code instead of exiting."""
    env = env or Environment()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # click writes --help and --version to sys.stdout: send them to ours.
        with contextlib.redirect_stdout(env.stdout):
            cli.main(args=argv, prog_name="voicecoach", standalone_mode=False, obj=env)
        return 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        if debug:
            traceback.print_exc(file=env.stderr)
        _show_click_error(exc, env)
        return exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("voicecoach: interrupted", file=env.stderr)
        return 130
    except VoicecoachError as exc:
        if debug:
            traceback.print_exc(file=env.stderr)
        click.echo(f"voicecoach: error: {exc}", file=env.stderr)
        return exc.exit_code
    except Exception as exc:  # the last line of defence: one line, exit 1
        if debug:
            traceback.print_exc(file=env.stderr)
        else:
            click.echo(f"voicecoach: internal error: {type(exc).__name__}: {exc} "
                       "(run with --debug for details)", file=env.stderr)
        return 1


def _show_click_error(exc: click.ClickException, env: Environment) -> None:
    message = exc.format_message()
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        message = f"{message} (see '{exc.ctx.command_path} --help')"
    click.echo(f"voicecoach: error: {message}", file=env.stderr)

