"""pocketsphinx decoding of one utterance, twice: with the grammar of the
phrases we accept and with the model's open-vocabulary language model.

A grammar alone forces any speech into its phrases (the coach's "Breathe
out and lift" decodes as "three"); the open decoding of the same audio
says what was really said, in its own imperfect words. A phrase counts only
when the two sound alike: their phones are close.
pocketsphinx ships its en-US model, dictionary and language model in its
wheel: nothing is downloaded.
"""

from __future__ import annotations

from voicecoach.errors import InputError
from voicecoach.listen.grammar import distance, jsgf
from voicecoach.listen.heard import Mode

RATE = 16000  # the acoustic model's rate


class Recogniser:
    """Feed an utterance's 16-bit 16 kHz mono PCM between `start` and
    `finish`; `finish` gives the grammar's words and the open words."""

    def __init__(self, wake: list[str]) -> None:
        from pocketsphinx import Config, Decoder, get_model_path

        model = {"hmm": get_model_path("en-us/en-us"), "dict": get_model_path("en-us/cmudict-en-us.dict")}
        self._grammar = Decoder(Config(**model, lm=None, loglevel="FATAL"))
        unknown = [w for w in wake if self._grammar.lookup_word(w) is None]
        if not wake or unknown:
            raise InputError(f"wake word {' '.join(wake)!r}: not in the recogniser's English dictionary")
        for mode in Mode:
            self._grammar.add_jsgf_string(mode.value, jsgf(mode, wake))
        self._open = Decoder(Config(**model, loglevel="FATAL", fwdflat=False, bestpath=False, maxhmmpf=3000))
        self.mode = Mode.COMMANDS

    def start(self) -> None:
        self._grammar.activate_search(self.mode.value)
        self._grammar.start_utt()
        self._open.start_utt()

    def feed(self, pcm: bytes) -> None:
        self._grammar.process_raw(pcm)
        self._open.process_raw(pcm)

    def partial(self) -> list[str]:
        """The grammar's words so far."""
        return _words(self._grammar.hyp())

    def finish(self) -> tuple[list[str], float]:
        """The grammar's words, and how far the open decoding's phones are
        from theirs (edit distance over their number: 0 the same sounds)."""
        self._grammar.end_utt()
        self._open.end_utt()
        phrase = _words(self._grammar.hyp())
        said = self._phones(phrase)
        return phrase, distance(said, self._phones(_words(self._open.hyp()))) / max(len(said), 1)

    def _phones(self, words: list[str]) -> list[str]:
        return [p for w in words for p in (self._open.lookup_word(w) or "").split()]


def _words(hyp) -> list[str]:
    return hyp.hypstr.split() if hyp is not None else []
