"""voicecoach benchmarks: each figure against a baseline measured in the same run.

Run through ``scripts/bench`` (which sets up first). Prints a Markdown table
for the README. ``--quick`` skips the 10-minute underrun soak.

Targets:
  export 30 min WAV           ours / klick -W           <= 1.0 (warm cue cache)
  peak memory 3 h export      3 h / 5 min               <= 1.2, and < 150 MB
  cold cue synthesis          default session           <= 2 s  (baseline: espeak-ng CLI, same phrases)
  warm cue load               default session           well under 1 s
  first sound                 ours / paplay             <= 0.5 s absolute (warm cache)
  callback render per block   p50 / p99 / max           p99 <= 2 %, max <= 20 % of the block
  Ctrl-C during play          SIGINT to exit            <= 0.2 s
  underruns, 10 min, 2 cores busy                       0
  hostile inputs and targets  peak memory, exit code    < 200 MB, the expected exit, no hang
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
VC = [sys.executable, "-m", "voicecoach"]
SESSION_30_MIN = ["leg-lifts", "--sets", "6", "--reps", "34"]    # 30.0 min, as klick's
SESSION_3_H = ["leg-lifts", "--sets", "18", "--reps", "80"]
SESSION_5_MIN = ["leg-lifts", "--sets", "2", "--reps", "10", "--rest", "30"]
SESSION_10_MIN = ["leg-lifts", "--sets", "4", "--reps", "15"]


def run_timed(cmd: list[str], env: dict, repeat: int = 5,
              fresh: Path | None = None) -> tuple[float, int]:
    """Median wall time of ``repeat`` runs, and the peak RSS (KiB) of the last.

    ``fresh``: a file deleted before each run, so the command writes a new
    file rather than replacing one (ext4 flushes a file written over another).
    """
    times = []
    rss = 0
    for _ in range(repeat):
        if fresh is not None:
            fresh.unlink(missing_ok=True)
            os.sync()
        probe = ("import resource, subprocess, sys, time; t = time.perf_counter();"
                 "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL);"
                 "d = time.perf_counter() - t;"
                 "print(r.returncode, d, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
        out = subprocess.run([sys.executable, "-c", probe, *cmd], env=env, capture_output=True,
                             text=True, check=True).stdout.split()
        if out[0] != "0":
            raise SystemExit(f"failed: {' '.join(cmd)}")
        times.append(float(out[1]))
        rss = int(out[2])
    return statistics.median(times), rss


def bench_export(env: dict, work: Path) -> list[tuple]:
    ours_wav, klick_wav = work / "ours.wav", work / "klick.wav"
    ours_cmd = VC + ["export", *SESSION_30_MIN, "-o", str(ours_wav)]
    klick_cmd = ["klick", "-W", str(klick_wav), "450", "4/4", "60"]
    subprocess.run(ours_cmd, env=env, check=True, capture_output=True)    # warms the cue cache
    import soundfile as sf
    rows = []
    for mode, fresh in (("new file", True), ("over the last one", False)):
        ours, _ = run_timed(ours_cmd, env, fresh=ours_wav if fresh else None)
        klick, _ = run_timed(klick_cmd, env, fresh=klick_wav if fresh else None)
        rows.append((f"export 30 min, 48 kHz mono PCM_16 WAV, {mode} (warm cache, median of 5)",
                     f"{ours:.3f} s ({sf.info(ours_wav).duration / 60:.1f} min)",
                     f"klick -W: {klick:.3f} s ({sf.info(klick_wav).duration / 60:.1f} min)",
                     f"{ours / klick:.2f}", "<= 1.0"))
    return rows


def bench_memory(env: dict, work: Path) -> list[tuple]:
    subprocess.run(VC + ["export", *SESSION_3_H, "-o", str(work / "warm3h.wav")], env=env,
                   check=True, capture_output=True)
    _, small = run_timed(VC + ["export", *SESSION_5_MIN, "-o", str(work / "m5.wav")], env, 1)
    _, big = run_timed(VC + ["export", *SESSION_3_H, "-o", str(work / "m180.wav")], env, 1)
    _, music = run_timed(VC + ["export", *SESSION_3_H, "-o", str(work / "m180m.wav"), "--music",
                               str(_song(work))], env, 1)
    import soundfile as sf
    hours = sf.info(work / "m180.wav").duration / 3600
    return [("peak memory, export 3 h vs 5 min", f"{big / 1024:.0f} MB ({hours:.2f} h)",
             f"5 min: {small / 1024:.0f} MB", f"{big / small:.2f}", "<= 1.2, < 150 MB"),
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


def _cue_texts(env: dict) -> list[str]:
    from voicecoach.plan.preset_files import load_preset
    from voicecoach.plan.schedule import build_timeline
    asked: list[str] = []

    def frames(text: str) -> int:
        asked.append(text)
        return len(text) * 3000
    build_timeline(load_preset("leg-lifts"), frames)
    return list(dict.fromkeys(asked))


def bench_cues(env: dict, work: Path) -> list[tuple]:
    from voicecoach.cues.timing import cue_bank, spoken_timeline
    from voicecoach.plan.preset_files import load_preset
    texts = _cue_texts(env)
    cache = work / "cold-cache"
    t = time.perf_counter()
    with cue_bank(load_preset("leg-lifts"), cache) as bank:
        spoken_timeline(load_preset("leg-lifts"), bank)
    cold = time.perf_counter() - t
    t = time.perf_counter()
    with cue_bank(load_preset("leg-lifts"), cache) as bank:
        spoken_timeline(load_preset("leg-lifts"), bank)
        for text in texts:
            bank.get(text)
    warm = time.perf_counter() - t
    t = time.perf_counter()
    for i, text in enumerate(texts):
        subprocess.run(["espeak-ng", "-w", str(work / f"e{i}.wav"), text], check=True)
    espeak = time.perf_counter() - t
    return [(f"cold cue synthesis, default session ({len(texts)} phrases)", f"{cold:.2f} s",
             f"espeak-ng CLI, same phrases: {espeak:.2f} s", f"{cold / espeak:.2f}", "<= 2 s"),
            ("warm cue load + plan, default session", f"{warm * 1000:.0f} ms", "", "", "well under 1 s")]


def bench_callback(env: dict, work: Path) -> list[tuple]:
    from voicecoach.audio.session import prepare
    from voicecoach.audio.sounds import make_sounds
    from voicecoach.live.player import BLOCKSIZE
    from voicecoach.live.transport import Transport, make_clips
    from voicecoach.plan.preset_files import load_preset
    s = prepare(load_preset("leg-lifts"), Path(env["VOICECOACH_CACHE_DIR"]))
    clips = make_clips(s.bank.get, make_sounds(48000), 48000)
    t = Transport(s.mixer, s.timeline, clips)
    out = np.zeros((BLOCKSIZE, 1), np.float32)
    times = []
    clock = time.perf_counter_ns
    while not t.finished:
        a = clock()
        t.render(out)
        times.append(clock() - a)
    block_ns = BLOCKSIZE / 48000 * 1e9
    share = np.array(times) / block_ns * 100
    return [(f"callback render, {len(times)} blocks of {BLOCKSIZE}",
             f"p50 {np.percentile(share, 50):.3f} %, p99 {np.percentile(share, 99):.3f} %, "
             f"max {share.max():.2f} %", f"block = {block_ns / 1e6:.1f} ms", "",
             "p99 <= 2 %, max <= 20 %")]


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
    deadline = time.monotonic() + 20
    while not heard and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.terminate()
    proc.wait()
    rec.terminate()
    rec.wait()
    return heard[0] - t0 if heard else float("nan")


def bench_first_sound(env: dict, work: Path, pulse) -> list[tuple]:
    import soundfile as sf

    from voicecoach.audio.sounds import make_sound
    tick = work / "tick.wav"
    sf.write(tick, np.concatenate([make_sound("accent", 48000)] * 4), 48000)
    penv = {**env, **pulse.env}
    subprocess.run(VC + ["timeline", "leg-lifts"], env=penv, check=True, capture_output=True)
    # (the Pulse helper keeps the null sink awake, as a real device's clock would)
    ours = statistics.median(_first_sound_after(VC + ["play", "--device", "pulse"], pulse, penv)
                             for _ in range(5))
    base = statistics.median(_first_sound_after(["paplay", str(tick)], pulse, penv)
                             for _ in range(5))
    return [("command to first sound, play (warm cache)", f"{ours:.2f} s", f"paplay: {base:.2f} s",
             f"{ours / base:.2f}", "<= 0.5 s")]


def bench_ctrl_c(env: dict, work: Path, pulse) -> list[tuple]:
    """Seconds from Ctrl-C (SIGINT) during live play to the process gone."""
    import signal
    penv = {**env, **pulse.env}
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
    return [("Ctrl-C during play to exit (130)", f"{statistics.median(times):.3f} s "
             f"(max {max(times):.3f})", "", "", "<= 0.2 s")]


def _burn(stop) -> None:
    x = 0
    while not stop.is_set():
        x += 1


def bench_underruns(env: dict, work: Path, pulse) -> list[tuple]:
    penv = {**env, **pulse.env}
    stop = multiprocessing.Event()
    burners = [multiprocessing.Process(target=_burn, args=(stop,)) for _ in range(2)]
    for b in burners:
        b.start()
    try:
        r = subprocess.run(VC + ["play", *SESSION_10_MIN, "--device", "pulse"], env=penv,
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
    finally:
        stop.set()
        for b in burners:
            b.join()
    summary = [line for line in r.stdout.splitlines() if "underruns: " in line]
    under = (summary[0].split("underruns: ")[1].split(";")[0] if summary
             else f"failed: {r.stderr.strip()[-200:]}")
    return [("underruns, ~11 min session, both cores busy", under, "2 busy-loop processes", "",
             "0")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="skip the 10-minute underrun soak")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vc-bench-"))
    env = {**os.environ, "VOICECOACH_CACHE_DIR": str(work / "cache"),
           "VOICECOACH_DATA_DIR": str(work / "data"),        # plays must not enter your log
           "VOICECOACH_CONFIG_DIR": str(work / "config")}
    rows: list[tuple] = []
    try:
        rows += bench_cues(env, work)
        rows += bench_export(env, work)
        rows += bench_memory(env, work)
        rows += bench_hostile(env, work)
        rows += bench_callback(env, work)
        from pulse import Pulse
        pulse = Pulse(work / "pulse")
        pulse.start()
        try:
            rows += bench_first_sound(env, work, pulse)
            rows += bench_ctrl_c(env, work, pulse)
            if not args.quick:
                rows += bench_underruns(env, work, pulse)
        finally:
            pulse.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nvoicecoach benchmarks, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores\n")
    print("| what | ours | baseline | ratio | target |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")


if __name__ == "__main__":
    main()
