"""The coach in German, French and Spanish: every built-in session planned in
each language keeps its breath on every lift and its counts on their beats,
says no English, and names its chapters and title in the language; number
words and plural forms come from the language's own rules."""

from __future__ import annotations

import itertools
import re

import pytest
from num2words import num2words

from voicecoach.cli.session_commands import session_title
from voicecoach.encode.chapters import chapters
from voicecoach.errors import InputError
from voicecoach.plan.kinds import EventKind, SegmentKind
from voicecoach.plan.phrases import (
    BUILT_IN_LANGUAGES,
    PhraseBook,
    default_phrases,
    locale_language,
    number_word,
    own_entries,
    phrase_book,
    plural_form,
)
from voicecoach.plan.preset_files import builtin_names, load_preset
from voicecoach.plan.schedule import build_timeline, estimate_frames
from voicecoach.plan.timeline import Timeline

SR = 48000
LANGUAGES = ("de", "fr", "es")
# Words an English coach says that no German, French or Spanish sentence of ours may hold.
STOP = {
    "the", "and", "of", "set", "sets", "rep", "reps", "breathe", "breath", "lift", "lower", "rest", "seconds",
    "second", "left", "right", "halfway", "last", "next", "get", "ready", "hold", "exhale", "inhale", "out", "up",
    "now", "keep", "your", "back", "floor", "slowly", "knees", "legs", "session", "done", "warm", "well", "start",
    "one", "two", "three", "four", "five", "ten", "intro", "outro", "exercise", "stop", "swinging", "belly", "ribs",
    "head", "neck", "bottom", "top", "side", "each",
}
WORD = re.compile(r"[^\W\d_]+")


def english_words(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if w in STOP}


def voice(scale: float):
    """Spoken lengths: the estimate scaled (1.5: a slow voice on long German words)."""
    def frames(text: str) -> int:
        return round(estimate_frames(text, SR) * scale)
    return frames


def plan(name: str, language: str, scale: float = 1.0) -> tuple[Timeline, object]:
    book = phrase_book(language)
    preset = load_preset(name, phrases=book)
    return build_timeline(preset, voice(scale), SR, book), preset


def said_at(tl: Timeline, frame: int) -> list[str]:
    return [e.text for e in tl.events if e.kind == EventKind.SPEECH and e.frame == frame]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_says_no_english_in_its_texts_chapters_and_title(name, language):
    book = phrase_book(language)
    tl, preset = plan(name, language)
    texts = [e.text for e in tl.events if e.kind == EventKind.SPEECH]
    texts += [c.title for c in chapters(tl, book)]
    texts += [session_title(preset, book), preset.title, book.text("tag_comment", preset="")]
    texts += [s.side for s in tl.segments if s.side]
    found = {t: english_words(t) for t in texts if english_words(t)}
    assert not found, found
    assert tl.language == language


