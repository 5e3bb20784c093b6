"""The command line: a thin layer over the core.

Parses options, builds the session, and is the one place where errors become
messages and exit codes (0 ok, 2 bad input, 1 runtime failure, 130
interrupted, 143 SIGTERM, 129 SIGHUP). Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import contextlib
import sys
import traceback

import click

from voicecoach import __version__
from voicecoach.cli import catalog_commands, session_commands, training_commands
from voicecoach.cli.environment import Environment
from voicecoach.cli.printable import printable
from voicecoach.cli.signals import Signalled, signals_as_interrupts
from voicecoach.errors import VoicecoachError

MAX_MESSAGE = 2000
"""Characters of an error line; a value quoted in it can not flood the terminal."""


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
    for stream in (env.stdout, env.stderr):      # a stream that encodes only ASCII
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.reconfigure(errors="backslashreplace")
    try:
        # click writes --help and --version to sys.stdout: send them to ours.
        with signals_as_interrupts(), contextlib.redirect_stdout(env.stdout):
            # Not cli.main(): it turns an interrupt into Abort (losing which
            # signal it was) and prints a blank line on the real stderr.
            args = list(argv) if argv is not None else sys.argv[1:]
            with cli.make_context("voicecoach", args, obj=env) as ctx:
                cli.invoke(ctx)
        return 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        if debug:
            traceback.print_exc(file=env.stderr)
        _show_click_error(exc, env)
        return exc.exit_code
    except Signalled as exc:
        _say(env, f"voicecoach: stopped by {exc}")
        return exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        _say(env, "voicecoach: interrupted")
        return 130
    except RecursionError as exc:      # input nested past Python's stack: bad input, not a bug
        if debug:
            traceback.print_exc(file=env.stderr)
        _say(env, f"voicecoach: error: input nested too deeply to read ({exc})")
        return 2
    except VoicecoachError as exc:
        if debug:
            traceback.print_exc(file=env.stderr)
        _say(env, f"voicecoach: error: {exc}")
        return exc.exit_code
    except Exception as exc:  # the last line of defence: one line, exit 1
        if debug:
            traceback.print_exc(file=env.stderr)
        else:
            _say(env, f"voicecoach: internal error: {type(exc).__name__}: {exc} "
                      "(run with --debug for details)")
        return 1


def _say(env: Environment, line: str) -> None:
    """One line on stderr: control characters removed, length capped."""
    line = printable(" ".join(line.split()), getattr(env.stderr, "encoding", None))
    if len(line) > MAX_MESSAGE:
        line = line[:MAX_MESSAGE - 3] + "..."
    click.echo(line, file=env.stderr)


def _show_click_error(exc: click.ClickException, env: Environment) -> None:
    message = exc.format_message()
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        message = f"{message} (see '{exc.ctx.command_path} --help')"
    _say(env, f"voicecoach: error: {message}")
