"""voicecoach benchmarks: each figure against a baseline measured in the same run.

Run through ``scripts/bench`` (which sets up first). Prints a Markdown table;
``--markdown`` also writes it to docs/benchmarks.md and into the README
between its bench markers. ``--quick`` skips play under CPU hogs;
``--pairs N`` runs every comparison N times instead of 5 (7 for WAV).

Every comparison runs ours and the baseline in turn (A B A B ...) and
reports the median of the pair ratios, so a busy machine slows both alike.

Targets:
  export 30 min WAV           ours / klick -W           <= 1.0 (warm cue cache, 7 pairs)
  export 30 min, each format  ours / its standalone encoder on the same PCM (ffmpeg)
  MP3 30 min                  ours / ffmpeg libmp3lame -q:a 4   <= 1.0
  MP3 mix + 2 stems           / the mix alone           <= 1.6 (2 cores)
  peak memory 3 h export      3 h / 5 min (WAV; MP3 + stems)  <= 1.2, and < 150 MB
  cold synthesis, neural      default session           <= 2.5 s (baseline: cold synthesis, espeak; A B A B pairs)
  cold synthesis, espeak      default session           <= 2 s  (baseline: espeak-ng CLI, same phrases)
  warm cue load               default session           well under 1 s
  first sound, warm cache      ours / paplay             <= 0.3 s absolute (built-in and user preset)
  first sound, empty cache     ours / paplay             <= 1.0 s absolute (neural voice)
  render step per block       p50 / p99 / max           p99 <= 2 %, max <= 20 % of the block
  Ctrl-C during play          SIGINT to exit            <= 0.2 s
  play under CPU hogs         windows differing, underruns   0 and 0 (--against REV: the same for REV's code)
  hostile inputs and targets  peak memory, exit code    < 200 MB, the expected exit, no hang
  voice commands, corpus      recognised at 10 dB SNR   >= 95 %; false commands <= 1 an hour;
                              end of command to report  <= 0.5 s
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")     # as the command does: no BLAS thread spinning
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
VC = [sys.executable, "-m", "voicecoach"]
SESSION_30_MIN = ["leg-lifts", "--sets", "6", "--reps", "34"]    # 30.0 min, as klick's
SESSION_3_H = ["leg-lifts", "--sets", "18", "--reps", "80"]
SESSION_5_MIN = ["leg-lifts", "--sets", "2", "--reps", "10", "--rest", "30"]
SESSION_UNDER_LOAD = ["leg-lifts", "--sets", "1", "--reps", "6"]
PAIRS = {"default": 5, "wav": 7}     # A/B pairs per comparison; --pairs sets both
BENCH_DOC = ROOT / "docs" / "benchmarks.md"
README = ROOT / "README.md"
MARKERS = ("<!-- bench:begin (written by scripts/bench --markdown) -->", "<!-- bench:end -->")


PROBE = ("import resource, subprocess, sys, time; t = time.perf_counter();"
         "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL);"
         "d = time.perf_counter() - t;"
         "print(r.returncode, d, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def time_once(cmd: list[str], env: dict, fresh: Path | None = None) -> tuple[float, int]:
    """Wall time of one run of ``cmd`` and its peak RSS (KiB).

    ``fresh``: a file deleted first, so the command writes a new file rather
    than replacing one (ext4 flushes a file written over another).
    """
    if fresh is not None:
        fresh.unlink(missing_ok=True)
        os.sync()
    out = subprocess.run([sys.executable, "-c", PROBE, *cmd], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    if out[0] != "0":
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return float(out[1]), int(out[2])


def run_timed(cmd: list[str], env: dict, repeat: int = 5,
              fresh: Path | None = None) -> tuple[float, int]:
    """Median wall time of ``repeat`` runs, and the peak RSS (KiB) of the last."""
    times, rss = [], 0
    for _ in range(repeat):
        t, rss = time_once(cmd, env, fresh)
        times.append(t)
    return statistics.median(times), rss


def paired(a: list[str], b: list[str], env: dict, kind: str = "default",
           fresh: tuple[Path | None, Path | None] = (None, None)) -> tuple[float, float, float]:
    """Run ``a`` and ``b`` in turn (``PAIRS[kind]`` times): medians of each,
    and the median of the pair ratios a/b."""
    ta, tb, ratios = [], [], []
    for _ in range(PAIRS[kind]):
        x, _ = time_once(a, env, fresh[0])
        y, _ = time_once(b, env, fresh[1])
        ta.append(x)
        tb.append(y)
        ratios.append(x / y)
    return statistics.median(ta), statistics.median(tb), statistics.median(ratios)


def bench_export(env: dict, work: Path) -> list[tuple]:
    ours_wav, klick_wav = work / "ours.wav", work / "klick.wav"
    ours_cmd = VC + ["export", *SESSION_30_MIN, "-o", str(ours_wav)]
    klick_cmd = ["klick", "-W", str(klick_wav), "450", "4/4", "60"]
    subprocess.run(ours_cmd, env=env, check=True, capture_output=True)    # warms the cue cache
    import soundfile as sf
    rows = []
    for mode, fresh in (("new file", True), ("over the last one", False)):
        ours, klick, ratio = paired(ours_cmd, klick_cmd, env, "wav",
                                    fresh=(ours_wav, klick_wav) if fresh else (None, None))
        rows.append((f"export 30 min, 48 kHz mono PCM_16 WAV, {mode} (warm cache)",
                     f"{ours:.3f} s ({sf.info(ours_wav).duration / 60:.1f} min)",
                     f"klick -W: {klick:.3f} s ({sf.info(klick_wav).duration / 60:.1f} min)",
                     f"{ratio:.2f}", "<= 1.0"))
    return rows


STANDALONE = {
    "flac": ["-c:a", "flac"],
    "ogg": ["-c:a", "libvorbis"],
    "opus": ["-c:a", "libopus"],
    "mp3": ["-c:a", "libmp3lame", "-q:a", "4"],
}


def _bitrate(path: Path) -> str:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=bit_rate", "-of",
                          "csv=p=0", str(path)], capture_output=True, text=True, check=False).stdout.strip()
    return f"{int(out) / 1000:.0f} kbit/s" if out.isdigit() else "?"


def _snr(path: Path, reference: np.ndarray) -> float:
    """SNR (dB) of a decoded file against the PCM it was made from."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1", "-"],
                         capture_output=True, check=True).stdout
    got = np.frombuffer(raw, "<f4")[:len(reference)].astype(np.float64)
    ref = reference[:len(got)]
    return 10 * np.log10(np.sum(ref ** 2) / max(np.sum((got - ref) ** 2), 1e-30))


