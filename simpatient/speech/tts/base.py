"""The TTS interface every engine implements, prosody, and the registry of engines.

A backend is one engine speaking with one voice. Construction only records options;
:meth:`TTSBackend.load` does the heavy work (a neural model, a warm process). Synthesis is
blocking: async callers go through :func:`simpatient.speech.tts.stream.speak`, which runs
it in a worker thread.
"""

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np
import soxr

from simpatient.content.persona import AgeBand, Pitch, Rate, Voice
from simpatient.content.scenario import Emotion
from simpatient.dialogue.state import PatientState
from simpatient.registry import backend_class
from simpatient.settings import TTSSettings
from simpatient.speech.audio import AudioChunk, Samples, now
from simpatient.speech.tts.normalise import normalise
from simpatient.speech.tts.phonemes import Phone, timeline
from simpatient.speech.visemes import Viseme, VisemeName

logger = logging.getLogger(__name__)

#: How each emotion, at full intensity, changes speaking rate, pitch (semitones) and pauses.
#: Sad and tearful people speak slower and lower with longer pauses; anxious and angry
#: ones faster and higher. Intensity scales the change linearly.
EMOTION_PROSODY: dict[Emotion, tuple[float, float, float]] = {
    Emotion.neutral: (1.0, 0.0, 1.0),
    Emotion.anxious: (1.12, 1.5, 0.75),
    Emotion.sad: (0.88, -1.5, 1.4),
    Emotion.tearful: (0.82, -1.0, 1.7),
    Emotion.angry: (1.08, 1.0, 0.8),
    Emotion.relieved: (1.0, 0.5, 1.0),
    Emotion.confused: (0.93, 0.5, 1.3),
    Emotion.shocked: (0.9, 0.0, 1.6),
}
_RATE = {Rate.slow: 0.88, Rate.normal: 1.0, Rate.fast: 1.12}
_PITCH = {Pitch.low: -2.0, Pitch.medium: 0.0, Pitch.high: 2.0}
_AGE_RATE = {AgeBand.older: 0.95, AgeBand.elderly: 0.9}


@dataclass(frozen=True, slots=True)
class Prosody:
    """How to say it: ``rate`` multiplies the speaking speed (1.0 = the voice's own),
    ``pitch`` shifts it in semitones, ``pause`` multiplies the silences between
    sentences. Engines apply what they support (see each backend)."""

    rate: float = 1.0
    pitch: float = 0.0
    pause: float = 1.0

    @classmethod
    def for_patient(cls, voice: Voice, state: PatientState | None = None) -> "Prosody":
        """The persona's voice, coloured by how the patient feels now."""
        rate = _RATE[voice.rate] * _AGE_RATE.get(voice.age_band, 1.0)
        pitch = _PITCH[voice.pitch]
        pause = 1.0
        if state is not None:
            d_rate, d_pitch, d_pause = EMOTION_PROSODY[state.emotion]
            k = max(0.0, min(1.0, state.intensity))
            rate *= 1.0 + (d_rate - 1.0) * k
            pitch += d_pitch * k
            pause *= 1.0 + (d_pause - 1.0) * k
        return cls(
            rate=round(min(max(rate, 0.6), 1.5), 3),
            pitch=round(min(max(pitch, -4.0), 4.0), 2),
            pause=round(min(max(pause, 0.5), 2.5), 3),
        )


#: The voice as the persona describes it, unchanged.
NEUTRAL = Prosody()


@dataclass(frozen=True, slots=True)
class Utterance:
    """One synthesised sentence or clause.

    ``audio.start`` is the pipeline clock (:func:`simpatient.speech.audio.now`) at the
    moment the audio was ready, which latency records use as "first TTS audio"; the
    playout stage stamps when it is actually heard. ``visemes`` are relative to the first
    sample and cover the whole audio contiguously. ``voice`` is the ``engine:voice`` that
    spoke (it differs from the one asked for after a fallback); ``synthesis_s`` is how
    long the engine took."""

    text: str
    audio: AudioChunk
    visemes: tuple[Viseme, ...]
    voice: str
    synthesis_s: float

    @property
    def rtf(self) -> float:
        """Real-time factor: seconds of synthesis per second of audio."""
        return self.synthesis_s / self.audio.duration if self.audio.duration else 0.0

    def with_silence(self, seconds: float) -> "Utterance":
        """The same utterance followed by ``seconds`` of silence (mouth at rest)."""
        if seconds <= 0:
            return self
        rate = self.audio.sample_rate
        pad = np.zeros(round(seconds * rate), dtype=np.float32)
        samples = np.concatenate([self.audio.samples, pad])
        end = len(samples) / rate
        tail = self.visemes[-1] if self.visemes else None
        if tail is not None and tail.name is VisemeName.sil:
            visemes = (*self.visemes[:-1], Viseme(VisemeName.sil, tail.start, end))
        else:
            visemes = (*self.visemes, Viseme(VisemeName.sil, self.audio.duration, end))
        audio = AudioChunk(samples, rate, self.audio.start)
        return Utterance(self.text, audio, visemes, self.voice, self.synthesis_s)


