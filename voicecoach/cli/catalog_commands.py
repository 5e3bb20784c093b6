"""What there is to choose from: ``devices``, ``voices`` and ``presets``."""

from __future__ import annotations

from dataclasses import replace

import click

from voicecoach.cli.context import current_env, echo, load_in_language
from voicecoach.errors import AudioDeviceError
from voicecoach.plan.phrases import (
    DEFAULT_LANGUAGE,
    PhraseBook,
    book_file,
    default_phrases,
    knows_numbers,
    own_entries,
    phrase_book,
    user_book,
)
from voicecoach.plan.preset import CUE_TEXTS, dump_preset
from voicecoach.plan.preset_files import (
    DEFAULT_PRESET,
    builtin_names,
    load_preset,
    save_user_preset,
    user_names,
    user_preset_dir,
)
from voicecoach.plan.schedule import DEFAULT_SAMPLERATE, build_timeline


@click.command()
@click.option("--quiet", is_flag=True, help="Print nothing; exit 1 when there is no output device.")
def devices(quiet: bool) -> None:
    """List audio output devices."""
    try:
        found = current_env().audio_backend().devices()
        if not found:
            raise AudioDeviceError("no audio output device found; try 'voicecoach export'")
    except AudioDeviceError:
        if quiet:  # its promise: nothing printed, only the exit status
            raise click.exceptions.Exit(1) from None
        raise
    if quiet:
        return
    for d in found:
        mark = "*" if d.default else " "
        echo(f"{mark} {d.index:>3}  {d.name}  ({d.hostapi}, {d.channels} ch, {d.samplerate:g} Hz)")


@click.command()
@click.option("--language", default=None, help="Only the voices that speak this language (de, en, es, fr...).")
def voices(language: str | None) -> None:
    """List the voices of every installed speech engine, and which one auto uses."""
    from voicecoach.cli.context import voice_dir
    from voicecoach.cues.engine_choice import neural_available, pyttsx3_voices, resolve, speaks
    from voicecoach.cues.piper_voices import find_piper_voices, piper_installed
    from voicecoach.cues.settings import SpeechSettings
    from voicecoach.cues.timing import language_voice
    from voicecoach.errors import SpeechEngineError

    folder = voice_dir(current_env())
    if language is not None:
        language = phrase_book(language, current_env().config_dir).language  # one we can speak, or one line
    auto = resolve(SpeechSettings(voice=language_voice(None, language)), folder)
    if auto.engine == "piper":
        from voicecoach.cues.piper_voices import choose_piper_voice

        default = choose_piper_voice(auto.voice, folder).voice.id
        echo(f"auto: piper (neural), voice {default}; --engine pyttsx3 for espeak")
    else:
        why = (
            ("no Piper voice found" if language is None else f"no Piper voice speaks {language}")
            if piper_installed()
            else "piper-tts is not installed: pip install 'voicecoach[neural]'"
        )
        echo(f"auto: pyttsx3 ({why})")
    echo(f"{'ENGINE':<8} {'VOICE':<28} {'NAME':<34} {'LANGUAGE':<16} QUALITY")
    rows = [f.voice for f in find_piper_voices(folder)] if neural_available(folder) else []
    try:
        rows += pyttsx3_voices()
    except SpeechEngineError as exc:
        echo(f"pyttsx3: unavailable ({exc})")
    for v in rows:
        if language is not None and not speaks(v, language):
            continue
        echo(f"{v.engine:<8} {v.id:<28} {v.name:<34} {', '.join(v.languages):<16} {v.quality}".rstrip())
    echo(f"Your own Piper voices: put NAME.onnx and NAME.onnx.json in {folder}")


@click.group()
def presets() -> None:
    """Built-in and user presets."""


