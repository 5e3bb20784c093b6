"""The command line: a thin layer over the core.

Parses options, builds the session, and is the one place where errors become
messages and exit codes (0 ok, 2 bad input, 1 runtime failure, 130
interrupted). Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import contextlib
import sys
import traceback

import click

from voicecoach import __version__
from voicecoach.cli import catalog_commands, session_commands, training_commands
from voicecoach.cli.environment import Environment
from voicecoach.errors import ExitStatus, VoicecoachError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voicecoach")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def cli(debug: bool) -> None:
    """A voice and a metronome that guide your exercise sessions hands-free."""


for _command in (session_commands.timeline, session_commands.export, session_commands.play,
                 training_commands.next_cmd, training_commands.log, training_commands.history,
                 catalog_commands.devices, catalog_commands.voices, catalog_commands.presets):
    cli.add_command(_command)


def main(argv: list[str] | None = None, env: Environment | None = None) -> int:
    """Run the CLI; return the exit code instead of exiting."""
    env = env or Environment()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # click writes --help and --version to sys.stdout: send them to ours.
        with contextlib.redirect_stdout(env.stdout):
            cli.main(args=argv, prog_name="voicecoach", standalone_mode=False, obj=env)
        return ExitStatus.OK
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("voicecoach: interrupted", file=env.stderr)
        return ExitStatus.INTERRUPTED
    except Exception as exc:  # every error: one line and its status; the traceback with --debug
        if debug:
            traceback.print_exc(file=env.stderr)
        message, status = _describe(exc, debug)
        if message:
            click.echo(f"voicecoach: {message}", file=env.stderr)
        return status


def _describe(exc: Exception, debug: bool) -> tuple[str | None, int]:
    """The line an error is shown as (None: the traceback says it) and the exit status."""
    if isinstance(exc, click.ClickException):
        message = exc.format_message()
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            message = f"{message} (see '{exc.ctx.command_path} --help')"
        return f"error: {message}", exc.exit_code
    if isinstance(exc, VoicecoachError):
        return f"error: {exc}", exc.exit_code
    if debug:                 # the last line of defence: an unexpected error
        return None, ExitStatus.FAILURE
    return (f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)",
            ExitStatus.FAILURE)
