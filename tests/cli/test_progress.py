"""Progress lines while a session is prepared: on a terminal only, never with ``--quiet``."""

from __future__ import annotations

import io
import itertools
import re
from dataclasses import replace

import pytest

from running import TINY_PRESET, run_in


class Terminal(io.StringIO):
    """stderr as a terminal: click's progress bar draws only on one."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_PRESET)
    return path


def _cold(env, tmp_path, name: str, tty: bool, step: float = 1.0):
    """``env`` with an empty cue cache of its own, stderr a terminal or not, and a clock that moves ``step``
    seconds at every look (a second: every wait is long enough to be shown)."""
    stderr = Terminal() if tty else io.StringIO()
    clock = itertools.count(0.0, step).__next__
    return replace(env, cache_dir=tmp_path / name, stderr=stderr, stderr_isatty=tty, clock=clock)


def _lines(err: str) -> str:
    return re.sub(r"\x1b\[\?25[hl]", "", err).replace("\r", "\n")  # click hides the cursor meanwhile


def test_a_cold_export_on_a_terminal_shows_cues_synthesised_then_loudness_then_writing(env, tmp_path, tiny):
    term = _cold(env, tmp_path, "tty", tty=True)
    r = run_in(term, "export", str(tiny), "--engine", "pyttsx3", "-o", str(tmp_path / "t.wav"))
    assert r.code == 0, r.err
    lines = _lines(r.err)
    counts = [line.rsplit("]", 1)[1].strip() for line in lines.splitlines() if "cues synthesised" in line]
    total = int(counts[0].split(" of ")[1])
    assert total > 1 and counts[0] == f"0 of {total}" and counts[-1] == f"{total} of {total}", counts
    loudness = [line for line in lines.splitlines() if line.startswith("measuring loudness")]
    assert loudness and loudness[-1].endswith("100%"), loudness
    assert lines.index("cues synthesised") < lines.index("measuring loudness") < lines.index("Writing t.wav")
    again = run_in(term, "export", str(tiny), "--engine", "pyttsx3", "-o", str(tmp_path / "t.wav"))
    assert again.code == 0, again.err  # a warm cache: nothing synthesised, the loudness known
    assert "cues synthesised" not in again.err and "measuring loudness" not in again.err
    assert "Writing t.wav" in again.err


def test_a_wait_under_half_a_second_shows_no_line(env, tmp_path, tiny):
    still = _cold(env, tmp_path, "still", tty=True, step=0.0)
    r = run_in(still, "export", str(tiny), "--engine", "pyttsx3", "-o", str(tmp_path / "s.wav"))
    assert r.code == 0, r.err
    assert "cues synthesised" not in r.err and "measuring loudness" not in r.err and "Writing s.wav" in r.err


def test_no_progress_when_stderr_is_not_a_terminal_or_with_quiet(env, tmp_path, tiny):
    piped = _cold(env, tmp_path, "piped", tty=False)
    r = run_in(piped, "export", str(tiny), "--engine", "pyttsx3", "-o", str(tmp_path / "p.wav"))
    assert r.code == 0 and r.err == "", r.err
    quiet = _cold(env, tmp_path, "quiet", tty=True)
    r = run_in(quiet, "export", str(tiny), "--engine", "pyttsx3", "--quiet", "-o", str(tmp_path / "q.wav"))
    assert r.code == 0 and r.err == "", r.err
    assert (tmp_path / "q.wav").read_bytes() == (tmp_path / "p.wav").read_bytes()


def test_timeline_shows_synthesis_on_a_terminal_and_not_with_quiet(env, tmp_path, tiny):
    term = _cold(env, tmp_path, "timeline", tty=True)
    r = run_in(term, "timeline", str(tiny), "--engine", "pyttsx3", "--quiet", "--json")
    assert r.code == 0 and r.err == "", r.err
    term = _cold(env, tmp_path, "timeline2", tty=True)
    shown = run_in(term, "timeline", str(tiny), "--engine", "pyttsx3", "--json")
    assert shown.code == 0 and "cues synthesised" in shown.err and shown.out == r.out


def test_a_cold_play_shows_one_count_for_the_session_and_the_players_messages(env, tmp_path, tiny, fake_audio):
    from fake_play import playing

    cold = _cold(env, tmp_path, "play", tty=True)
    term = replace(playing(cold, fake_audio()), clock=cold.clock)  # every wait long enough to show
    r = run_in(term, "play", str(tiny), "--engine", "pyttsx3")
    assert r.code == 0, r.err
    counts = [line.rsplit("]", 1)[1].strip() for line in _lines(r.err).splitlines() if "cues synthesised" in line]
    total = int(counts[0].split(" of ")[1])
    assert counts.count(f"0 of {total}") == 1 and counts[-1] == f"{total} of {total}", counts  # one batch
    assert len(list((cold.cache_dir / "cues").iterdir())) == total  # every phrase, the messages too, in it
    assert "finished" in r.out
