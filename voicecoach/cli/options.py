"""Options shared by several commands: the session overrides and the music under it."""

from __future__ import annotations

import math
from pathlib import Path

import click

from voicecoach.cues.settings import EngineKind


class FiniteFloat(click.FloatRange):
    """A number: click's float takes 'nan' and 'inf', and nan passes every range check."""

    name = "float"

    def _describe_range(self) -> str:  # no bounds: no "[x<=None]" in the help
        return "" if self.min is None and self.max is None else super()._describe_range()

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def override_options(func):
    """``--sets --reps --tempo --rest --voice --language --rate --engine`` on play, export and timeline."""
    for decl, kind, text in reversed(
        [
            ("--sets", int, "Number of sets."),
            ("--reps", int, "Reps per set."),
            ("--tempo", str, "Lifting tempo eccentric-bottom-concentric-top, e.g. 3-1-2-1."),
            ("--rest", FiniteFloat(), "Seconds of rest between sets."),
            ("--voice", str, "Speech voice (see 'voicecoach voices'); it must speak the language."),
            ("--language", str, "Language of the coach: de, en, es, fr or one you added (default: the locale's)."),
            ("--rate", int, "Speaking rate in words per minute."),
            (
                "--engine",
                click.Choice([str(k) for k in EngineKind]),
                "Speech engine: piper (neural), pyttsx3 (espeak-ng), or auto (neural when installed).",
            ),
        ]
    ):
        func = click.option(decl, type=kind, default=None, help=text)(func)
    return func


def music_options(func):
    """``--music --shuffle`` and the levels, on play and export."""
    for decl, kind, text in reversed(
        [
            ("--voice-volume", FiniteFloat(), "Voice level in dB (default 0)."),
            ("--tick-volume", FiniteFloat(), "Metronome level in dB (default 0)."),
            ("--music-volume", FiniteFloat(), "Music level in dB (default -6)."),
        ]
    ):
        func = click.option(decl, type=kind, default=None, help=text)(func)
    func = click.option("--shuffle", is_flag=True, help="Play a music folder in random order.")(func)
    func = click.option(
        "--music",
        type=click.Path(path_type=Path),
        default=None,
        help="Your music under the coach: a file, or a folder played as a looping playlist; it ducks under the voice.",
    )(func)
    return func


def loudness_option(func):
    """``--loudness LUFS`` on play and export."""
    return click.option(
        "--loudness",
        type=FiniteFloat(-40.0, -6.0),
        default=None,
        metavar="LUFS",
        help="Integrated loudness to normalise to (default -19 LUFS mono, "
        "-16 stereo: spoken word on phones); true peaks stay under -1 dBTP.",
    )(func)


QUIET = "voicecoach.quiet"
"""Where ``--quiet`` leaves its value: the click context's ``meta``, shared by the whole run."""


def quiet_option(func):
    """``--quiet`` on play, export and timeline: no progress lines (kept in the context's ``meta``)."""

    def remember(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
        ctx.meta[QUIET] = value
        return value

    return click.option(
        "--quiet",
        is_flag=True,
        expose_value=False,
        callback=remember,
        help="No progress lines on the terminal while cues are synthesised or the file is written.",
    )(func)
