"""The program: ``voicecoach`` and ``python -m voicecoach``.

Nothing is imported at the top, so a Ctrl-C while the command's modules are
still loading (a moment, longer on a busy machine) ends it as any
interrupt does: one line and status 130, not a traceback.
"""


def main() -> None:
    try:
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