def bench_mp3(env: dict, work: Path) -> list[tuple]:
    """The MP3 rows only."""
    return bench_formats(env, work, only=("mp3",))


def bench_formats(env: dict, work: Path, only: tuple[str, ...] = tuple(STANDALONE)) -> list[tuple]:
    """Each format against its standalone encoder (ffmpeg) on the same PCM."""
    import soundfile as sf
    pcm = work / "pcm.wav"
    subprocess.run(VC + ["export", *SESSION_30_MIN, "-o", str(pcm)], env=env, check=True,
                   capture_output=True)
    reference = sf.read(pcm, dtype="float64")[0]
    rows = []
    for fmt, codec in STANDALONE.items():
        if fmt not in only:
            continue
        ours_path, theirs_path = work / f"ours.{fmt}", work / f"ffmpeg.{fmt}"
        ours_cmd = VC + ["export", *SESSION_30_MIN, "-o", str(ours_path)]
        theirs_cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(pcm), *codec, str(theirs_path)]
        ours, theirs, ratio = paired(ours_cmd, theirs_cmd, env)
        note = ""
        if fmt == "mp3":
            note = (f"; {_bitrate(ours_path)} vs {_bitrate(theirs_path)}, SNR "
                    f"{_snr(ours_path, reference):.1f} vs {_snr(theirs_path, reference):.1f} dB")
        rows.append((f"export 30 min, 48 kHz mono {fmt.upper()} (warm cache)",
                     f"{ours:.2f} s", f"ffmpeg {' '.join(codec)} on the PCM: {theirs:.2f} s{note}",
                     f"{ratio:.2f}", "<= 1.0" if fmt == "mp3" else "as fast as its encoder"))
    mix = work / "mix.mp3"
    alone = VC + ["export", *SESSION_30_MIN, "-o", str(mix)]
    stems = VC + ["export", *SESSION_30_MIN, "-o", str(mix), "--stems"]
    with_stems, mix_alone, ratio = paired(stems, alone, env)
    rows.append(("export 30 min MP3, mix + voice and ticks stems vs the mix alone",
                 f"{with_stems:.2f} s", f"mix alone: {mix_alone:.2f} s", f"{ratio:.2f}", "<= 1.6"))
    stereo = VC + ["export", *SESSION_30_MIN, "-o", str(work / "st.mp3"), "--samplerate", "44100",
                   "--channels", "2"]
    pcm2 = work / "pcm2.wav"
    subprocess.run(VC + ["export", *SESSION_30_MIN, "-o", str(pcm2), "--samplerate", "44100",
                         "--channels", "2"], env=env, check=True, capture_output=True)
    theirs_cmd = ["ffmpeg", "-v", "error", "-y", "-i", str(pcm2), *STANDALONE["mp3"],
                  str(work / "st-ffmpeg.mp3")]
    ours, theirs, ratio = paired(stereo, theirs_cmd, env)
    rows.append(("export 30 min, 44.1 kHz stereo MP3", f"{ours:.2f} s",
                 f"ffmpeg libmp3lame -q:a 4 on the PCM: {theirs:.2f} s", f"{ratio:.2f}", "<= 1.0"))
    if only != tuple(STANDALONE):
        return rows
    song = _song(work)
    music = VC + ["export", *SESSION_30_MIN, "-o", str(work / "mu.mp3"), "--music", str(song)]
    ours, plain, ratio = paired(music, alone, env)
    rows.append(("export 30 min MP3 with music (loudness pass decodes it twice) vs without", f"{ours:.2f} s", f"no music: {plain:.2f} s", f"{ratio:.2f}",
                 "cost of the first pass"))
    return rows


