"""``play --listen`` in-process, with the real player on a fake device and a fake
recogniser: the counts said aloud are what the training log keeps, read back
from its SQLite file through ``history --json``, exactly as ``log`` would write them."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from fake_play import Keys, playing
from running import run_in

from voicecoach.training.coach import history_path

DAY0 = datetime(2026, 3, 2, 18, 0, tzinfo=timezone.utc)
SET1_REP2 = 160      # 13.6 s: set 1, rep 2 under way (rep 1 done); a poll is 85 ms


@dataclass(frozen=True)
class Said:
    intent: str
    number: int | None = None
    everything: bool = False


class Recogniser:
    """Answers each question in turn with ``answers`` (a number, "all", or None: silence).
    It polls the voice control on the player's thread, at each key poll, so the
    fake device's clock rules (the control's own thread is left idle)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.opened = []
        self.mode = "commands"
        self.spans = []  # what the player told of its own sound: (start, end, share)

    def __call__(self, on_heard, on_stopped, device=None, wake="coach"):
        self.on_heard, self.opened = on_heard, [*self.opened, (device, wake)]
        self.control = on_heard.__self__
        return self

    def __enter__(self):
        self.control.poll_seconds = 3600
        return self

    def __exit__(self, *exc):
        pass

    def sounded(self, start, end, share):
        self.spans = [*self.spans, (start, end, share)]

    def set_mode(self, mode):
        self.mode = mode
        if mode == "answer" and self.answers:
            said = self.answers.pop(0)
            if said is not None:
                self.on_heard(Said("number", None, True) if said == "all" else Said("number", said))

    def keys(self, **pressed):
        def at(k):
            def poll():
                self.control.poll()
                return pressed.get(f"p{k}")
            return poll
        return Keys(**{f"p{k}": at(k) for k in range(3000)})


@pytest.fixture
def listening(env, cue_cache, fake_audio):
    def make(recogniser, answers=None, **pressed):
        return playing(env, fake_audio(), recogniser.keys(**pressed), answers, cache_dir=cue_cache,
                       now=lambda: DAY0, listener=recogniser)
    return make


def logged(env) -> list[dict]:
    code, out, err = run_in(env, "history", "--json")
    assert code == 0, err
    return json.loads(out)


def test_the_counts_said_at_each_set_end_are_logged(listening, short):
    heard = Recogniser(8, "all")
    env = listening(heard)
    code, out, err = run_in(env, "play", str(short), "--listen", "--mic", "2", "--wake", "Trainer")
    assert code == 0, err
    assert heard.opened == [(2, "trainer")]
    assert "Logged 10 perfect reps (8 2)." in out                       # no terminal needed
    [workout] = logged(env)
    assert [(s["perfect"], s["played"], s["cut_short"]) for s in workout["sets"]] == [(8, 2, False), (2, 2, False)]
    with sqlite3.connect(history_path(env.data_dir)) as db:             # the rows 'log' writes
        assert db.execute("SELECT number, perfect, played FROM sets ORDER BY number").fetchall() == \
            [(1, 8, None), (2, 2, None)]


def test_no_answer_records_what_was_played(listening, short):
    heard = Recogniser(None, None)
    env = listening(heard)
    code, out, err = run_in(env, "play", str(short), "--listen")
    assert code == 0, err
    assert "Log your perfect reps later: voicecoach log short 2 2" in out
    assert [s["perfect"] for s in logged(env)[0]["sets"]] == [None, None]
    # the player told the listener when it sounded: the coach's cues, and silences
    shares = [share for _, _, share in heard.spans]
    assert heard.spans and 0 < sum(shares) < len(shares)
    assert all(b > a for a, b, _ in heard.spans) and all(0 <= s <= 1 for s in shares)


def test_on_a_terminal_the_count_said_is_offered_and_the_others_asked(listening, short):
    env = listening(Recogniser(8, None), answers="\n1\n")             # Enter keeps 8; set 2: typed 1
    code, out, err = run_in(env, "play", str(short), "--listen")
    assert code == 0, err
    assert "Set 1 of 2: perfect reps [8]: " in err and "Set 2 of 2: perfect reps [2]: " in err
    assert [s["perfect"] for s in logged(env)[0]["sets"]] == [8, 1]


def test_a_set_left_early_records_the_answer_and_is_cut_short(listening, short):
    env = listening(Recogniser(0, "all"), **{f"p{SET1_REP2}": "n"})   # "none": not the 1 played
    code, out, err = run_in(env, "play", str(short), "--listen")
    assert code == 0, err
    [workout] = logged(env)
    assert [(s["perfect"], s["played"], s["cut_short"]) for s in workout["sets"]] == [(0, 1, True), (2, 2, False)]
    code, out, _ = run_in(env, "history")
    assert out.splitlines()[1].endswith("done, set 1 cut short")


def test_listen_without_the_extra_says_how_to_get_it(env, fake_audio, short, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pocketsphinx" else real(name))
    code, out, err = run_in(playing(env, fake_audio()), "play", str(short), "--listen")
    assert code == 1 and out == ""
    assert err.strip() == ("voicecoach: error: --listen needs the voice-control extra: "
                           "pip install 'voicecoach[voice-control]' (scripts/setup installs it)")


@pytest.mark.parametrize("args, message", [
    (["--mic", "1"], "--mic: only with --listen"),
    (["--listen", "--wake", "hey coach"], "--wake: expected one word, got 'hey coach'"),
])
def test_microphone_options_without_listening_or_a_wake_phrase_are_bad_input(env, fake_audio, short, args,
                                                                             message):
    code, out, err = run_in(playing(env, fake_audio(), listener=Recogniser()), "play", str(short), *args)
    assert code == 2 and err.strip() == f"voicecoach: error: {message}"
