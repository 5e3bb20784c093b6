"""Music under the coach, on real audio: exported stems read back, and live."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from pulse import SR, best_lag, stop_recording
from workers import one_worker_at_a_time

from voicecoach.audio.custom_sounds import load_sound, shipped_sound

pytestmark = pytest.mark.e2e
DEPTH = 12.0


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    """A steady 220 Hz tone, 44.1 kHz stereo, 2.5 s: loops, resamples, downmixes."""
    path = tmp_path_factory.mktemp("music") / "tone.flac"
    t = np.arange(int(2.5 * 44100)) / 44100
    x = 0.5 * np.sin(2 * np.pi * 220 * t)
    sf.write(path, np.stack([x, x], axis=1), 44100)
    return path


def run_vc(cue_cache, *args, extra_env=None):
    env = {**os.environ, "VOICECOACH_CACHE_DIR": str(cue_cache), **(extra_env or {})}
    return subprocess.run([sys.executable, "-m", "voicecoach", *args], env=env,
                          capture_output=True, text=True, timeout=300)


def _with_music(tmp_path_factory, cue_cache, song, engine):
    out = tmp_path_factory.mktemp("with-music")
    args = ["plank", "--sets", "2", "--rest", "20", "--engine", engine]
    with one_worker_at_a_time(tmp_path_factory, f"with-music-{engine}"):
        r = run_vc(cue_cache, "export", *args, "--music", str(song), "--music-volume", "-3",
                   "-o", str(out / "s.wav"), "--float", "--stems")
    assert r.returncode == 0, r.stderr
    plan = json.loads(run_vc(cue_cache, "timeline", *args, "--json").stdout)
    stems = {k: sf.read(out / f"s.{k}.wav", dtype="float32")[0] for k in ("voice", "ticks", "music")}
    mix = sf.read(out / "s.wav", dtype="float32")[0]
    return plan, stems, mix


@pytest.fixture(scope="module", params=["auto", "pyttsx3"], ids=["default-neural", "pyttsx3"])
def with_music(tmp_path_factory, cue_cache, song, request):
    return _with_music(tmp_path_factory, cue_cache, song, request.param)


@pytest.fixture(scope="module")
def with_music_espeak(tmp_path_factory, cue_cache, song):
    """Where espeak's peaks fall the sum stays under the limiter; the neural
    voice's peaks land elsewhere and the limiter (rightly) acts."""
    return _with_music(tmp_path_factory, cue_cache, song, "pyttsx3")


