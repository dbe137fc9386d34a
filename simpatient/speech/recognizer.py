"""Streaming recognition of one speech segment: partial transcripts while the learner
speaks, by re-decoding the growing buffer, and a final transcript at the end of the turn.

Whisper decodes a whole window at a time, so "streaming" means decoding again as audio
arrives. A partial decoded after the learner stopped (on the endpointer's pause) already
covers the whole utterance; :meth:`StreamingRecognizer.finish` then reuses it, and the
final transcript costs no decode after the silence window. Speech longer than
``max_segment_s`` (a monologue) is cut at its quietest moment and decoded in pieces, so the
buffer stays bounded and each decode stays inside Whisper's 30 s window."""

import logging

import numpy as np

from simpatient.settings import ASRSettings
from simpatient.speech.asr import ASRBackend, Transcript, VocabularyHints
from simpatient.speech.audio import ASR_RATE, AudioChunk, Samples

logger = logging.getLogger(__name__)

#: Where a forced cut may fall: the quietest 32 ms within this much of the buffer's end.
CUT_SEARCH_S = 3.0
#: Audio kept after the last voiced window when decoding a final: the end of the last word.
TAIL_S = 0.3


class StreamingRecognizer:
    """Recognises one speech segment at a time; :meth:`reset` starts the next one.

    Not thread-safe: one task pushes audio and awaits the decodes, which run in worker
    threads through :meth:`ASRBackend.recognize`."""

    def __init__(
        self, asr: ASRBackend, settings: ASRSettings, hints: VocabularyHints | None = None
    ) -> None:
        self.asr = asr
        self.settings = settings
        self.hints = hints
        self.reset()

    def reset(self) -> None:
        """Forget the current segment."""
        self._parts: list[Samples] = []
        self._buffered = 0  # samples in _parts
        self._start: float | None = None  # clock time of the buffer's first sample
        self._pieces: list[AudioChunk] = []  # cut from a monologue, not yet decoded
        self._committed: list[Transcript] = []  # finals of the pieces, in order
        self._last: Transcript | None = None  # the latest partial of the current buffer
        self._decoded_samples = 0  # buffer length at the latest partial
        # A partial that finishes after a cut or a reset describes audio no longer buffered.
        self._generation = getattr(self, "_generation", 0) + 1

    @property
    def buffered_s(self) -> float:
        """Seconds of audio in the current buffer (bounded by ``max_segment_s``)."""
        return self._buffered / ASR_RATE

    @property
    def partial_due(self) -> bool:
        """Whether enough new audio arrived since the last partial to decode again."""
        new = self._buffered - self._decoded_samples
        return new >= self.settings.partial_interval_ms / 1000 * ASR_RATE or bool(self._pieces)

    def push(self, chunk: AudioChunk) -> None:
        """Append 16 kHz audio (cheap: no decoding happens here)."""
        if chunk.sample_rate != ASR_RATE:
            raise ValueError(f"expected {ASR_RATE} Hz audio, got {chunk.sample_rate} Hz")
        if self._start is None:
            self._start = chunk.start
        self._parts.append(chunk.samples)
        self._buffered += len(chunk.samples)
        if self.buffered_s > self.settings.max_segment_s:
            self._cut()

    async def partial(self) -> Transcript:
        """Decode what is buffered (after any pieces cut from a monologue) in a worker
        thread; the text covers the whole segment so far."""
        await self._decode_pieces()
        audio = self._buffer()
        if audio is None:
            return self._joined(None, final=False)
        self._decoded_samples = self._buffered
        generation = self._generation
        transcript = await self.asr.recognize(audio, self.hints, final=False)
        if generation == self._generation:
            self._last = transcript
        return self._joined(transcript, final=False)

    async def finish(self, speech_end: float | None = None) -> Transcript:
        """The final transcript of the segment; ``speech_end`` (clock time of the last
        voiced audio) lets a partial that already covered it stand as the final."""
        await self._decode_pieces()
        audio = self._buffer()
        last = self._last
        if audio is None:
            result = self._joined(None, final=True)
        elif last is not None and speech_end is not None and last.end >= speech_end:
            logger.debug("final reuses the partial decoded up to %.2f", last.end)
            result = self._joined(last, final=True, reused=True)
        else:
            if speech_end is not None:
                audio = _trim(audio, speech_end + TAIL_S)
            result = self._joined(await self.asr.recognize(audio, self.hints), final=True)
        self.reset()
        return result

    def _buffer(self) -> AudioChunk | None:
        if not self._parts or self._start is None:
            return None
        samples = np.concatenate(self._parts) if len(self._parts) > 1 else self._parts[0]
        self._parts = [samples]
        return AudioChunk(samples, ASR_RATE, self._start)

    def _cut(self) -> None:
        audio = self._buffer()
        assert audio is not None
        at = _quietest(audio.samples, CUT_SEARCH_S)
        self._pieces.append(AudioChunk(audio.samples[:at], ASR_RATE, audio.start))
        rest = audio.samples[at:]
        self._parts, self._buffered = [rest], len(rest)
        self._start = audio.start + at / ASR_RATE
        self._last, self._decoded_samples = None, 0
        self._generation += 1
        logger.info("long speech cut after %.1f s for decoding in pieces", at / ASR_RATE)

    async def _decode_pieces(self) -> None:
        while self._pieces:
            piece = self._pieces.pop(0)
            self._committed.append(await self.asr.recognize(piece, self.hints))

    def _joined(self, tail: Transcript | None, *, final: bool, reused: bool = False) -> Transcript:
        parts = [*self._committed, *([tail] if tail else [])]
        if not parts:
            return Transcript("", self._start or 0.0, self._start or 0.0, final, 0.0, 0.0)
        spoken = [p for p in parts if p.text]
        weights = [p.end - p.start for p in spoken]
        confidence = (
            sum(p.confidence * w for p, w in zip(spoken, weights, strict=True)) / sum(weights)
            if spoken and sum(weights) > 0
            else 0.0
        )
        return Transcript(
            " ".join(p.text for p in spoken),
            parts[0].start,
            parts[-1].end,
            final,
            confidence,
            0.0 if reused else parts[-1].decode_s,
            tuple(d for p in parts for d in p.dropped),
        )


def _quietest(samples: Samples, search_s: float) -> int:
    """The sample index starting the quietest 32 ms frame in the last ``search_s``."""
    frame = 512
    begin = max(0, len(samples) - int(search_s * ASR_RATE))
    tail = samples[begin : begin + (len(samples) - begin) // frame * frame]
    if not len(tail):
        return len(samples)
    energy = np.square(tail.reshape(-1, frame)).mean(axis=1)
    return begin + int(np.argmin(energy)) * frame + frame // 2


def _trim(audio: AudioChunk, until: float) -> AudioChunk:
    keep = max(1, int((until - audio.start) * ASR_RATE))
    return (
        AudioChunk(audio.samples[:keep], ASR_RATE, audio.start)
        if keep < len(audio.samples)
        else audio
    )
