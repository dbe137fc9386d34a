"""A fake recogniser for fast tests of the logic around ASR: it "hears" a scripted
sentence at a steady speaking rate, so partial transcripts grow as audio accumulates."""

import threading
import time
from collections.abc import Sequence

from simpatient.speech.asr import ASRBackend, DecodedSegment
from simpatient.speech.audio import ASR_RATE, Samples


class FakeASRBackend(ASRBackend):
    """Returns the first ``words_per_s`` x duration words of :attr:`script`.

    :attr:`threads` records the thread of every decode (tests check none ran on the event
    loop); :attr:`delay_s` stands in for the cost of a real decode."""

    local_weights = False

    script = "I am sorry to tell you that the scan shows the cancer has come back."
    words_per_s = 2.5
    delay_s = 0.0

    def load(self) -> None:
        self.threads: list[int] = []
        self.prompts: list[str | None] = []

    def _decode(
        self, samples: Samples, prompt: str | None, max_new_tokens: int
    ) -> Sequence[DecodedSegment]:
        self.threads.append(threading.get_ident())
        self.prompts.append(prompt)
        if self.delay_s:
            time.sleep(self.delay_s)
        words = self.script.split()[: int(len(samples) / ASR_RATE * self.words_per_s)]
        if not words:
            return []
        return [DecodedSegment(" ".join(words), len(words), -0.1, 0.01, 1.2)]
