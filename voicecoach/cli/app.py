"""The command line: a thin layer over the core.

Parses options, builds the session, and is the one place where errors become
messages and exit codes (0 ok, 2 bad input, 1 runtime failure, 130
interrupted, 143 SIGTERM, 129 SIGHUP, 141 quietly when the reader of standard
output has gone, as a pipe's writer killed by SIGPIPE). Tracebacks only with
``--debug``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import stat
import sys
import traceback

# numpy's OpenBLAS starts a thread per core when numpy is imported, and the
# thread spins on the other core waiting for work that never comes (the
# audio code does no linear algebra): CPU burnt for nothing. One thread,
# unless the user chose otherwise.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pathlib import Path

import click

from voicecoach import __version__
from voicecoach.cli import catalog_commands, session_commands, training_commands
from voicecoach.cli.environment import Environment
from voicecoach.cli.printable import printable
from voicecoach.cli.signals import Signalled, forget_caught_interrupts, signals_as_interrupts
from voicecoach.common.files import kind_of
from voicecoach.errors import ExitStatus, InputError, VoicecoachError

MAX_MESSAGE = 2000
"""Characters of an error line; a value quoted in it can not flood the terminal."""

READER_GONE = 128 + signal.SIGPIPE
"""The status of a run whose standard output's reader left: a shell's 141."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="voicecoach")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_obj
def cli(env: Environment, debug: bool) -> None:
    """A voice and a metronome that guide your exercise sessions hands-free."""
    for what, folder in (("cue cache", env.cache_dir), ("config", env.config_dir), ("data", env.data_dir)):
        _check_folder(what, folder)


def _check_folder(what: str, folder: Path) -> None:
    """Refuse a FIFO, a file or a symbolic link to nothing where a folder of ours goes."""
    try:
        mode = os.stat(folder).st_mode
    except FileNotFoundError:
        if os.path.islink(folder):
            raise InputError(
                f"the {what} folder {folder} is a symbolic link to nothing ({os.readlink(folder)})"
            ) from None
        return  # made when first needed
    except OSError:
        return  # the command that uses it says why
    if not stat.S_ISDIR(mode):
        raise InputError(f"the {what} folder {folder} is {kind_of(mode)}, not a folder")


for _command in (
    session_commands.timeline,
    session_commands.export,
    session_commands.play,
    training_commands.next_cmd,
    training_commands.log,
    training_commands.history,
    catalog_commands.devices,
    catalog_commands.voices,
    catalog_commands.presets,
):
    cli.add_command(_command)


def run() -> None:
    """The program: :func:`main`, then exit.

    A standard stream started closed (``>&-``) is plugged first, or the next
    file opened would take its number (a closed standard output is refused:
    every command writes there). At the end one collection frees what only
    cycles hold (a C resource never freed, the music's resampler, complains on
    stderr at exit), and what is left is frozen out of the garbage collector:
    the collections at exit would only walk it again.
    """
    if _plug_closed_streams():
        sys.stderr.write(
            "voicecoach: error: standard output is closed; give the command somewhere to write (e.g. >/dev/null)\n"
        )
        raise SystemExit(ExitStatus.BAD_INPUT)
    code = main()
    import gc

    gc.collect()
    gc.freeze()
    forget_caught_interrupts()
    raise SystemExit(code)


def _plug_closed_streams() -> bool:
    """Open /dev/null on each closed descriptor 0-2 (read-only for 1, so a
    write there still fails); return whether 1 (standard output) was closed.
    Python leaves ``sys.stderr`` None for a closed 2, and click then writes
    errors to standard output: it gets the null device too."""
    closed = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.append(fd)
            plug = os.open(os.devnull, os.O_RDONLY if fd == 1 else os.O_RDWR)
            if plug != fd:
                os.dup2(plug, fd, inheritable=False)
                os.close(plug)
    if sys.stderr is None:
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115 (for the rest of the run)
    return 1 in closed