@presets.command("list")
def presets_list() -> None:
    """List the presets you can play."""
    env = current_env()
    book = phrase_book(env.language, env.config_dir)
    for name in builtin_names():
        p = load_preset(name, phrases=book)  # the built-in, its title in the user's language
        echo(f"{name:<12} {p.title} ({p.sets}x{p.reps}, {p.tempo or f'hold {p.hold:g}s'})")
    for name in user_names(env.config_dir):
        echo(f"{name:<12} (yours, {user_preset_dir(env.config_dir) / (name + '.toml')})")
    echo("Make your own: voicecoach presets new NAME [--from PRESET]")


@presets.command("show")
@click.argument("name")
def presets_show(name: str) -> None:
    """Print a preset as TOML you can save, edit and load back."""
    echo(dump_preset(load_in_language(name)[0]), nl=False)


def missing_words(preset: str, book: PhraseBook) -> list[str]:
    """What ``book`` lacks to say ``preset`` wholly in its language, one line a gap."""
    env, lang = current_env(), book.language
    own = own_entries(lang, env.config_dir)
    where = user_book(lang, env.config_dir) or f"built-in {book_file(lang)}"
    lines = []
    gaps = PhraseBook(own, lang).missing(default_phrases())
    if gaps:
        lines.append(f"{lang}: {where} lacks {len(gaps)} phrases, said in English until added: {', '.join(gaps)}")
    if lang != DEFAULT_LANGUAGE and preset in builtin_names() and preset not in user_names(env.config_dir):
        english = load_preset(preset)
        words = own.get("presets", {}).get(preset, {})
        keys = [k for k in ("title", "description") if getattr(english, k) and k not in words]
        keys += [f"cues.{k}" for k in CUE_TEXTS if getattr(english.cues, k) and k not in words.get("cues", {})]
        keys += ["side_names"] if english.side_names and "side_names" not in words else []
        keys += ["warmup"] if len(words.get("warmup", ())) < len(english.warmup) else []
        if keys:
            lines.append(f"{lang}: {where} has no [presets.{preset}] words for: {', '.join(keys)}")
    if not knows_numbers(lang):
        lines.append(f"{lang}: num2words has no number words for it: counts are said as digits")
    return lines


@presets.command("new")
@click.argument("name")
@click.option(
    "--from",
    "source",
    default=DEFAULT_PRESET,
    show_default=True,
    metavar="PRESET",
    help="The preset to start from: a name or a .toml file.",
)
def presets_new(name: str, source: str) -> None:
    """Start your own preset NAME as a copy of another, in your presets folder; print its path."""
    env = current_env()
    copy, book = load_in_language(source)  # in the user's words, which its voice must speak
    if book.language != DEFAULT_LANGUAGE:
        copy = replace(copy, language=book.language)
    echo(str(save_user_preset(name, copy, env.config_dir)))


@presets.command("validate")
@click.argument("preset", metavar="NAME|FILE")
@click.option("--language", default=None, help="Check it in this language too: what its phrase book still lacks.")
def presets_validate(preset: str, language: str | None) -> None:
    """Check a preset as export would: print what is wrong, or a summary.

    Sound files are decoded and checked here, and the session's length
    counts an estimate of its speech; the voice is not synthesised. With
    --language, the phrases that language's book lacks are listed (they are
    said in English until it has them)."""
    p, book = load_in_language(preset, language)
    if language is not None:
        for line in missing_words(preset, book):
            echo(line)
    if p.voice is not None or p.engine is not None:
        from voicecoach.cli.context import voice_dir
        from voicecoach.cues.engine_choice import check_voice
        from voicecoach.cues.settings import EngineKind, SpeechSettings

        settings = SpeechSettings(voice=p.voice, rate=p.rate, engine=p.engine or EngineKind.AUTO)
        check_voice(settings, voice_dir(current_env()), where=f"{preset}: speech.voice")
    if p.sounds:
        from voicecoach.audio.session import session_sounds  # numpy: only when needed

        session_sounds(p, DEFAULT_SAMPLERATE)
    session = build_timeline(p, phrases=book)
    minutes = session.frames / session.samplerate / 60
    echo(f"{preset}: ok: {p.title}, {p.sets} sets of {p.reps}, about {minutes:.0f} min")