def bench_loudness(env: dict, work: Path) -> list[tuple]:
    """What the loudness gain costs before the first sound (no music): the rule by construction."""
    from voicecoach.audio.session import planned_loudness, prepare
    from voicecoach.plan.preset_files import load_preset
    preset = load_preset("leg-lifts").with_overrides(sets=6, reps=34)
    s = prepare(preset, Path(env["VOICECOACH_CACHE_DIR"]))
    times = []
    for _ in range(5):
        t = time.perf_counter()
        planned = planned_loudness(s)
        times.append(time.perf_counter() - t)
    return [("loudness gain of a 30 min session before playing (no music, by construction, median of 5)",
             f"{statistics.median(times) * 1000:.0f} ms",
             f"planned {planned:.1f} LUFS, gain {-19.0 - planned:+.1f} dB", "",
             "well under 1 s")]


def bench_memory(env: dict, work: Path) -> list[tuple]:
    for session in (SESSION_3_H, SESSION_5_MIN):     # both sessions' cues cached: no speech engine
        subprocess.run(VC + ["export", *session, "-o", str(work / "warm.wav")], env=env,
                       check=True, capture_output=True)
    measured = Path(env["VOICECOACH_CACHE_DIR"]) / "loudness"   # each run measures its loudness
    shutil.rmtree(measured, ignore_errors=True)
    _, small = run_timed(VC + ["export", *SESSION_5_MIN, "-o", str(work / "m5.wav")], env, 1)
    shutil.rmtree(measured, ignore_errors=True)
    _, big = run_timed(VC + ["export", *SESSION_3_H, "-o", str(work / "m180.wav")], env, 1)
    _, music = run_timed(VC + ["export", *SESSION_3_H, "-o", str(work / "m180m.wav"), "--music",
                               str(_song(work))], env, 1)
    # MP3 with stems: three writers and their shared store of encoded islands
    shutil.rmtree(measured, ignore_errors=True)
    _, small_mp3 = run_timed(VC + ["export", *SESSION_5_MIN, "-o", str(work / "m5.mp3"),
                                   "--stems"], env, 1)
    shutil.rmtree(measured, ignore_errors=True)
    _, big_mp3 = run_timed(VC + ["export", *SESSION_3_H, "-o", str(work / "m180.mp3"),
                                 "--stems"], env, 1)
    import soundfile as sf
    hours = sf.info(work / "m180.wav").duration / 3600
    return [("peak memory, export 3 h vs 5 min", f"{big / 1024:.0f} MB ({hours:.2f} h)",
             f"5 min: {small / 1024:.0f} MB", f"{big / small:.2f}", "<= 1.2, < 150 MB"),
            ("peak memory, export 3 h vs 5 min, MP3 with voice and ticks stems",
             f"{big_mp3 / 1024:.0f} MB", f"5 min: {small_mp3 / 1024:.0f} MB",
             f"{big_mp3 / small_mp3:.2f}", "<= 1.2, < 150 MB"),
            ("peak memory, export 3 h with music (MP3, looped) vs 5 min", f"{music / 1024:.0f} MB",
             f"5 min: {small / 1024:.0f} MB", f"{music / small:.2f}", "flat")]