@pytest.mark.parametrize("scale", [1.0, 1.5])
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", builtin_names())
def test_every_lift_says_the_breath_and_every_count_lands_on_its_beat(name, language, scale):
    book = phrase_book(language)
    tl, preset = plan(name, language, scale)
    speech = [e for e in tl.events if e.kind == EventKind.SPEECH]
    for seg in (s for s in tl.segments if s.kind == SegmentKind.CONCENTRIC):
        said = said_at(tl, seg.start)
        assert len(said) == 1 and book.says("exhale_words", said[0]), (name, seg, said)
    counted = [s for s in tl.segments if s.kind in preset.count]
    for seg in counted:
        for k in range(seg.frames // SR):
            said = said_at(tl, seg.start + k * SR)
            word = number_word(k + 1, language)
            assert len(said) == 1 and said[0].lower().endswith(word.lower()), (name, seg, k, said)
    warm = [s for s in tl.segments if s.kind == SegmentKind.WARMUP]
    counts = {book.number(i) for i in range(1, 11)}
    heard = [t for s in warm for e in speech if s.start <= e.frame < s.end and (t := e.text) in counts]
    assert len(heard) == sum(step.count for step in preset.warmup)     # the warm-up counted aloud
    for a, b in itertools.pairwise(speech):
        assert a.end <= b.frame, (a, b)                                 # nothing overlaps, nothing late
    assert not any(d.text in counts for d in tl.dropped)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_switch_of_side_and_the_last_rep_are_said_in_the_language(language):
    book = phrase_book(language)
    tl, preset = plan("single-leg", language)
    first_lifts = [s for s in tl.segments if s.kind == SegmentKind.CONCENTRIC and s.set == 1]
    for seg in first_lifts:
        assert said_at(tl, seg.start)[0].startswith(seg.side), seg       # every rep names its side
    assert preset.side_names == tuple(book.entries["presets"]["single-leg"]["side_names"])
    tl, preset = plan("leg-lifts", language)
    lifts = [s for s in tl.segments if s.kind == SegmentKind.CONCENTRIC and s.set == 1]
    assert said_at(tl, lifts[-1].start)[0].startswith(book.text("last_rep") + ". ")
    assert said_at(tl, lifts[5].start)[0].startswith(book.text("halfway") + ". ")


# Independent tables, written by hand: what a coach counts aloud.
TABLES = {
    "de": {0: "null", 1: "eins", 2: "zwei", 7: "sieben", 11: "elf", 16: "sechzehn", 17: "siebzehn",
           21: "einundzwanzig", 30: "dreißig", 42: "zweiundvierzig", 71: "einundsiebzig",
           99: "neunundneunzig", 100: "einhundert", 101: "einhunderteins", 200: "zweihundert"},
    "fr": {0: "zéro", 1: "un", 2: "deux", 7: "sept", 11: "onze", 16: "seize", 17: "dix-sept",
           21: "vingt et un", 30: "trente", 42: "quarante-deux", 71: "soixante et onze",
           80: "quatre-vingts", 81: "quatre-vingt-un", 91: "quatre-vingt-onze", 99: "quatre-vingt-dix-neuf",
           100: "cent", 101: "cent un", 200: "deux cents"},
    "es": {0: "cero", 1: "uno", 2: "dos", 7: "siete", 11: "once", 16: "dieciséis", 17: "diecisiete",
           21: "veintiuno", 30: "treinta", 42: "cuarenta y dos", 71: "setenta y uno", 99: "noventa y nueve",
           100: "cien", 101: "ciento uno", 200: "doscientos"},
    "en": {0: "zero", 1: "one", 13: "thirteen", 21: "twenty-one", 42: "forty-two", 99: "ninety-nine",
           100: "one hundred", 200: "two hundred"},
}


@pytest.mark.parametrize("language", [*LANGUAGES, "en"])
def test_number_words_from_0_to_200(language):
    for n, word in TABLES[language].items():
        assert number_word(n, language) == word, n
    for n in range(201):
        assert number_word(n, language) == num2words(n, lang=language)
    book = phrase_book(language)
    assert book.number(7) == TABLES.get(language, {}).get(7, number_word(7, language)).capitalize()


def test_plural_forms_follow_each_languages_rules():
    assert [plural_form("fr", n) for n in (0, 1, 2)] == ["one", "one", "other"]      # "0 seconde"
    assert [plural_form("de", n) for n in (0, 1, 2)] == ["other", "one", "other"]
    assert phrase_book("fr").variants("time_left", seconds=30)[0] == "Encore 30 secondes."
    assert phrase_book("de").variants("time_left", seconds=1)[0] == "Noch eine Sekunde."
    assert phrase_book("es").variants("rest_start", seconds="1.5")[0] == "Descansa 1.5 segundos. Respira."


def test_the_locale_chooses_the_language():
    assert locale_language({"LANG": "de_DE.UTF-8"}) == "de"
    assert locale_language({"LC_ALL": "fr_FR.UTF-8", "LANG": "de_DE.UTF-8"}) == "fr"
    assert locale_language({"LC_MESSAGES": "es_ES", "LANG": "de_DE"}) == "es"
    assert locale_language({"LANG": "C.UTF-8"}) == locale_language({}) == "en"


def test_every_built_in_book_has_every_english_key_and_no_stray_one():
    english = default_phrases()
    for language in BUILT_IN_LANGUAGES:
        own = own_entries(language)
        assert PhraseBook(own, language).missing(english) == [], language
        assert set(own) - set(english.entries) <= {"presets"}, language
        assert sorted(own.get("presets", {})) == ([] if language == "en" else builtin_names())


def test_german_keeps_the_capital_of_a_joined_noun_english_lowers_a_verb():
    assert phrase_book("de").join("Aus", "Knie hoch") == "Aus, Knie hoch"
    assert default_phrases().join("Out", "Lift") == "Out, lift"
    assert phrase_book("de").says("exhale_words", "Aus und heben")
    assert not phrase_book("de").says("exhale_words", "Langsam ausstrecken")


def test_an_unknown_language_is_one_line():
    with pytest.raises(InputError, match="no phrase book for 'xx'; known: de, en, es, fr"):
        phrase_book("xx")


def test_a_users_book_adds_a_language_and_falls_back_to_english_for_what_it_lacks(tmp_path):
    (tmp_path / "phrases.it.toml").write_text(
        'exhale = ["Espira", "Fuori"]\nexhale_words = ["espira", "fuori"]\nside_names = ["Sinistra", "Destra"]\n'
        '[presets.leg-lifts]\ntitle = "Sollevamento gambe tese"\ncues = { concentric = ["Solleva"] }\n',
        encoding="utf-8")
    book = phrase_book("it", tmp_path)
    assert book.language == "it" and book.side_names == ("Sinistra", "Destra")
    assert book.number(3) == "Tre"                                        # num2words knows Italian
    assert book.text("halfway") == "Halfway"                              # not in the book yet: English
    preset = load_preset("leg-lifts", tmp_path, book)
    assert preset.title == "Sollevamento gambe tese"
    tl = build_timeline(preset, voice(1.0), SR, book)
    lifts = [s for s in tl.segments if s.kind == SegmentKind.CONCENTRIC]
    cues = {said_at(tl, s.start)[-1].rsplit(". ", 1)[-1] for s in lifts}
    assert "Fuori, solleva" in cues and cues <= {"Fuori, solleva", "Espira"}   # every lift with its exhale


@pytest.mark.parametrize("text, problem", [
    ("exhale = 5", "exhale: must be a list of strings"),
    ('set_next = ["Serie {set} di {total}"]', "set_next: no such placeholder total (known: {set}, {sets})"),
    ('time_left = { by = "seconds", one = ["Un secondo"] }', "time_left: must be a list of strings"),
    ('join = ["{0} {1}"]', "join: must be a string"),
    ('segment_names = { nope = "x" }', "segment_names: must be a table of texts for some of: intro, "),
    ('side_names = ["Sinistra"]', "side_names: must name exactly two sides"),
    ('[presets.plank]\ncues = ["x"]', "presets: each [presets.NAME] is a table"),
    ("exhale = [", "not a valid phrase book"),
])
def test_a_broken_users_book_is_one_line_naming_the_file_and_key(tmp_path, text, problem):
    (tmp_path / "phrases.it.toml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        phrase_book("it", tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'phrases.it.toml'}: ") and problem in str(caught.value)


def test_a_users_book_may_name_some_segments_and_drop_a_placeholder(tmp_path):
    (tmp_path / "phrases.it.toml").write_text(
        'segment_names = { rest = "riposo" }\nset_next = ["Serie {set}."]\n', encoding="utf-8")
    book = phrase_book("it", tmp_path)
    assert book.label("rest", "chapter") == "Riposo" and book.label("hold", "status") == "hold"
    assert book.text("set_next", set=2, sets=3) == "Serie 2."


def test_a_presets_language_is_checked_and_kept():
    from voicecoach.errors import PresetError
    from voicecoach.plan.preset import dump_preset, parse_preset

    text = 'title = "T"\nexercise = "x"\nsets = 1\nreps = 2\ntempo = "1-0-1-0"\n[speech]\nlanguage = "%s"\n'
    preset = parse_preset(text % "de", "mine.toml")
    assert preset.language == "de" and parse_preset(dump_preset(preset), "again") == preset
    with pytest.raises(PresetError, match=r"mine.toml: speech.language: must be a language code .*'d e'"):
        parse_preset(text % "d e", "mine.toml")
