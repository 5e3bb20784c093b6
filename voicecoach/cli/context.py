"""What every command shares: the injected environment, output, and the session it plays.

Commands reach the :class:`Environment` of this run through click's context,
so tests run the real CLI in-process with their own streams and folders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from voicecoach.cli.environment import Environment
from voicecoach.cli.options import QUIET
from voicecoach.cli.printable import printable
from voicecoach.plan.phrases import DEFAULT_LANGUAGE, PhraseBook, phrase_book
from voicecoach.plan.preset import Preset
from voicecoach.plan.preset_files import load_preset
from voicecoach.plan.schedule import DEFAULT_SAMPLERATE

if TYPE_CHECKING:  # the training modules load only for the commands that use them
    from voicecoach.training.progression import Recommendation

NEXT = "next"  # the preset name that means today's recommended workout


def current_env() -> Environment:
    """The environment of the running command."""
    return click.get_current_context().find_root().obj


def echo(text: str = "", nl: bool = True) -> None:
    """A line on the run's standard output, safe for the terminal (see :func:`printable`)."""
    stream = current_env().stdout
    click.echo(printable(text, getattr(stream, "encoding", None)), file=stream, nl=nl)


def resolve(spec: str, overrides: dict) -> tuple[Preset, Recommendation | None]:
    """The preset to play (a name, a file, or ``next``: today's workout by
    the method), and the recommendation it is when ``spec`` is ``next``.
    Today's plan is then said in the intro (what and why), unless the sets
    or reps are overridden: the phone in a pocket has no screen. The preset
    comes back in its language (``--language``, its own, else the locale's)."""
    env = current_env()
    plan = None
    if spec == NEXT:
        from voicecoach.training import coach as training

        with training.open_history(env.data_dir, env.now(), env.stderr) as history:
            plan = training.todays_recommendation(history, env.now(), advice_phrases(overrides.get("language")))
        text = describe_recommendation(plan, language=overrides.get("language"))
        click.echo(printable(text, getattr(env.stderr, "encoding", None)), file=env.stderr)
        preset, book = load_in_language(plan.preset, overrides.get("language"))
        preset = preset.with_overrides(sets=plan.sets, reps=plan.reps)
        if overrides.get("sets") is None and overrides.get("reps") is None:
            intro = (training.spoken_plan(plan, book), *preset.cues.intro)
            preset = replace(preset, cues=replace(preset.cues, intro=intro))
    else:
        preset, book = load_in_language(spec, overrides.get("language"))
    if any(v is not None for k, v in overrides.items() if k != "language"):
        preset = preset.with_overrides(**overrides)
    return replace(preset, language=book.language), plan


def load_in_language(spec: str, language: str | None = None) -> tuple[Preset, PhraseBook]:
    """The preset ``spec`` and the phrase book of its language: ``language``
    (the command line's), else the preset's own, else the locale's."""
    env = current_env()
    preset = load_preset(spec, env.config_dir)
    book = phrase_book(language or preset.language or env.language, env.config_dir)
    if book.language != DEFAULT_LANGUAGE:
        preset = load_preset(spec, env.config_dir, book)
    return preset, book


def session_phrases(preset: Preset) -> PhraseBook:
    """The phrase book of a preset :func:`resolve` gave: what the session says and shows."""
    return phrase_book(preset.language or DEFAULT_LANGUAGE, current_env().config_dir)


def show_progress() -> bool:
    """Progress lines go to stderr on a terminal, unless ``--quiet``."""
    return current_env().progress and not click.get_current_context().meta.get(QUIET, False)


class ProgressLine:
    """A progress bar on stderr, drawn once a wait has lasted half a second; a call with ``done == 0`` starts the
    next batch on a new bar. ``counted``: ``12 of 40`` rather than the percent and the time left.

    click's progress bar: click is the CLI's library already, and its bar draws nothing off a terminal.
    """

    DELAY = 0.5

    def __init__(self, label: str, counted: bool = False) -> None:
        env = current_env()
        self._label, self._counted, self._shown = label, counted, show_progress()
        self._stream, self._clock = env.stderr, env.clock
        self._since = self._clock()
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self._shown:
            return
        if done == 0:
            self.close()
            self._since = self._clock()
        if self._bar is None:
            if self._clock() - self._since < self.DELAY:
                return
            of = f"{{}} of {total}".format
            self._bar = click.progressbar(
                length=total,
                label=self._label,
                file=self._stream,
                show_percent=not self._counted,
                show_eta=not self._counted,
                item_show_func=(lambda n: of(n or 0)) if self._counted else None,
            ).__enter__()
        self._bar.update(done - self._bar.pos, done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.render_finish()
            self._bar = None

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def prepare_session(preset: Preset, samplerate: int = DEFAULT_SAMPLERATE, channels: int = 1, also: Sequence[str] = ()):
    """Synthesise or load every cue (and ``also``: the player's messages) and build the session (the slow
    part), showing the synthesis on a terminal."""
    from voicecoach.audio.session import prepare

    env = current_env()
    with ProgressLine("cues synthesised", counted=True) as progress:
        return prepare(
            preset,
            env.cache_dir,
            samplerate,
            channels,
            voice_dir=voice_dir(env),
            also=also,
            progress=progress,
            phrases=session_phrases(preset),
        )


def voice_dir(env) -> Path:
    """Where this user's own Piper voices are (``voices`` in the data folder)."""
    from voicecoach.cues.piper_voices import user_voice_dir

    return user_voice_dir(env.data_dir)


def advice_phrases(language: str | None = None) -> PhraseBook:
    """The phrase book the coaching advice is said in: ``language``, else the locale's."""
    env = current_env()
    return phrase_book(language or env.language, env.config_dir)


def describe_recommendation(recommendation: Recommendation, upcoming: bool = False, language: str | None = None) -> str:
    """One sentence: today's (or the next) recommended workout and why, in
    ``language`` (else the locale's), as :func:`advice_phrases` said its reasons."""
    r = recommendation
    preset, book = load_in_language(r.preset, language)  # the user's own preset when it shadows a built-in
    key = "advice_upcoming" if upcoming else "advice_today"
    text = book.text(key, title=preset.title, preset=r.preset, sets=r.sets, reps=r.reps, reason=r.reason)
    if r.rest_advice and not upcoming:
        text += f" {r.rest_advice}"
    return text
