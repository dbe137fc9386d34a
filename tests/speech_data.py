"""The real-speech test set (tests/data/speech, see its README) and helpers to stream it."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from simpatient.settings import Settings
from simpatient.speech.asr import ASRBackend, create_asr
from simpatient.speech.audio import ASR_RATE, AudioChunk, read_wav

SPEECH = Path(__file__).parent / "data" / "speech"


def references() -> dict[str, str]:
    """Utterance id -> reference transcript."""
    lines = (SPEECH / "ref.tsv").read_text().splitlines()
    return dict(line.split("\t", 1) for line in lines if line.strip())


def clip(name: str) -> AudioChunk:
    return read_wav(SPEECH / f"{name}.wav")


def padded(name: str, before: float = 0.5, after: float = 1.2) -> np.ndarray:
    """A clip with silence around it, as a learner's turn arrives from a microphone."""
    samples = clip(name).samples
    pad = [np.zeros(int(s * ASR_RATE), dtype=np.float32) for s in (before, after)]
    return np.concatenate([pad[0], samples, pad[1]])


def chunks(
    samples: np.ndarray, rate: int = ASR_RATE, ms: int = 20, start: float = 100.0
) -> Iterator[AudioChunk]:
    """``samples`` as real-time-sized chunks stamped as if captured from ``start`` on."""
    step = rate * ms // 1000
    for i in range(0, len(samples), step):
        yield AudioChunk(samples[i : i + step].astype(np.float32), rate, start + i / rate)


def load_whisper() -> ASRBackend:
    """The embedded Whisper base int8 on the CPU (make setup fetches it)."""
    settings = Settings()
    backend = create_asr(settings.asr, settings.models_dir)
    backend.load()
    return backend
