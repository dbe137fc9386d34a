"""A fake engine for fast tests of everything around synthesis (streaming, fallback,
timelines): it "speaks" each letter as a tone (vowels, loud) or noise (consonants,
quiet), so loudness and visemes line up the way real speech does.

Voices choose a behaviour: ``ok`` (default), ``slow`` (0.2 s per sentence),
``fail-load`` (load raises), ``fail-synth`` (every synthesis raises)."""

import logging
import threading
import time
from typing import ClassVar

import numpy as np

from simpatient.errors import BackendError
from simpatient.speech.tts.base import Prosody, Synthesis, TTSBackend
from simpatient.speech.tts.phonemes import Phone
from simpatient.speech.visemes import VisemeName

logger = logging.getLogger(__name__)

RATE = 16_000
_LETTERS: dict[str, VisemeName] = {
    **dict.fromkeys("pbm", VisemeName.PP),
    **dict.fromkeys("fv", VisemeName.FF),
    **dict.fromkeys("td", VisemeName.DD),
    **dict.fromkeys("kgqxch", VisemeName.kk),
    **dict.fromkeys("jz", VisemeName.CH),
    **dict.fromkeys("s", VisemeName.SS),
    **dict.fromkeys("nl", VisemeName.nn),
    "r": VisemeName.RR,
    "a": VisemeName.aa,
    "e": VisemeName.E,
    "i": VisemeName.ih,
    "y": VisemeName.ih,
    "o": VisemeName.oh,
    "u": VisemeName.ou,
    "w": VisemeName.ou,
}
_OPEN = frozenset("aeiouy")


class FakeBackend(TTSBackend):
    """Letters as tones and noise; records the threads it was called on."""

    engine: ClassVar[str] = "fake"
    default_voice: ClassVar[str] = "ok"

    def load(self) -> None:
        """Fails for the ``fail-load`` voice."""
        self.loaded = True
        self.threads: list[int] = []
        if self.voice == "fail-load":
            raise BackendError("fake engine told to fail at load")

    def _synthesize(self, text: str, prosody: Prosody) -> Synthesis:
        self.threads.append(threading.get_ident())
        if self.voice == "fail-synth":
            raise BackendError("fake engine told to fail", retryable=True)
        if self.voice == "slow":
            time.sleep(0.2)
        rng = np.random.default_rng(len(text))
        parts, phones, t = [], [], 0.0
        for ch in text.lower():
            length = (0.09 if ch in _OPEN else 0.05 if ch.isalpha() else 0.04) / prosody.rate
            n = round(length * RATE)
            if ch in _OPEN:
                wave = 0.5 * np.sin(2 * np.pi * 150 * np.arange(n) / RATE)
            elif ch.isalpha():
                wave = 0.05 * rng.standard_normal(n)
            else:
                wave = np.zeros(n)
            parts.append(wave.astype(np.float32))
            phones.append(Phone(ch, t, t + n / RATE))
            t += n / RATE
        return Synthesis(np.concatenate(parts), RATE, phones)

    @staticmethod
    def to_viseme(phone: str) -> VisemeName:
        return _LETTERS.get(phone, VisemeName.sil)
