"""The coach's language at the command line: ``--language``, ``[speech]
language`` and the locale; every built-in exported in German, French and
Spanish with the language's voice, and played as its export in one of them;
tags and chapters in the language; a voice that does not speak it refused
in one line; a user's own phrase book checked by ``presets validate
--language``."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fake_play import playing

from voicecoach.plan.phrases import number_word, phrase_book
from voicecoach.plan.preset_files import builtin_names, load_preset

LANGUAGES = ("de", "fr", "es")
SHORTER = ("--sets", "2", "--reps", "2", "--rest", "5")


@pytest.mark.slow
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_exports_and_plays_in_the_language(name, language, run, env, fake_audio, tmp_path):
    plan = json.loads(run("timeline", name, "--language", language, "--engine", "pyttsx3", "--json", *SHORTER).out)
    assert (plan["language"], plan["voice"]) == (language, f"pyttsx3:{language}")
    book = phrase_book(language)
    first = next(e["text"] for e in plan["events"] if e["kind"] == "speech")
    assert first.startswith(book.entries["presets"][name]["title"] + ".")
    check_breath_and_counts(plan, book, name)                 # with the language's real voice
    out = tmp_path / "ref.wav"
    r = run("export", name, "--language", language, "--engine", "pyttsx3", "--float", "-o", str(out), *SHORTER)
    assert r.code == 0, r.err
    ref, _ = sf.read(out, dtype="float32")
    assert len(ref) == plan["frames"]
    if (builtin_names().index(name) + LANGUAGES.index(language)) % len(LANGUAGES):
        return      # played in one language a preset, each language twice: the player's words in each
    audio = fake_audio()
    r = run_played(env, audio, name, language)
    assert r.code == 0, r.err
    heard = audio.heard()
    assert np.array_equal(heard[: len(ref)], ref)  # live == export, sample for sample


def check_breath_and_counts(plan: dict, book, name: str) -> None:
    """Every lift says the breath out, every counted beat its number, as spoken."""
    said: dict[int, list[str]] = {}
    for e in plan["events"]:
        if e["kind"] == "speech":
            said.setdefault(e["frame"], []).append(e["text"])
    counted = load_preset(name).count
    sr = plan["samplerate"]
    for seg in plan["segments"]:
        if seg["kind"] == "concentric":
            assert any(book.says("exhale_words", t) for t in said.get(seg["start"], [])), (name, seg)
        if seg["kind"] in counted:
            for k in range(seg["frames"] // sr):
                texts = said.get(seg["start"] + k * sr, [])
                word = number_word(k + 1, book.language)
                assert len(texts) == 1 and texts[0].lower().endswith(word), (name, seg, k, texts)


def run_played(env, audio, name, language):
    from running import run_in

    return run_in(playing(env, audio), "play", name, "--language", language, "--engine", "pyttsx3", *SHORTER)


@pytest.mark.parametrize("language", LANGUAGES)
def test_tags_and_chapters_are_in_the_language(language, run, tmp_path):
    from mutagen.flac import FLAC

    out = tmp_path / "s.flac"
    r = run("export", "leg-lifts", "--language", language, "--engine", "pyttsx3", "-o", str(out), *SHORTER)
    assert r.code == 0, r.err
    tags = FLAC(out)
    book = phrase_book(language)
    title = book.entries["presets"]["leg-lifts"]["title"]
    assert tags["title"] == [book.text("title_reps", title=title, sets=2, reps=2)]
    assert tags["album"] == [title]
    assert tags["comment"] == [book.text("tag_comment", preset="leg-lifts")]
    names = [v for k, v in sorted(tags.items()) if k.endswith("name")]
    labels = [book.label(k, "chapter") for k in ("intro", "warmup", "rest", "outro")]
    sets = [book.text("chapter_set", set=n, sets=2) for n in (1, 2)]
    assert names == [[labels[0]], [labels[1]], [sets[0]], [labels[2]], [sets[1]], [labels[3]]]


def test_the_language_comes_from_the_option_the_preset_then_the_locale(run, env, tmp_path):
    from running import run_in

    def first_words(*args, **changes):
        r = run_in(replace(env, **changes), "timeline", *args, "--json")
        assert r.code == 0, r.err
        doc = json.loads(r.out)
        return doc["language"], next(e["text"] for e in doc["events"] if e["kind"] == "speech")

    assert first_words("plank", language="en") == ("en", "Plank. 3 holds of 30 seconds.")
    assert first_words("plank", language="es")[1] == "Plancha. 3 series de 30 segundos."
    assert first_words("plank", "--language", "fr", language="es")[1] == "Gainage. 3 maintiens de 30 secondes."
    own = tmp_path / "mine.toml"
    own.write_text('title = "Brücke"\nexercise = "x"\nsets = 1\nreps = 3\nhold = 10\n'
                   '[speech]\nlanguage = "de"\n', encoding="utf-8")
    assert first_words(str(own), language="es") == ("de", "Brücke. Einmal 10 Sekunden halten.")


def test_the_locale_of_a_real_process_chooses_german(proc_env):
    from running import voicecoach

    done = voicecoach({**proc_env, "LC_ALL": "", "LANG": "de_DE.UTF-8"}, "timeline", "plank", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["language"] == "de" and doc["events"][1]["text"].startswith("Unterarmstütz.")


def test_a_voice_that_does_not_speak_the_language_is_one_line(run):
    r = run("timeline", "plank", "--language", "de", "--engine", "pyttsx3", "--voice", "en-gb")
    assert r.code == 2 and r.out == ""
    assert r.err.count("\n") == 1 and "does not speak" not in r.err
    assert "'en-gb' (gmw/en) speaks en-gb, not de" in r.err and "voicecoach voices --language de" in r.err
    assert run("timeline", "plank", "--language", "xx").err.startswith(
        "voicecoach: error: language: no phrase book for 'xx'")


def test_voices_of_a_language(run):
    r = run("voices", "--language", "fr")
    assert r.code == 0, r.err
    rows = [line.split() for line in r.out.splitlines()[2:-1]]
    assert rows and all(any(lang.startswith("fr") for lang in row[3:]) for row in rows), r.out


def test_a_users_phrase_book_adds_a_language_and_validate_says_what_it_lacks(run, env):
    env.config_dir.mkdir(parents=True, exist_ok=True)
    (env.config_dir / "phrases.it.toml").write_text(
        'exhale = ["Espira", "Fuori"]\nexhale_words = ["espira", "fuori"]\nhalfway = ["A metà"]\n'
        '[presets.plank]\ntitle = "Plank"\ncues = { intro = ["Avambracci a terra."] }\n', encoding="utf-8")
    r = run("presets", "validate", "plank", "--language", "it")
    assert r.code == 0, r.err
    lacks, untranslated, ok = r.out.splitlines()
    assert lacks.startswith("it: ") and "lacks" in lacks and "summary, " in lacks and "halfway" not in lacks
    assert untranslated.endswith("has no [presets.plank] words for: description, cues.reminders")
    assert ok.startswith("plank: ok: Plank")
    plan = json.loads(run("timeline", "plank", "--language", "it", "--json").out)
    assert plan["language"] == "it" and "Avambracci a terra." in [e["text"] for e in plan["events"]]
    assert "Tre" in [e["text"] for e in plan["events"]]                   # num2words counts in Italian


def test_presets_list_and_a_copy_speak_the_users_language(env):
    from running import run_in

    german = replace(env, language="de")
    listed = run_in(german, "presets", "list").out
    assert "plank        Unterarmstütz (3x1, hold 30s)" in listed.splitlines()
    path = run_in(german, "presets", "new", "meins", "--from", "plank").out.strip()
    text = Path(path).read_text(encoding="utf-8")
    assert 'title = "Unterarmstütz"' in text and '[speech]\nlanguage = "de"' in text
    doc = json.loads(run_in(replace(env, language="en"), "timeline", "meins", "--json").out)
    assert doc["language"] == "de"                       # its words are German: so is its voice


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_players_messages_are_said_in_the_language(language):
    from voicecoach.live.playback import clip_texts

    book = phrase_book(language)
    said = clip_texts(2, 3, phrases=book)
    assert book.text("player_paused") in said and book.text("player_skip", set=2, sets=2) in said
    assert book.number(3) in said                           # the count-in after a pause
    assert book.text("player_ask") in said and book.text("player_left_reps", reps=1) in said   # voice control
    english = set(clip_texts(2, 3))
    assert not english & set(said)


def test_every_activity_of_the_player_is_named_in_every_language():
    from voicecoach.live.transport import Activity
    from voicecoach.plan.phrases import BUILT_IN_LANGUAGES

    for language in BUILT_IN_LANGUAGES:
        names = phrase_book(language).entries["activities"]
        assert {str(a) for a in Activity if a != Activity.SESSION} <= set(names), language
