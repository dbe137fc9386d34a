"""The speech-recognition interface every backend implements, the guards applied to every
backend's output, and the registry that picks a backend by name.

A backend decodes; :meth:`ASRBackend.transcribe` owns what is common: refusing to run on
an event loop's thread, the token budget, dropping what Whisper-style models invent on
silence and noise, and the confidence of the turn. Async callers use
:meth:`ASRBackend.recognize`, which runs the decode in a worker thread."""

import asyncio
import logging
import math
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from simpatient.errors import BackendError
from simpatient.models import locate
from simpatient.registry import backend_class
from simpatient.settings import ASRSettings
from simpatient.speech.audio import ASR_RATE, AudioChunk, Samples

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DecodedSegment:
    """One stretch of text as the decoder produced it, with its own quality figures."""

    text: str
    tokens: int
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


@dataclass(frozen=True, slots=True)
class Transcript:
    """What was said between ``start`` and ``end`` (pipeline clock).

    ``confidence`` is the geometric-mean token probability of the kept text (0 when
    nothing was kept); ``dropped`` gives a reason for each decoded segment the guards
    removed; ``decode_s`` is the time the decode took."""

    text: str
    start: float
    end: float
    final: bool
    confidence: float
    decode_s: float
    dropped: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """Whether no words were recognised (or all were dropped by the guards)."""
        return not self.text


@dataclass(frozen=True, slots=True)
class VocabularyHints:
    """Words the recogniser should expect: the patient's and family's names, drugs,
    conditions. Given to Whisper as a glossary prompt."""

    terms: tuple[str, ...] = ()
    #: Whisper's prompt holds at most 223 tokens; a glossary much longer than this dilutes
    #: the prompt and costs decoding time.
    max_chars: int = 240

    def prompt(self) -> str | None:
        """The glossary sentence, or None when there are no terms."""
        kept: list[str] = []
        length = len("Glossary: .")
        for term in dict.fromkeys(t.strip() for t in self.terms if t.strip()):
            if length + len(term) + 2 > self.max_chars:
                break
            kept.append(term)
            length += len(term) + 2
        return f"Glossary: {', '.join(kept)}." if kept else None


#: Phrases Whisper is known to produce from silence (subtitle credits in its training
#: data, or the glossary prompt echoed back); no learner says them to a patient.
_KNOWN_HALLUCINATIONS = re.compile(
    r"thanks? (you )?for watching|subtitles by|amara\.org|subscribe|glossary:",
    re.IGNORECASE,
)


class ASRBackend(ABC):
    """A speech recogniser for 16 kHz mono audio. Blocking: call :meth:`transcribe` from a
    worker thread, or await :meth:`recognize`.

    Construction only records options; :meth:`load` does the heavy work, once per process;
    every session shares the loaded model."""

    #: Whether ``options.model`` names weights on this machine (a catalogue name or a path).
    local_weights: ClassVar[bool] = True

    def __init__(self, model_path: Path, options: ASRSettings) -> None:
        self.model_path = model_path
        self.options = options

    @abstractmethod
    def load(self) -> None:
        """Load the model; call once before anything else."""

    @abstractmethod
    def _decode(
        self, samples: Samples, prompt: str | None, max_new_tokens: int
    ) -> Sequence[DecodedSegment]:
        """Decode ``samples`` completely (no lazy results: this runs in a worker thread)."""

    def transcribe(
        self, audio: AudioChunk, hints: VocabularyHints | None = None, *, final: bool = True
    ) -> Transcript:
        """Recognise ``audio`` (16 kHz) with the guards applied. Raises RuntimeError when
        called on a thread that runs an event loop: a decode there would stall every
        session for a second."""
        _refuse_event_loop_thread()
        if audio.sample_rate != ASR_RATE:
            raise ValueError(f"ASR takes {ASR_RATE} Hz audio, got {audio.sample_rate} Hz")
        began = time.perf_counter()
        duration = audio.duration
        if duration < 0.1:  # shorter than any word; Whisper would only invent one
            return Transcript("", audio.start, audio.end, final, 0.0, 0.0, ("too short",))
        # Whisper uses about 1.3 tokens per word; a cap tied to the duration stops a
        # repetition loop early instead of after 448 tokens.
        budget = math.ceil(duration * self.options.max_words_per_s * 1.5) + 8
        try:
            segments = self._decode(audio.samples, hints.prompt() if hints else None, budget)
        except BackendError:
            raise
        except Exception as e:  # a decoder failure must become an event, not a dead call
            raise BackendError(f"speech recognition failed: {e}", retryable=True) from e
        text, confidence, dropped = self._guard(segments, duration)
        return Transcript(
            text, audio.start, audio.end, final, confidence, time.perf_counter() - began, dropped
        )

    async def recognize(
        self, audio: AudioChunk, hints: VocabularyHints | None = None, *, final: bool = True
    ) -> Transcript:
        """:meth:`transcribe` in a worker thread."""
        return await asyncio.to_thread(self.transcribe, audio, hints, final=final)

    def _guard(
        self, segments: Iterable[DecodedSegment], duration: float
    ) -> tuple[str, float, tuple[str, ...]]:
        o = self.options
        kept: list[DecodedSegment] = []
        dropped: list[str] = []
        for seg in segments:
            reason = None
            if not seg.text.strip():
                continue
            if seg.no_speech_prob > o.no_speech_threshold and seg.avg_logprob < o.logprob_threshold:
                reason = f"no speech (p={seg.no_speech_prob:.2f})"
            elif seg.compression_ratio > o.compression_ratio_threshold:
                reason = f"repetition (compression {seg.compression_ratio:.1f})"
            elif _KNOWN_HALLUCINATIONS.search(seg.text):
                reason = "known hallucination"
            if reason:
                dropped.append(f"{reason}: {seg.text.strip()!r}")
            else:
                kept.append(seg)
        text = " ".join(s.text.strip() for s in kept)
        if len(text.split()) > max(3.0, duration * o.max_words_per_s):
            dropped.append(f"too many words for {duration:.1f} s: {text!r}")
            kept, text = [], ""
        tokens = sum(s.tokens for s in kept)
        logprob = sum(s.avg_logprob * s.tokens for s in kept) / tokens if tokens else -math.inf
        for reason in dropped:
            logger.info("ASR output dropped: %s", reason)
        return text, math.exp(logprob), tuple(dropped)


def _refuse_event_loop_thread() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return  # no loop runs on this thread: a worker thread or plain synchronous code
    raise RuntimeError("ASR decoding on the event loop thread: use recognize() or a worker")


BACKENDS: dict[str, str] = {
    "faster_whisper": "simpatient.speech.asr_faster_whisper:FasterWhisperBackend",
    "fake": "simpatient.speech.asr_fake:FakeASRBackend",
}


def create_asr(options: ASRSettings, models_dir: Path) -> ASRBackend:
    """The backend named in ``options.backend``, constructed but not loaded."""
    backend_cls: type[ASRBackend] = backend_class("ASR backend", options.backend, BACKENDS)
    path = locate(options.model, models_dir) if backend_cls.local_weights else Path()
    return backend_cls(path, options)
