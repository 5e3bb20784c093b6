"""The command line: a thin layer over the core.

Parses options, builds the session, and is the one place where errors become
messages and exit codes (0 ok, 2 bad input, 1 runtime failure, 130
interrupted). Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import contextlib
import sys
import traceback
from pathlib import Path

import click

from voicecoach import __version__
from voicecoach.environment import Environment
from voicecoach.errors import VoicecoachError
from voicecoach.preset import (DEFAULT_PRESET, Preset, builtin_names, dump_preset, load_file,
                               load_preset, user_names, user_preset_dir)
from voicecoach.schedule import build_timeline
from voicecoach.timeline_table import format_table


def _env() -> Environment:
    return click.get_current_context().find_root().obj


def _echo(text: str = "", nl: bool = True) -> None:
    click.echo(text, file=_env().stdout, nl=nl)


def override_options(func):
    """``--sets --reps --tempo --rest`` on play, export and timeline."""
    for decl, kind, text in reversed([
        ("--sets", int, "Number of sets."),
        ("--reps", int, "Reps per set."),
        ("--tempo", str, "Lifting tempo eccentric-bottom-concentric-top, e.g. 3-1-2-1."),
        ("--rest", float, "Seconds of rest between sets."),
    ]):
        func = click.option(decl, type=kind, default=None, help=text)(func)
    return func


def resolve_preset(spec: str, overrides: dict) -> Preset:
    preset = load_preset(spec, _env().config_dir)
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
    session = build_timeline(resolve_preset(preset, overrides))
    _echo(session.to_json() if as_json else format_table(session), nl=as_json)


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

