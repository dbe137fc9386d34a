"""Audio as it moves through the pipeline: mono float32 chunks stamped on one clock.

Every stage (microphone, VAD, ASR, TTS, avatar, transport) stamps its events with
:func:`now`, so durations between stages are differences of one monotonic clock."""

import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soxr

Samples = npt.NDArray[np.float32]

#: WebRTC's Opus runs at 48 kHz; Whisper and Silero VAD want 16 kHz.
WEBRTC_RATE = 48_000
ASR_RATE = 16_000


def now() -> float:
    """The pipeline clock, in seconds (monotonic; only differences are meaningful)."""
    return time.monotonic()


def to_mono(samples: npt.NDArray[np.generic], channels: int) -> Samples:
    """Float32 mono from interleaved (or frames x channels) samples; int16 is scaled."""
    data = np.asarray(samples)
    if data.dtype == np.int16:
        data = data.astype(np.float32) / 32768.0
    data = data.astype(np.float32, copy=False).reshape(-1, channels)
    return data.mean(axis=1) if channels > 1 else data[:, 0]


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """Mono float32 samples in [-1, 1], the rate they were taken at, and the clock time of
    the first sample."""

    samples: Samples
    sample_rate: int
    start: float

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def end(self) -> float:
        return self.start + self.duration

    @classmethod
    def from_pcm16(
        cls, data: bytes, sample_rate: int, start: float, channels: int = 1
    ) -> "AudioChunk":
        return cls(to_mono(np.frombuffer(data, dtype=np.int16), channels), sample_rate, start)

    def to_pcm16(self) -> bytes:
        return (np.clip(self.samples, -1.0, 1.0) * 32767.0).astype(np.int16).tobytes()

    def resampled(self, sample_rate: int) -> "AudioChunk":
        """The same sound at another rate (soxr, high quality). For a continuous stream use
        :class:`StreamResampler`, which keeps the filter state between chunks."""
        if sample_rate == self.sample_rate:
            return self
        out = soxr.resample(self.samples, self.sample_rate, sample_rate, quality="HQ")
        return AudioChunk(out.astype(np.float32, copy=False), sample_rate, self.start)


class StreamResampler:
    """Resamples a continuous stream chunk by chunk without clicks at chunk edges."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.in_rate, self.out_rate = in_rate, out_rate
        self._stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality="HQ")

    def push(self, chunk: AudioChunk) -> AudioChunk:
        if chunk.sample_rate != self.in_rate:
            raise ValueError(f"expected {self.in_rate} Hz audio, got {chunk.sample_rate} Hz")
        out = self._stream.resample_chunk(chunk.samples)
        return AudioChunk(out.astype(np.float32, copy=False), self.out_rate, chunk.start)


class ToRate:
    """Brings a stream to one sample rate whatever rate its chunks arrive at.

    A sender may change rate mid-stream (a renegotiated WebRTC track, a test file at
    44.1 kHz); the resampler is rebuilt when that happens, so callers never see a rate
    they did not ask for."""

    def __init__(self, out_rate: int) -> None:
        self.out_rate = out_rate
        self._resampler: StreamResampler | None = None

    def push(self, chunk: AudioChunk) -> AudioChunk:
        """``chunk`` at :attr:`out_rate` (the same object when no resampling is needed)."""
        if chunk.sample_rate == self.out_rate:
            return chunk
        if self._resampler is None or self._resampler.in_rate != chunk.sample_rate:
            self._resampler = StreamResampler(chunk.sample_rate, self.out_rate)
        return self._resampler.push(chunk)


def read_wav(path: Path, start: float = 0.0) -> AudioChunk:
    """A 16-bit PCM WAV file as one chunk (any rate, channels mixed down)."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ValueError(
                f"{path}: only 16-bit PCM WAV is read, not {wav.getsampwidth() * 8}-bit"
            )
        data = wav.readframes(wav.getnframes())
        return AudioChunk.from_pcm16(data, wav.getframerate(), start, wav.getnchannels())