def _run_any(cmd: list[str], env: dict, stdin_feed: bool = False) -> tuple[int, float, int]:
    """Exit code, wall time and peak RSS (KiB) of ``cmd``, whatever it exits with."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter();"
             "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,"
             " timeout=600);"
             "print(r.returncode, time.perf_counter() - t,"
             " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, *cmd], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    return int(out[0]), float(out[1]), int(out[2])


def bench_hostile(env: dict, work: Path) -> list[tuple]:
    """Every special file is made here, in the bench's own folder."""
    import soundfile as sf
    h = work / "hostile"
    h.mkdir()
    preset = h / "tiny.toml"
    preset.write_text('title = "Tiny"\nexercise = "lift"\nsets = 1\nreps = 2\nrest = 5\n'
                      'tempo = "1-0-1-0"\n')
    subprocess.run(VC + ["timeline", str(preset)], env=env, check=True, capture_output=True)
    os.mkfifo(h / "fifo.toml")
    with open(h / "huge.toml", "wb") as f:
        f.truncate(50 * 1024 ** 3)
    (h / "deep.toml").write_text("x = " + "[" * 1000 + "]" * 1000 + "\n")
    sf.write(h / "tiny.wav", np.full(10, 0.3, np.float32), 48000)
    tree = h / "tree"                       # stands in for '/': many entries, no audio
    for i in range(300):
        (tree / f"d{i}").mkdir(parents=True)
        for j in range(200):
            (tree / f"d{i}" / f"{j}.txt").touch()
    os.mkfifo(h / "out.fifo.wav")
    drained = threading.Thread(target=lambda: (h / "out.fifo.wav").read_bytes(), daemon=True)
    drained.start()
    cases = [
        ("presets validate FIFO", ["presets", "validate", str(h / "fifo.toml")], 2),
        ("presets validate 50 GiB sparse file", ["presets", "validate", str(h / "huge.toml")], 2),
        ("presets validate TOML 1000 deep", ["presets", "validate", str(h / "deep.toml")], 2),
        ("export --music 10-frame WAV", ["export", str(preset), "-o", str(h / "a.wav"),
                                         "--music", str(h / "tiny.wav")], 2),
        ("export --music tree of 60,000 entries", ["export", str(preset), "-o", str(h / "a.wav"),
                                                   "--music", str(tree)], 2),
        ("export -o FIFO, drained", ["export", str(preset), "-o", str(h / "out.fifo.wav")], 0),
    ]
    rows = []
    for name, args, expected in cases:
        code, seconds, rss = _run_any(VC + args, env)
        rows.append((f"hostile: {name}", f"exit {code}, {rss / 1024:.0f} MB, {seconds:.2f} s",
                     "-", "-", f"exit {expected}, < 200 MB"))
        if code != expected:
            raise SystemExit(f"{name}: exit {code}, expected {expected}")
    return rows


def _song(work: Path) -> Path:
    """A 20 s stereo 44.1 kHz MP3 to loop under a session."""
    import soundfile as sf
    path = work / "song.mp3"
    t = np.arange(20 * 44100) / 44100
    x = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
    sf.write(path, np.stack([x, x * 0.8], axis=1), 44100)
    return path


COLD = """
import sys, time
t = time.perf_counter()
from pathlib import Path
from voicecoach.cues.timing import cue_bank, spoken_timeline
from voicecoach.plan.preset_files import load_preset
if __name__ == "__main__":
    preset = load_preset("leg-lifts").with_overrides(engine=sys.argv[1])
    with cue_bank(preset, Path(sys.argv[2])) as bank:
        timeline = spoken_timeline(preset, bank)
    print(time.perf_counter() - t, len({e.text for e in timeline.events if e.kind == "speech"}))
"""


def _cold(engine: str, cache: Path, env: dict) -> tuple[float, int]:
    """One cold synthesis and plan of the default session, in a fresh process
    (worker start and model load included; the interpreter's own start not)."""
    shutil.rmtree(cache, ignore_errors=True)
    out = subprocess.run([sys.executable, "-c", COLD, engine, str(cache)], env=env, check=True,
                         capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1])


def _cue_texts() -> list[str]:
    from voicecoach.plan.preset_files import load_preset
    from voicecoach.plan.schedule import speech_texts
    return speech_texts(load_preset("leg-lifts"))


def _espeak_cli(texts: list[str], work: Path) -> float:
    t = time.perf_counter()
    for i, text in enumerate(texts):
        subprocess.run(["espeak-ng", "-w", str(work / f"e{i}.wav"), text], check=True)
    return time.perf_counter() - t


def bench_cues(env: dict, work: Path) -> list[tuple]:
    from voicecoach.cues.timing import cue_bank, spoken_timeline
    from voicecoach.plan.preset_files import load_preset
    texts = _cue_texts()
    neural, espeak, cli = [], [], []
    for _ in range(PAIRS["default"]):              # A B C A B C ...: all three see the same machine
        a, phrases = _cold("piper", work / "cold-piper", env)
        neural.append(a)
        espeak.append(_cold("pyttsx3", work / "cold-espeak", env)[0])
        cli.append(_espeak_cli(texts, work))
    cache = work / "cold-cache"
    _cold("auto", cache, env)
    t = time.perf_counter()
    with cue_bank(load_preset("leg-lifts"), cache) as bank:
        spoken_timeline(load_preset("leg-lifts"), bank)
        for text in texts:
            bank.frames(text)
    warm = time.perf_counter() - t
    med = statistics.median
    return [(f"cold synthesis, neural voice, default session ({phrases} phrases heard)", f"{med(neural):.2f} s",
             f"cold synthesis, espeak: {med(espeak):.2f} s",
             f"{med(a / b for a, b in zip(neural, espeak)):.2f}", "<= 2.5 s"),
            (f"cold synthesis, espeak (pyttsx3), default session ({len(texts)} phrases)",
             f"{med(espeak):.2f} s", f"espeak-ng CLI, same phrases: {med(cli):.2f} s",
             f"{med(b / c for b, c in zip(espeak, cli)):.2f}", "<= 2 s"),
            ("warm cue load + plan, default session (neural)", f"{warm * 1000:.0f} ms", "", "",
             "well under 1 s")]


