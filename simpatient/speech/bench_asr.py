"""Speech-recognition figures on a real-speech set: WER of the offline decode and of the
streaming path (partials while speaking, then the final), decode times, partial cost and
how long the final transcript takes once the turn has ended.

The set is a folder of 16 kHz WAV files with ``ref.tsv`` (id, reference text), such as
``tests/data/speech``. WER uses :mod:`simpatient.speech.wer`'s normalisation."""

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simpatient.measure import percentiles
from simpatient.settings import Settings
from simpatient.speech.asr import ASRBackend
from simpatient.speech.audio import ASR_RATE, AudioChunk, now, read_wav
from simpatient.speech.listener import Listener, ListenEventKind
from simpatient.speech.vad import SileroVAD
from simpatient.speech.wer import wer

logger = logging.getLogger(__name__)

#: Silence around each utterance, as a turn arrives from a microphone.
LEAD_S, TRAIL_S = 0.5, 1.2
CHUNK_MS = 20


@dataclass
class Utterance:
    """One utterance's results (times in seconds)."""

    name: str
    reference: str
    duration_s: float
    offline_text: str = ""
    offline_decode_s: float = 0.0
    stream_text: str = ""
    partial_decode_s: list[float] = field(default_factory=list)
    final_reused: bool = False
    final_wait_s: float = 0.0  # from the audio that ended the turn to the final transcript
    end_to_final_s: float = 0.0  # from the last voiced audio to the final transcript


@dataclass
class ASRBenchReport:
    """Every utterance, and :meth:`summary` for printing."""

    backend: str
    model: str
    realtime: bool
    utterances: list[Utterance] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        u = self.utterances
        offline = wer((x.reference, x.offline_text) for x in u)
        stream = wer((x.reference, x.stream_text) for x in u)
        partials = [s for x in u for s in x.partial_decode_s]
        return {
            "utterances": len(u),
            "reference_words": offline.words,
            "wer_offline": round(offline.rate, 4),
            "wer_streaming": round(stream.rate, 4),
            "decode_s_offline": percentiles(x.offline_decode_s for x in u),
            "rtf_offline": round(
                sum(x.offline_decode_s for x in u) / sum(x.duration_s for x in u), 3
            ),
            "partial_decode_s": percentiles(partials),
            "partials_per_utterance": round(len(partials) / len(u), 2) if u else 0,
            "final_reused_partial": round(sum(x.final_reused for x in u) / len(u), 3)
            if u
            else None,
            "final_wait_s": percentiles(x.final_wait_s for x in u),
            "speech_end_to_final_s": percentiles(x.end_to_final_s for x in u)
            if self.realtime
            else {"n": 0},
        }


def load_set(speech_dir: Path) -> list[tuple[str, str, AudioChunk]]:
    """(id, reference, audio) for each line of ``ref.tsv``."""
    rows = []
    for line in (speech_dir / "ref.tsv").read_text().splitlines():
        if line.strip():
            name, ref = line.split("\t", 1)
            rows.append((name, ref, read_wav(speech_dir / f"{name}.wav")))
    return rows


def run(
    asr: ASRBackend, settings: Settings, speech_dir: Path, realtime: bool = True
) -> ASRBenchReport:
    """Decode every utterance offline, then stream it through the :class:`Listener`
    (Silero VAD, endpointer, partials) in 20 ms chunks: paced to the audio clock when
    ``realtime``, otherwise as fast as the decodes allow."""
    vad = SileroVAD(threads=settings.vad.threads)
    vad.load()
    report = ASRBenchReport(settings.asr.backend, settings.asr.model, realtime)
    for name, ref, audio in load_set(speech_dir):
        result = Utterance(name, ref, audio.duration)
        offline = asr.transcribe(audio)
        result.offline_text, result.offline_decode_s = offline.text, offline.decode_s
        vad.reset()
        listener = Listener(asr, vad, settings.vad, settings.asr)
        asyncio.run(_stream(listener, audio, result, realtime))
        logger.info("%s: offline %r, streaming %r", name, result.offline_text, result.stream_text)
        report.utterances.append(result)
    return report


async def _stream(listener: Listener, audio: AudioChunk, result: Utterance, realtime: bool) -> None:
    for chunk in _chunks(audio):
        if realtime:
            await asyncio.sleep(max(0.0, chunk.end - now()))
        fed = now()
        for event in await listener.feed(chunk):
            t = event.transcript
            if event.kind is ListenEventKind.partial and t is not None:
                result.partial_decode_s.append(t.decode_s)
            elif event.kind is ListenEventKind.turn and t is not None:
                result.stream_text += (" " if result.stream_text else "") + t.text
                result.final_reused = t.decode_s == 0.0
                result.final_wait_s = now() - fed
                if event.speech_end is not None:
                    result.end_to_final_s = now() - event.speech_end
        while not realtime and listener.decoding:
            await asyncio.sleep(0.005)


def _chunks(audio: AudioChunk) -> Iterator[AudioChunk]:
    pad = [np.zeros(int(s * ASR_RATE), np.float32) for s in (LEAD_S, TRAIL_S)]
    samples = np.concatenate([pad[0], audio.samples, pad[1]])
    step = ASR_RATE * CHUNK_MS // 1000
    start = now()
    for i in range(0, len(samples), step):
        yield AudioChunk(samples[i : i + step], ASR_RATE, start + i / ASR_RATE)