@dataclass(frozen=True, slots=True)
class Synthesis:
    """What an engine returns: mono float32 audio and its phones in the engine's alphabet."""

    samples: Samples
    sample_rate: int
    phones: list[Phone]


class Speaker(Protocol):
    """What a session needs of a voice: an engine (:class:`TTSBackend`), or a chain of
    them that falls back (:class:`~simpatient.speech.tts.voices.FallbackVoice`)."""

    @property
    def name(self) -> str: ...

    def load(self) -> None: ...

    def synthesize(self, text: str, prosody: Prosody = ...) -> Utterance: ...

    def close(self) -> None: ...


class TTSBackend(ABC):
    """One engine speaking with one voice. Blocking; not for the event loop.

    :meth:`synthesize` is the public template: it normalises the text (numbers, doses,
    abbreviations), calls the engine's :meth:`_synthesize`, and builds the viseme
    timeline with the engine's alphabet (:attr:`to_viseme`)."""

    #: The registry name ("piper").
    engine: ClassVar[str]
    #: Whether the engine changes pitch itself; if not, :meth:`synthesize` shifts it.
    native_pitch: ClassVar[bool] = True

    def __init__(self, voice: str, options: TTSSettings, models_dir: Path) -> None:
        self.voice = voice
        self.options = options
        self.models_dir = models_dir

    @property
    def name(self) -> str:
        """``engine:voice``, as logs, settings and :attr:`Utterance.voice` write it."""
        return f"{self.engine}:{self.voice}"

    @abstractmethod
    def load(self) -> None:
        """Load the voice (model, process, library); raises :class:`BackendError` or
        :class:`simpatient.errors.ModelError` when the engine or voice is missing."""

    @abstractmethod
    def _synthesize(self, text: str, prosody: Prosody) -> Synthesis:
        """Speak already normalised ``text``; raise :class:`BackendError` on failure."""

    @staticmethod
    @abstractmethod
    def to_viseme(phone: str) -> VisemeName:
        """The viseme of one phone of this engine's alphabet."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release a process or library the voice holds."""

    def synthesize(self, text: str, prosody: Prosody = NEUTRAL) -> Utterance:
        """Speak ``text`` (one sentence or clause) and return its audio and visemes.

        Refuses to run on an event loop's thread: synthesis there would stall every
        session of the process (use :func:`~simpatient.speech.tts.stream.speak`)."""
        _refuse_event_loop()
        spoken = normalise(text)
        started = time.perf_counter()
        if not spoken:
            out = Synthesis(np.zeros(0, dtype=np.float32), 22_050, [])
        elif self.native_pitch or prosody.pitch == 0:
            out = self._synthesize(spoken, prosody)
        else:
            # No pitch control in the engine: speak at rate / factor, then resample by the
            # factor, which restores the length and moves the pitch by it, up or down
            # (formants move too; fine for the few semitones prosody asks for).
            factor = 2.0 ** (prosody.pitch / 12.0)
            slower = replace(prosody, rate=prosody.rate / factor, pitch=0.0)
            out = _resample_pitch(self._synthesize(spoken, slower), factor)
        elapsed = time.perf_counter() - started
        duration = len(out.samples) / out.sample_rate
        visemes = timeline(out.phones, self.to_viseme, duration)
        audio = AudioChunk(out.samples.astype(np.float32, copy=False), out.sample_rate, now())
        return Utterance(text, audio, visemes, self.name, elapsed)


def _resample_pitch(out: Synthesis, factor: float) -> Synthesis:
    target = round(out.sample_rate / factor)
    samples = soxr.resample(out.samples, out.sample_rate, target, quality="HQ")
    phones = [Phone(p.name, p.start / factor, p.end / factor) for p in out.phones]
    return Synthesis(samples.astype(np.float32, copy=False), out.sample_rate, phones)


def _refuse_event_loop() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError("TTS synthesis called on the event loop; use speak() or to_thread")


BACKENDS: dict[str, str] = {
    "piper": "simpatient.speech.tts.piper:PiperBackend",
    "festival": "simpatient.speech.tts.festival:FestivalBackend",
    "flite": "simpatient.speech.tts.flite:FliteBackend",
    "espeak": "simpatient.speech.tts.espeak:EspeakBackend",
    "coqui": "simpatient.speech.tts.coqui:CoquiBackend",
    "fake": "simpatient.speech.tts.fake:FakeBackend",
}


def create_backend(name: str, options: TTSSettings, models_dir: Path) -> TTSBackend:
    """The backend for ``name`` (``engine:voice``), constructed but not loaded.

    Raises :class:`BackendError` for an unknown engine or one whose Python package is not
    installed (the message says what to install)."""
    engine, _, voice = name.partition(":")
    backend_cls: type[TTSBackend] = backend_class("TTS engine", engine, BACKENDS)
    return backend_cls(voice or getattr(backend_cls, "default_voice", ""), options, models_dir)
