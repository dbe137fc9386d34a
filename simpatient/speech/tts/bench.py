"""Speed of each voice: load time, first audio of a reply, real-time factor.

``bench_voices`` is what ``simpatient bench speech`` prints for the TTS stage. First audio
is measured as the orchestration sees it: from handing a whole reply to
:func:`~simpatient.speech.tts.stream.speak` to the first utterance (the first clause)
coming out of its worker thread. The real-time factor is synthesis time over audio time
for every piece of every reply (below 1 is faster than real time).
"""

import asyncio
import logging
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from simpatient.errors import SimPatientError
from simpatient.settings import TTSSettings
from simpatient.speech.tts.base import NEUTRAL, Speaker, create_backend
from simpatient.speech.tts.stream import speak

logger = logging.getLogger(__name__)

#: Patient replies of typical length, with the things normalisation must handle.
REPLIES = (
    "Well, I suppose I knew something was wrong. The scan took nearly an hour.",
    "I take 5 mg of warfarin every evening, and my blood pressure was 140/90 last week.",
    "Is it serious, doctor? My daughter is getting married on June 21st, and I want to be there.",
)


@dataclass(frozen=True, slots=True)
class VoiceFigures:
    """One voice's figures (seconds; ``rtf_p50`` is a ratio; ``audio_s`` is the audio
    made for all replies)."""

    voice: str
    load_s: float
    first_audio_p50_s: float
    first_audio_max_s: float
    rtf_p50: float
    audio_s: float

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in asdict(self).items()}


async def _one_reply(backend: Speaker, reply: str) -> tuple[float, list[float], float]:
    start = time.perf_counter()
    first: float | None = None
    rtfs: list[float] = []
    audio_s = 0.0
    async for utterance in speak(backend, reply, NEUTRAL):
        if first is None:
            first = time.perf_counter() - start
        rtfs.append(utterance.rtf)
        audio_s += utterance.audio.duration
    return first or 0.0, rtfs, audio_s


def bench_voice(backend: Speaker, replies: Sequence[str] = REPLIES) -> VoiceFigures:
    """Load ``backend`` (timed), warm it with one sentence, then speak ``replies``."""
    start = time.perf_counter()
    backend.load()
    load_s = time.perf_counter() - start
    backend.synthesize("Hello.")  # first-call costs (ONNX graph, caches) belong to load
    firsts: list[float] = []
    rtfs: list[float] = []
    audio_s = 0.0
    for reply in replies:
        first, reply_rtfs, reply_audio_s = asyncio.run(_one_reply(backend, reply))
        firsts.append(first)
        rtfs += reply_rtfs
        audio_s += reply_audio_s
    backend.close()
    return VoiceFigures(
        backend.name,
        load_s,
        statistics.median(firsts),
        max(firsts),
        statistics.median(rtfs),
        audio_s,
    )


def bench_voices(
    names: Sequence[str], options: TTSSettings, models_dir: Path
) -> list[VoiceFigures]:
    """Figures for each ``engine:voice`` in ``names``; a voice that cannot load is
    logged and left out."""
    figures = []
    for name in names:
        try:
            figures.append(bench_voice(create_backend(name, options, models_dir)))
        except (SimPatientError, OSError) as e:  # a missing engine must not stop it
            logger.warning("cannot benchmark %s: %s", name, e)
    return figures
