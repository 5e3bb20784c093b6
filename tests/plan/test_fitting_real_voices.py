"""Speech fitting with both engines' real spoken lengths: every built-in
session stays valid (no phrase late, none overlapping) and keeps every count
and every exhale cue. Neural phrases are longer than espeak's at the same text."""

from __future__ import annotations

import pytest

from voicecoach.cues.timing import cue_bank, spoken_timeline
from voicecoach.cues import piper_voices
from voicecoach.cues.settings import EngineKind
from voicecoach.plan.phrases import default_phrases
from voicecoach.plan.preset_files import builtin_names, load_preset
from voicecoach.plan.schedule import GAP_SECONDS

ENGINES = [EngineKind.PYTTSX3, EngineKind.PIPER]
COUNTS = {default_phrases().number(i) for i in range(1, 100)}


@pytest.mark.slow
@pytest.mark.parametrize("engine", ENGINES, ids=str)
@pytest.mark.parametrize("name", builtin_names())
def test_every_builtin_keeps_its_counts_and_exhale_cues(name, engine, shared_cache_dir):
    if engine is EngineKind.PIPER and not (piper_voices.piper_installed()
                                           and piper_voices.find_piper_voices()):
        pytest.skip("the neural group is not installed")
    preset = load_preset(name).with_overrides(engine=str(engine))
    with cue_bank(preset, shared_cache_dir) as bank:
        timeline = spoken_timeline(preset, bank)
        exhale = preset.cues.concentric
        for dropped in timeline.dropped:
            assert dropped.text not in COUNTS, (name, engine, dropped)
            assert not any(cue in dropped.text for cue in exhale), (name, engine, dropped)
        speech = [e for e in timeline.events if e.kind == "speech"]
        gap = round(GAP_SECONDS * timeline.samplerate)
        for before, after in zip(speech, speech[1:]):
            assert before.frame + before.frames + gap <= after.frame, (name, engine, before, after)
        for e in speech:
            assert e.frames == bank.frames(e.text)               # the real length was planned
        spoken = [e.text for e in speech]
        # an exhale cue at the start of every lift (when the preset has them), counts on every counted beat
        lifts = [s for s in timeline.segments if s.kind == "concentric"]
        if exhale:
            # a lift cue may be said with the exhale before it ("Up" as "Out, up")
            at_lift = {e.frame for e in speech
                       if any(cue.lower() in e.text.lower() for cue in exhale)}
            assert all(s.start in at_lift for s in lifts), name
        if preset.tempo is not None and "eccentric" in preset.count:
            assert sum(t in COUNTS for t in spoken) >= len(lifts) * int(preset.tempo.eccentric)