def main(argv: list[str] | None = None, env: Environment | None = None) -> int:
    """Run the CLI; return the exit code instead of exiting."""
    env = env or Environment()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    logger = logging.getLogger("voicecoach")
    handler = logging.StreamHandler(env.stderr)  # our debug notes: no session bus, PortAudio's lines
    handler.setFormatter(logging.Formatter("voicecoach: debug: %(message)s"))
    if debug:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        return _run(argv, env, debug)
    finally:
        logger.removeHandler(handler)


def _run(argv: list[str] | None, env: Environment, debug: bool) -> int:
    for stream in (env.stdout, env.stderr):  # a stream that encodes only ASCII
        with contextlib.suppress(AttributeError, ValueError, OSError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[attr-defined]
    try:
        # click writes --help and --version to sys.stdout: send them to ours.
        with signals_as_interrupts(), contextlib.redirect_stdout(env.stdout):
            # Not cli.main(): it turns an interrupt into Abort (losing which
            # signal it was) and prints a blank line on the real stderr.
            args = list(argv) if argv is not None else sys.argv[1:]
            with cli.make_context("voicecoach", args, obj=env) as ctx:
                cli.invoke(ctx)
            env.stdout.flush()  # a reader gone shows here, not at the interpreter's exit
        return ExitStatus.OK
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except BrokenPipeError:
        if not _reader_gone(env.stdout):
            raise
        return READER_GONE
    except (KeyboardInterrupt, click.exceptions.Abort) as exc:
        signalled = _signal_behind(exc)
        if signalled is not None:
            _say(env, f"voicecoach: stopped by {signalled}")
            return signalled.exit_code
        _say(env, "voicecoach: interrupted")
        return ExitStatus.INTERRUPTED
    except Exception as exc:
        if debug:
            traceback.print_exc(file=env.stderr)
        message, status = _describe(exc, debug)
        if message:
            _say(env, f"voicecoach: {message}")
        return status


def _reader_gone(stream) -> bool:
    """Whether ``stream`` is a pipe nobody reads any more; if so, it is
    pointed at /dev/null, so nothing left in its buffer fails again at exit."""
    try:
        fd = stream.fileno()
        poll = select.poll()
        poll.register(fd, select.POLLOUT)
        if not any(events & select.POLLERR for _, events in poll.poll(0)):
            return False
        plug = os.open(os.devnull, os.O_WRONLY)
        os.dup2(plug, fd, inheritable=fd > 2)
        os.close(plug)
        return True
    except (AttributeError, ValueError, OSError):
        return False


def _signal_behind(exc: BaseException) -> Signalled | None:
    """The SIGTERM/SIGHUP behind an interrupt, also when a layer re-raised it
    as its own KeyboardInterrupt (play reports how far it got that way)."""
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 20:
        if isinstance(cause, Signalled):
            return cause
        cause, seen = cause.__cause__ or cause.__context__, seen + 1
    return None


def _describe(exc: Exception, debug: bool) -> tuple[str | None, int]:
    """The line an error is shown as (None: the traceback says it) and the exit status."""
    if isinstance(exc, click.ClickException):
        message = exc.format_message()
        if isinstance(exc, click.UsageError) and exc.ctx is not None:
            message = f"{message} (see '{exc.ctx.command_path} --help')"
        return f"error: {message}", exc.exit_code
    if isinstance(exc, VoicecoachError):
        return f"error: {exc}", exc.exit_code
    if isinstance(exc, RecursionError):  # input nested past Python's stack: bad input
        return f"error: input nested too deeply to read ({exc})", ExitStatus.BAD_INPUT
    if debug:  # the last line of defence: an unexpected error
        return None, ExitStatus.FAILURE
    return (f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)", ExitStatus.FAILURE)


def _say(env: Environment, line: str) -> None:
    """One line on stderr: control characters removed, length capped."""
    line = printable(" ".join(line.split()), getattr(env.stderr, "encoding", None))
    if len(line) > MAX_MESSAGE:
        line = line[: MAX_MESSAGE - 3] + "..."
    click.echo(line, file=env.stderr)
