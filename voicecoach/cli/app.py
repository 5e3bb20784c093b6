"""The command line: a thin layer over the core.

Parses options, builds the session, and is the one place where errors become
messages and exit codes (0 ok, 2 bad input, 1 runtime failure, 130
interrupted). Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback

import click

from voicecoach import __version__
from voicecoach.cli import catalog_commands, session_commands, training_commands
from voicecoach.cli.environment import Environment
from voicecoach.errors import VoicecoachError


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
    if debug:                 # our debug notes (no session bus, the audio library's own lines)
        handler = logging.StreamHandler(env.stderr)
        handler.setFormatter(logging.Formatter("voicecoach: debug: %(message)s"))
        logger = logging.getLogger("voicecoach")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        # click writes --help and --version to sys.stdout: send them to ours.
        with contextlib.redirect_stdout(env.stdout):
            code = cli.main(args=argv, prog_name="voicecoach", standalone_mode=False, obj=env)
        return code if isinstance(code, int) else 0    # click returns a silent Exit's code
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
