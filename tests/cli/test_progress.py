"""Progress lines while a session is prepared: on a terminal only, never with ``--quiet``."""

from __future__ import annotations

import io
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


def _cold(env, tmp_path, name: str, tty: bool):
    """``env`` with an empty cue cache of its own, stderr a terminal or not."""
    stderr = Terminal() if tty else io.StringIO()
    return replace(env, cache_dir=tmp_path / name, stderr=stderr, stderr_isatty=tty)


def test_a_cold_export_on_a_terminal_shows_cues_synthesised_then_writing(env, tmp_path, tiny):
    term = _cold(env, tmp_path, "tty", tty=True)
    r = run_in(term, "export", str(tiny), "--engine", "pyttsx3", "-o", str(tmp_path / "t.wav"))
    assert r.code == 0, r.err
    lines = re.sub(r"\x1b\[\?25[hl]", "", r.err).replace("\r", "\n")  # click hides the cursor meanwhile
    counts = [line.rsplit("]", 1)[1].strip() for line in lines.splitlines() if "cues synthesised" in line]
    total = int(counts[0].split(" of ")[1])
    assert total > 1 and counts[0] == f"0 of {total}" and counts[-1] == f"{total} of {total}", counts
    assert lines.index("cues synthesised") < lines.index("Writing t.wav") and "100%" in lines
    again = run_in(term, "export", str(tiny), "--engine", "pyttsx3", "-o", str(tmp_path / "t.wav"))
    assert again.code == 0 and "cues synthesised" not in again.err  # a warm cache synthesises nothing
    assert "Writing t.wav" in again.err


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
