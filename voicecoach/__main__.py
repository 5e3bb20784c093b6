"""The program: ``voicecoach`` and ``python -m voicecoach``.

Nothing is imported at the top, so a Ctrl-C while the command's modules are
still loading (a moment, longer on a busy machine) ends it as any
interrupt does: one line and status 130, not a traceback.

Before that, Python's own start-up (``site``, the editable install's finder)
has no handler of ours, and a Ctrl-C there kills the interpreter with a fatal
error. The launcher ``scripts/setup`` writes starts Python with SIGINT
blocked, so such a press waits, pending; ``main`` unblocks it inside its
handler, where it ends the run cleanly. Unblocking is harmless when nothing
blocked it.
"""


def main() -> None:
    try:
        import signal

        signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGINT,))
        from voicecoach.cli.app import run

        run()
    except KeyboardInterrupt:  # before the command could take it
        import sys

        from voicecoach.cli.signals import forget_caught_interrupts

        sys.stderr.write("voicecoach: interrupted\n")
        forget_caught_interrupts()
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