def bench_callback(env: dict, work: Path) -> list[tuple]:
    """The render thread's step (the transport's fill and its mark) as live play
    runs it, at the session's loudness gain with the planned limiter gain; wall
    time (what the ring waits for) and the thread's CPU time (ours, without the
    waits another process causes)."""
    from voicecoach.audio.session import normalise, prepare
    from voicecoach.live.clips import session_clips
    from voicecoach.live.player import BLOCKSIZE
    from voicecoach.live.transport import Transport
    from voicecoach.plan.preset_files import load_preset
    cache = Path(env["VOICECOACH_CACHE_DIR"])
    s = normalise(prepare(load_preset("leg-lifts"), cache), -19.0, None, cache)
    clips = session_clips(s)
    t = Transport(s.mixer, s.timeline, clips)
    out = np.zeros((BLOCKSIZE, 1), np.float32)
    n = -(-s.timeline.frames // BLOCKSIZE) + 8
    walls, cpus = np.zeros(n, np.int64), np.zeros(n, np.int64)   # no allocation while measured
    clock, cpu = time.perf_counter_ns, time.thread_time_ns
    i = 0
    while not t.finished and i < n:
        a, c = clock(), cpu()
        t.fill(out)
        t.mark()
        walls[i], cpus[i] = clock() - a, cpu() - c
        i += 1
    block_ns = BLOCKSIZE / 48000 * 1e9
    share, own = walls[:i] / block_ns * 100, cpus[:i] / block_ns * 100
    return [(f"render-thread step with the loudness and limiter gain, {i} blocks of {BLOCKSIZE}",
             (f"p50 {np.percentile(share, 50):.3f} %, p99 {np.percentile(share, 99):.3f} %, "
              f"max {share.max():.2f} % (block {int(np.argmax(share))}); CPU max {own.max():.2f} %"),
             f"block = {block_ns / 1e6:.1f} ms", "", "p99 <= 2 %, max <= 20 %")]


def _with_pulse(env: dict, pulse) -> dict:
    """``env`` pointed at the bench's PulseAudio server. Only the server's two
    variables: ``pulse.env`` copies this process's whole environment, and with it
    would come back what ``env`` leaves out (PYTHONDONTWRITEBYTECODE: every run
    would compile the package again)."""
    return {**env, **{k: pulse.env[k] for k in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH")}}


def _first_sound_after(cmd: list[str], pulse, env: dict) -> float:
    """Seconds from launching ``cmd`` to the first audible chunk at the sink."""
    rec = subprocess.Popen(["parec", "--device=vc_e2e.monitor", "--rate=48000", "--channels=1",
                            "--format=float32le", "--latency-msec=5"], env=pulse.env,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    heard: list[float] = []

    def reader() -> None:
        while True:
            chunk = rec.stdout.read(960)
            if not chunk:
                return
            if not heard and np.max(np.abs(np.frombuffer(chunk, "<f4"))) > 1e-3:
                heard.append(time.perf_counter())
    th = threading.Thread(target=reader, daemon=True)
    th.start()
    time.sleep(1.0)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 90      # a cold cache on a busy machine
    while not heard and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.terminate()
    proc.wait()
    rec.terminate()
    rec.wait()
    return heard[0] - t0 if heard else float("nan")


def bench_first_sound(env: dict, work: Path, pulse) -> list[tuple]:
    """Process start to the first sample heard at the null sink, ours against
    paplay of a tick in turn (A B A B): warm and cold (the neural voice, an
    empty cue cache each run), a built-in preset and a user's own."""
    import soundfile as sf

    from voicecoach.audio.sounds import make_sound
    tick = work / "tick.wav"
    sf.write(tick, np.concatenate([make_sound("accent", 48000)] * 4), 48000)
    penv = _with_pulse(env, pulse)
    subprocess.run(VC + ["presets", "new", "mine", "--from", "leg-lifts"], env=penv, check=True,
                   capture_output=True)
    rows = []
    for preset in ("leg-lifts", "mine"):
        for cold in (False, True):
            engine = ["--engine", "piper"] if cold else []
            cmd = VC + ["play", preset, *engine, "--device", "pulse"]
            if not cold:
                subprocess.run(VC + ["timeline", preset], env=penv, check=True, capture_output=True)
            ours, base = [], []
            for i in range(PAIRS["default"]):
                run_env = {**penv, "VOICECOACH_CACHE_DIR": str(work / f"first-{preset}-{i}")} if cold else penv
                ours.append(_first_sound_after(cmd, pulse, run_env))
                base.append(_first_sound_after(["paplay", str(tick)], pulse, penv))
            ratio = statistics.median(a / b for a, b in zip(ours, base))
            state = "empty cue cache, neural voice" if cold else "warm cache"
            kind = "built-in" if preset == "leg-lifts" else "user"
            rows.append((f"command to first sound, play, {kind} preset ({state})",
                         f"{statistics.median(ours):.2f} s", f"paplay: {statistics.median(base):.2f} s",
                         f"{ratio:.2f}", "<= 1.0 s" if cold else "<= 0.3 s"))
    return rows


def bench_ctrl_c(env: dict, work: Path, pulse) -> list[tuple]:
    """Seconds from Ctrl-C (SIGINT) during live play to the process gone."""
    import signal
    penv = _with_pulse(env, pulse)
    times = []
    for _ in range(5):
        proc = subprocess.Popen(VC + ["play", "--device", "pulse"], env=penv,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(3.0)
        t = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        code = proc.wait()
        times.append(time.perf_counter() - t)
        if code != 130:
            raise SystemExit(f"play exited {code} on Ctrl-C, not 130")
    return [("Ctrl-C during play to exit (130)", (f"{statistics.median(times):.3f} s "
                                                  f"(max {max(times):.3f})"), "", "", "<= 0.2 s")]


def _play_recorded(cmd: list[str], pulse, env: dict, path: Path) -> tuple[str, np.ndarray]:
    """Play ``cmd`` live through the null sink under CPU hogs, one per core plus one,
    recording the sink: the summary line and the recording. It runs in ``path``'s
    folder: ``python -m`` puts the current folder first on the path."""
    from pulse import cpu_load, stop_recording
    rec = pulse.record(path)
    with cpu_load((os.cpu_count() or 1) + 1):
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
                           cwd=path.parent)
    recording = stop_recording(rec, path)
    summary = [line for line in r.stdout.splitlines() if "underruns: " in line]
    under = summary[0].split("underruns: ")[1].split(";")[0] if summary else f"failed: {r.stderr.strip()[-200:]}"
    return under, recording


def _tree_at(rev: str, work: Path) -> Path:
    """The project's files at ``rev``, unpacked beside the bench's other files."""
    tree = work / f"tree-{rev.replace('/', '-')}"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def bench_play_under_load(env: dict, work: Path, pulse, against: str | None) -> list[tuple]:
    """Live play under CPU hogs (stress-ng, one per core plus one): half-second windows of
    the recording that differ from the export, aligned by cross-correlation, and the
    underruns play reports; ``against`` a revision, the same for its code (PYTHONPATH)."""
    import soundfile as sf
    from pulse import differing_windows
    if not shutil.which("stress-ng"):
        return [("play under CPU hogs", "stress-ng is not installed (scripts/setup --test)", "", "", "")]
    penv = {**env, **pulse.env}
    export = work / "load.wav"
    subprocess.run(VC + ["export", *SESSION_UNDER_LOAD, "--float", "-o", str(export)], env=penv,
                   check=True, capture_output=True)
    ref, _ = sf.read(export, dtype="float32")

    def measure(run_env: dict, name: str) -> str:
        subprocess.run(VC + ["play", "leg-lifts", "--sets", "1", "--reps", "1", "--device", "pulse"], env=run_env,
                       check=False, capture_output=True, stdin=subprocess.DEVNULL, cwd=work)   # its clips cached
        under, recording = _play_recorded(VC + ["play", *SESSION_UNDER_LOAD, "--device", "pulse"], pulse,
                                          run_env, work / f"{name}.raw")
        bad, windows = differing_windows(recording, ref)
        return f"{bad} of {windows} windows differ, {under} underruns"

    ours = measure(penv, "ours")
    base = ""
    if against:
        tree = _tree_at(against, work)
        base = f"{against}: " + measure({**penv, "PYTHONPATH": str(tree)}, "base")
    hogs = (os.cpu_count() or 1) + 1
    return [(f"play under {hogs} CPU hogs (stress-ng), {len(ref) / 48000:.0f} s session: "
             "half-second windows differing from the export, underruns", ours, base, "", "0 windows, 0 underruns")]


def bench_listen(env: dict, work: Path) -> list[tuple]:
    """Voice commands on the corpus (tests/listen_corpus.py): recognised at
    20 and 10 dB SNR, false commands in audio that says none, the coach's
    own voice in an answer with and without what the player played, and the
    time from the end of a command to its report."""
    sys.path.insert(0, str(ROOT / "tests"))
    import listen_corpus as corpus

    rows, latencies = [], []
    wanted = [(t, "commands", w) for t, w in corpus.COMMANDS.items()] + [
        (t, "answer", w) for t, w in corpus.ANSWERS.items()]
    for snr in (20, 10):
        for family, voices in (("Piper", corpus.PIPER), ("espeak-ng", corpus.ESPEAK),
                               ("pitch-shifted", corpus.SHIFTED)):
            voices = voices if snr == 10 else voices[:1]  # 20 dB: one voice a family, to save time
            right = total = 0
            for voice in voices:
                for mode in ("commands", "answer"):
                    said = [(t, w) for t, m, w in wanted if m == mode]
                    clean = [corpus.speech(t, voice) for t, _ in said]
                    clips = [corpus.with_noise(c, snr, i) for i, c in enumerate(clean)]
                    ends = [0.6 + len(c) / corpus.RATE for c in clean]
                    for (_, (intent, number)), result in zip(said, corpus.listen_to(clips, mode, ends), strict=True):
                        total += 1
                        ok = [(h.intent.value, h.number) for h in result.heard] == [(intent, number)]
                        right += ok
                        if ok and snr == 10:
                            latencies.append(result.latency)
            rows.append((f"voice: commands and numbers recognised, {family} ({len(voices)} voices), {snr} dB SNR",
                         f"{right}/{total} ({100 * right / total:.1f} %)", "", "", ">= 95 % at 10 dB"))
    lat = np.array(latencies)
    rows.append(("voice: end of a command to its report (audio waited for + decoding), 10 dB SNR",
                 f"p50 {np.median(lat):.2f} s, p95 {np.percentile(lat, 95):.2f} s, max {lat.max():.2f} s",
                 "", "", "<= 0.5 s"))
    rows += _bench_listen_quiet(corpus)
    rows += _bench_listen_hour(corpus)
    return rows


def _bench_listen_hour(corpus) -> list[tuple]:
    """False commands in over an hour of audio that says none
    (`listen_corpus.non_commands`), streamed in batches through the ears."""
    clips, seconds = corpus.non_commands(3600)
    false: dict[str, int] = {}
    length: dict[str, float] = {}
    for at in range(0, len(clips), 100):
        batch = clips[at : at + 100]
        for (kind, clip), result in zip(batch, corpus.listen_to([c for _, c in batch], "commands"), strict=True):
            false[kind] = false.get(kind, 0) + len(result.heard)
            length[kind] = length.get(kind, 0.0) + len(clip) / corpus.RATE
    parts = ", ".join(f"{kind} {false[kind]} in {length[kind] / 60:.0f} min" for kind in false)
    return [("voice: false commands in an hour of audio that says none (voices, rates, gains, 20 and 10 dB SNR)",
             f"{sum(false.values())} in {seconds / 3600:.2f} h ({parts})", "", "", "<= 1 an hour")]


def _bench_listen_quiet(corpus) -> list[tuple]:
    """Audio that must command nothing, at 20 dB SNR, in command mode; and
    the coach's voice at the microphone while the coach asks for an answer."""
    rows = []
    talkers = [corpus.PIPER[1], corpus.ESPEAK[1]]
    kinds = {
        "the coach's cues": [corpus.speech(t, corpus.COACH_VOICES[0]) for t in corpus.coach_texts()],
        "conversation": [corpus.speech(t, v) for v in talkers for t in corpus.CONVERSATION],
        "counting aloud": [corpus.speech(t, v) for v in talkers for t in corpus.COUNTING],
        "breathing and grunts": [corpus.breathing(30, i) for i in range(5)],
        "music": [corpus.music(30, i) for i in range(5)],
    }
    seconds = false = 0.0
    for kind, clean in kinds.items():
        clips = [corpus.with_noise(c, 20, i, lead=0.5, tail=0.8) for i, c in enumerate(clean)]
        heard = sum(len(r.heard) for r in corpus.listen_to(clips, "commands"))
        length = sum(len(c) for c in clips) / corpus.RATE
        seconds += length
        false += heard
        rows.append((f"voice: false commands in {kind}", f"{heard} in {length / 60:.1f} min", "", "", "0"))
    rows.append(("voice: false commands in all the audio that says none", f"{false:.0f} in {seconds / 3600:.2f} h",
                 "", "", "<= 1 an hour"))
    coach = [corpus.speech(t, corpus.COACH_VOICES[0]) for t in corpus.coach_texts()]
    at_mic = [corpus.with_noise(0.5 * c, 30, i, lead=0.5, tail=0.8) for i, c in enumerate(coach)]
    pads = [np.concatenate([np.zeros(int(0.5 * corpus.RATE), np.float32), c]) for c in coach]
    gated = sum(len(r.heard) for r in corpus.listen_to(at_mic, "answer", played=pads))
    open_ = sum(len(r.heard) for r in corpus.listen_to(at_mic, "answer"))
    rows.append(("voice: answers heard in the coach's own cues through open speakers (answer mode)",
                 f"{gated} of {len(coach)} with what was played", f"{open_} without", "", "0"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="skip play under CPU hogs")
    ap.add_argument("--against", metavar="REV", default=None,
                    help="play under CPU hogs with REV's code too (git archive of it, on PYTHONPATH)")
    ap.add_argument("--only", choices=["cues", "export", "formats", "mp3", "loudness", "memory",
                                       "callback", "first-sound", "load", "listen"],
                    default=None,
                    help="run one group of benchmarks only (cues: the speech synthesis rows)")
    ap.add_argument("--pairs", type=int, default=None, metavar="N",
                    help="A/B pairs per comparison (default 5, 7 for WAV against klick)")
    ap.add_argument("--markdown", action="store_true",
                    help="write the table to docs/benchmarks.md and into the README")
    args = ap.parse_args()
    if args.markdown and args.only:
        ap.error("--markdown writes the whole table: run it without --only")
    if args.pairs is not None:
        if args.pairs < 1:
            ap.error("--pairs must be at least 1")
        PAIRS.update(default=args.pairs, wav=args.pairs)
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="vc-bench-"))
    env = {**os.environ, "VOICECOACH_CACHE_DIR": str(work / "cache"),
           "VOICECOACH_DATA_DIR": str(work / "data"),        # plays must not enter your log
           # The bytecode is what scripts/setup compiled, as a user's start finds it.
           "VOICECOACH_CONFIG_DIR": str(work / "config")}
    try:
        rows = _run_groups(args.only, args.quick, env, work, args.against)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = _table(rows, load_before)
    print("\n" + table)
    if args.markdown:
        _write_markdown(table, args.quick)


def _run_groups(only: str | None, quick: bool, env: dict, work: Path, against: str | None) -> list[tuple]:
    if only == "cues":
        return bench_cues(env, work)
    if only == "listen":
        return bench_listen(env, work)
    if only in ("first-sound", "load"):
        from pulse import Pulse
        pulse = Pulse(work / "pulse")
        pulse.start()
        try:
            if only == "first-sound":
                return bench_first_sound(env, work, pulse)
            return bench_play_under_load(env, work, pulse, against)
        finally:
            pulse.stop()
    if only:
        subprocess.run(VC + ["export", *SESSION_30_MIN, "-o", str(work / "warm.wav")], env=env,
                       check=True, capture_output=True)
        return {"export": bench_export, "formats": bench_formats, "mp3": bench_mp3,
                "loudness": bench_loudness, "memory": bench_memory,
                "callback": bench_callback}[only](env, work)
    rows = bench_cues(env, work)
    rows += bench_export(env, work)
    rows += bench_formats(env, work)
    rows += bench_loudness(env, work)
    rows += bench_memory(env, work)
    rows += bench_hostile(env, work)
    rows += bench_callback(env, work)
    rows += bench_listen(env, work)
    from pulse import Pulse
    pulse = Pulse(work / "pulse")
    pulse.start()
    try:
        rows += bench_first_sound(env, work, pulse)
        rows += bench_ctrl_c(env, work, pulse)
        if not quick:
            rows += bench_play_under_load(env, work, pulse, against)
    finally:
        pulse.stop()
    return rows


def _table(rows: list[tuple], load_before: tuple[float, float, float]) -> str:
    """The conditions in one line, then the table."""
    before = ", ".join(f"{x:.2f}" for x in load_before)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True, check=False).stdout.strip() or "unknown"
    conditions = (f"Measured {time.strftime('%Y-%m-%d %H:%M %Z')} on commit {commit}, "
                  f"{os.cpu_count()} cores, {PAIRS['default']} A/B pairs a comparison "
                  f"({PAIRS['wav']} for WAV against klick), load average {before} before, "
                  f"{load} after.")
    lines = [conditions, "", "| what | ours | baseline | ratio | target |", "|---|---|---|---|---|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


DOC_HEAD = """# Benchmarks

Written by `scripts/bench --markdown`; do not edit by hand. Each figure is
measured against a baseline in the same run on the same machine: ours and the
baseline run in turn, A B A B ..., and the ratio is the median of the pair
ratios, so a busy machine slows both alike. Live play goes through a
PulseAudio null sink kept awake like a real device. The 30-minute session is
`leg-lifts --sets 6 --reps 34`; the cue cache is warm unless a row says cold.
`scripts/bench --only GROUP` measures one group without writing this file.

"""


def _write_markdown(table: str, quick: bool) -> None:
    """docs/benchmarks.md is the table; the README carries the same table between its markers."""
    soak = "" if not quick else "\nPlay under CPU hogs was left out (`--quick`).\n"
    BENCH_DOC.write_text(DOC_HEAD + table + soak)
    text = README.read_text()
    begin, end = text.find(MARKERS[0]), text.find(MARKERS[1])
    if begin < 0 or end < begin:
        raise SystemExit(f"README.md: the bench markers are missing: {MARKERS[0]} ... {MARKERS[1]}")
    README.write_text(text[:begin + len(MARKERS[0])] + "\n" + table + soak + text[end:])
    print(f"wrote {BENCH_DOC.relative_to(ROOT)} and the README's table")


if __name__ == "__main__":
    main()