def rms(x):
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_music_ducks_by_the_depth_while_the_voice_speaks(with_music):
    plan, stems, _ = with_music
    music = stems["music"]
    speech = [(e["frame"], e["frame"] + e["frames"]) for e in plan["events"] if e["kind"] == "speech"]
    margin = int(0.5 * SR)                                  # clear of attack and release
    under = [music[a:b] for a, b in speech if b - a > SR // 4]
    free = [music[b + margin:a2 - margin] for (_, b), (a2, _) in zip(speech, speech[1:])
            if a2 - b > 2 * margin + SR // 4]
    assert len(under) > 5 and len(free) > 3
    level_free = rms(np.concatenate(free))
    for piece in under:
        drop = 20 * np.log10(level_free / rms(piece))
        assert DEPTH - 1.0 <= drop <= DEPTH + 1.0, drop
    # between cues the music keeps one level (its own at -3 dB, times the
    # session's one loudness gain)
    levels = [rms(piece) for piece in free if len(piece) > SR // 2]
    assert max(levels) / min(levels) < 10 ** (0.2 / 20)


def k_weighted(x):
    """BS.1770's K-weighting at 48 kHz from the standard's own coefficients
    (not our filter), applied with scipy."""
    from scipy.signal import lfilter
    x = lfilter([1.53512485958697, -2.69169618940638, 1.19839281085285],
                [1.0, -1.69065929318241, 0.73248077421585], x)
    return lfilter([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621], x)


def loud_music(path, kind, sr=44100):
    """Eight seconds of stereo music at 44.1 kHz: pink noise squashed the way a
    loud master is, a dense chord (both peaking at -1 dBFS), or the noise at -30 dBFS."""
    rng = np.random.default_rng(7)
    n = 8 * sr
    t = np.arange(n) / sr
    if kind == "chord":
        x = sum(np.sin(2 * np.pi * f * t + k)
                for k, f in enumerate((110, 164.8, 220, 277.2, 329.6, 440, 554.4, 659.3)))
    else:
        spec = np.fft.rfft(rng.standard_normal(n))
        spec[1:] /= np.sqrt(np.fft.rfftfreq(n, 1 / sr)[1:])
        spec[0] = 0
        x = np.fft.irfft(spec, n)
        x = np.tanh(4 * x / np.abs(x).max()) if kind == "noise" else x
    peak = -30.0 if kind == "quiet" else -1.0
    x *= 10 ** (peak / 20) / np.abs(x).max()
    sf.write(path, np.stack([x, 0.9 * x], axis=1), sr)
    return path


@pytest.mark.parametrize("kind", ["noise", "chord", "quiet"])
def test_the_voice_stays_10_db_over_the_ducked_music_however_loud_it_is(tmp_path, cue_cache, kind):
    """A track mastered near full scale was ducked by the same 12 dB as any
    other and left the coach 2 dB over it; the music's level now follows its
    loudness under the speech (K-weighted, over the speech's frames)."""
    song = loud_music(tmp_path / f"{kind}.flac", kind)
    args = ["plank", "--sets", "2", "--rest", "20", "--engine", "pyttsx3"]
    r = run_vc(cue_cache, "export", *args, "--music", str(song), "-o", str(tmp_path / "s.wav"),
               "--float", "--stems")
    assert r.returncode == 0, r.stderr
    plan = json.loads(run_vc(cue_cache, "timeline", *args, "--json").stdout)
    voice, music = (sf.read(tmp_path / f"s.{k}.wav", dtype="float64")[0] for k in ("voice", "music"))
    speech = np.zeros(len(voice), dtype=bool)
    for e in plan["events"]:
        if e["kind"] == "speech":
            speech[e["frame"]:e["frame"] + e["frames"]] = True
    assert speech.mean() > 0.1 and np.abs(music[speech]).max() > 0

    def level(x):
        return 10 * np.log10(np.mean(np.square(k_weighted(x)[speech])))
    over = level(voice) - level(music)
    assert over >= 10.0, over
    if kind == "quiet":              # quiet music is left as it was, not raised
        assert over > 30.0, over
    else:                            # and loud music is not pushed further down than needed
        assert over < 11.5, over


def test_no_jump_at_duck_edges_beyond_the_music_itself(with_music):
    _, stems, _ = with_music
    music = stems["music"]
    own = 0.5 * 10 ** (-3 / 20) * 2 * np.pi * 220 / SR      # the tone's largest step at -3 dB
    assert np.max(np.abs(np.diff(music))) <= own * 1.02


def test_the_mix_stays_under_full_scale_with_either_voice(with_music):
    _, stems, mix = with_music
    assert np.max(np.abs(mix)) < 1.0                        # the limiter acts when the sum would not
    # the voice, prepared at -3 dBFS, rises with the loudness gain when the music is trimmed
    assert 10 ** (-3 / 20) < np.max(np.abs(stems["voice"])) < 1.0


def test_stems_sum_to_the_mix_when_nothing_is_limited(with_music_espeak):
    _, stems, mix = with_music_espeak
    total = stems["voice"] + stems["ticks"] + stems["music"]
    assert np.max(np.abs(total)) < 0.89                     # under the limiter's threshold
    assert np.max(np.abs(mix - total)) < 1e-6


def test_custom_sounds_sit_on_their_frames(tmp_path, cue_cache):
    preset = tmp_path / "mine.toml"
    preset.write_text('title = "Mine"\nexercise = "leg lift"\nsets = 2\nreps = 2\nrest = 6\n'
                      'tempo = "2-0-1-0"\n[sounds]\ntick = "woodblock"\nrest_end = "chime"\n')
    r = run_vc(cue_cache, "export", str(preset), "-o", str(tmp_path / "c.wav"), "--float", "--stems")
    assert r.returncode == 0, r.stderr
    plan = json.loads(run_vc(cue_cache, "timeline", str(preset), "--json").stdout)
    ticks = sf.read(tmp_path / "c.ticks.wav", dtype="float32")[0]
    wood = load_sound(shipped_sound("woodblock"), SR, kind="tick")
    chime = load_sound(shipped_sound("chime"), SR, kind="bell")
    rest_end = [e for e in plan["events"] if e["kind"] == "bell" and e["text"] == "rest_end"]
    assert len(rest_end) == 1 and rest_end[0]["frames"] == len(chime)
    for e in plan["events"]:
        if e["kind"] == "tick":
            f = e["frame"]
            got = ticks[f:f + len(wood)]
            assert np.corrcoef(got, wood[:len(got)])[0, 1] > 0.99
    f = rest_end[0]["frame"]
    lag, corr = best_lag(ticks[f - 480:f + len(chime) + 480], chime)
    assert lag == 480 and corr > 0.9                       # the accent of the new set sits on it too


def test_missing_custom_sound_fails_before_playback(tmp_path, cue_cache):
    preset = tmp_path / "bad.toml"
    preset.write_text('title = "B"\nexercise = "x"\nsets = 1\nreps = 1\ntempo = "2020"\n'
                      '[sounds]\nbell = "nope.wav"\n')
    r = run_vc(cue_cache, "export", str(preset), "-o", str(tmp_path / "b.wav"))
    assert r.returncode == 2 and "sounds.bell" in r.stderr and "no such sound file" in r.stderr
    assert not (tmp_path / "b.wav").exists()
    (tmp_path / "nope.wav").write_text("not audio")
    r = run_vc(cue_cache, "export", str(preset), "-o", str(tmp_path / "b.wav"))
    assert r.returncode == 2 and "nope.wav" in r.stderr and "Traceback" not in r.stderr


def test_music_export_memory_stays_flat(tmp_path, cue_cache, song):
    def peak(args):
        # speak every cue first: a cache miss would start a speech worker, whose memory
        # (a neural voice: about 200 MB) is not the export's
        subprocess.run([sys.executable, "-m", "voicecoach", "timeline", *args],
                       env={**os.environ, "VOICECOACH_CACHE_DIR": str(cue_cache)},
                       capture_output=True, check=True, timeout=600)
        probe = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True,"
                 " stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        out = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "voicecoach", "export",
                              *args, "--music", str(song), "-o", str(tmp_path / "x.wav")],
                             env={**os.environ, "VOICECOACH_CACHE_DIR": str(cue_cache)},
                             capture_output=True, text=True, check=True)
        return int(out.stdout)
    small = peak(["leg-lifts", "--sets", "2", "--reps", "10", "--rest", "30"])
    big = peak(["leg-lifts", "--sets", "9", "--reps", "50"])        # about an hour
    assert sf.info(tmp_path / "x.wav").duration > 3500
    assert big <= small * 1.25 and big - small < 20 * 1024, (small, big)


def test_live_with_music_equals_the_export(pulse, vc, short_preset, song, tmp_path):
    preset = short_preset(sets=1, reps=2)
    r = vc("export", str(preset), "--music", str(song), "-o", str(tmp_path / "ref.wav"), "--float")
    assert r.returncode == 0, r.stderr
    ref = sf.read(tmp_path / "ref.wav", dtype="float32")[0]
    rec_path = tmp_path / "rec.raw"
    rec = pulse.record(rec_path)
    r = vc("play", str(preset), "--music", str(song), "--device", "pulse")
    recording = stop_recording(rec, rec_path)
    assert r.returncode == 0, r.stderr
    assert "nanobind" not in r.stderr          # no soxr resampler outlives the music it played
    lag, corr = best_lag(recording, ref)
    assert corr >= 0.98, corr
    # the end is whole (the music's fade-out to its last frame) and no click follows
    end = lag + len(ref)
    assert np.max(np.abs(recording[end - SR // 2:end] - ref[-(SR // 2):])) < 0.02
    assert np.max(np.abs(ref[-(SR // 2):-(SR // 4)])) > 0.01          # music was still there
    assert np.max(np.abs(recording[end:])) < 0.01
