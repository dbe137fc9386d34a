"""From a persona's engine-neutral voice to a real one, with a fallback chain.

A persona says "female, middle-aged, Boston accent"; :func:`choose_voices` ranks every
known voice of the allowed engines by how well it fits (gender first, then accent, then
the engine's quality) and returns the whole ranking. :class:`FallbackVoice` speaks with
the first voice that loads, and moves down the ranking when a voice fails mid-reply, so a
missing or broken engine costs a voice, never the conversation. espeak-ng, which has a
voice for every gender and several accents and loads in milliseconds, ends every chain.
"""

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from simpatient.content.persona import Voice, VoiceGender
from simpatient.errors import BackendError, SimPatientError
from simpatient.settings import TTSSettings
from simpatient.speech.tts.base import (
    NEUTRAL,
    Prosody,
    TTSBackend,
    Utterance,
    create_backend,
)

logger = logging.getLogger(__name__)


class Accent(StrEnum):
    us = "us"
    scottish = "scottish"
    british = "british"
    other = "other"


_ACCENT_WORDS: list[tuple[Accent, re.Pattern[str]]] = [
    (Accent.scottish, re.compile(r"scot|glasgow|edinburgh|aberdeen|highland", re.I)),
    (
        Accent.british,
        re.compile(
            r"brit|(?<!new )england|english \(|london|received pronunciation|\brp\b|yorkshire", re.I
        ),
    ),
    (Accent.us, re.compile(r"americ|\bus\b|u\.s\.|boston|chicago|new york|texas|southern", re.I)),
]


def accent_of(description: str) -> Accent:
    """The accent family a free-text accent description names ("Boston, New England
    American" -> us); ``other`` when none of ours fits (the US voices stand in)."""
    for accent, pattern in _ACCENT_WORDS:
        if pattern.search(description):
            return accent
    return Accent.other


@dataclass(frozen=True, slots=True)
class VoiceOption:
    """A concrete voice and what it sounds like; ``quality`` ranks engines (higher is
    more natural: neural > HTS > clustergen > diphone > formant)."""

    name: str  # engine:voice
    gender: VoiceGender
    accent: Accent
    quality: int

    @property
    def engine(self) -> str:
        return self.name.partition(":")[0]


M, F = VoiceGender.male, VoiceGender.female
VOICES: tuple[VoiceOption, ...] = (
    # Coqui VCTK speakers (GPU deployments); accents from VCTK's speaker-info.txt.
    VoiceOption("coqui:p311", M, Accent.us, 6),
    VoiceOption("coqui:p294", F, Accent.us, 6),
    VoiceOption("coqui:p237", M, Accent.scottish, 6),
    VoiceOption("coqui:p234", F, Accent.scottish, 6),
    VoiceOption("coqui:p226", M, Accent.british, 6),
    VoiceOption("coqui:p225", F, Accent.british, 6),
    VoiceOption("piper:piper-en_US-joe-medium", M, Accent.us, 5),
    VoiceOption("festival:cmu_us_slt_arctic_hts", F, Accent.us, 4),
    VoiceOption("flite:slt", F, Accent.us, 3),
    VoiceOption("flite:rms", M, Accent.us, 3),
    VoiceOption("flite:awb", M, Accent.scottish, 3),
    VoiceOption("festival:kal_diphone", M, Accent.us, 1),
    VoiceOption("espeak:en-us", M, Accent.us, 0),
    VoiceOption("espeak:en-us+f5", F, Accent.us, 0),
    VoiceOption("espeak:en-gb-scotland", M, Accent.scottish, 0),
    VoiceOption("espeak:en-gb-scotland+f5", F, Accent.scottish, 0),
    VoiceOption("espeak:en-gb-x-rp", M, Accent.british, 0),
    VoiceOption("espeak:en-gb-x-rp+f5", F, Accent.british, 0),
)


def choose_voices(voice: Voice, options: TTSSettings) -> list[str]:
    """Every allowed voice for ``voice``, best first: ``engine:voice`` names.

    Ranking: the persona's gender (a neutral voice takes either), then its accent (the
    US voices stand in for accents we have no voice for), then engine quality, then the
    order of ``options.engines``. ``options.voice`` (forced) comes first when set."""
    accent = accent_of(voice.accent)
    wanted = accent if accent is not Accent.other else Accent.us
    engines = list(options.engines)

    def score(option: VoiceOption) -> tuple[int, int, int, int]:
        gender_ok = voice.gender is VoiceGender.neutral or option.gender is voice.gender
        return (
            0 if gender_ok else 1,
            0 if option.accent is wanted else 1,
            -option.quality,
            engines.index(option.engine),
        )

    allowed = [o for o in VOICES if o.engine in engines]
    ranked = [o.name for o in sorted(allowed, key=score)]
    if options.voice:
        ranked = [options.voice, *[n for n in ranked if n != options.voice]]
    return ranked


class FallbackVoice:
    """A :class:`~simpatient.speech.tts.base.Speaker`: speaks with the first voice of a
    ranking that loads; when a voice fails during a reply, the next one takes over for
    the same sentence. Every switch is logged."""

    def __init__(self, names: Sequence[str], options: TTSSettings, models_dir: Path) -> None:
        self.options, self.models_dir = options, models_dir
        self.names = list(names)
        self.current: TTSBackend | None = None
        self._next = 0

    @property
    def name(self) -> str:
        return self.current.name if self.current is not None else ",".join(self.names)

    def load(self) -> None:
        """Load voices down the ranking until one loads; fails when none does."""
        reasons: list[str] = []
        while self._next < len(self.names):
            candidate = self.names[self._next]
            self._next += 1
            try:
                backend = create_backend(candidate, self.options, self.models_dir)
                backend.load()
            except (SimPatientError, OSError) as e:
                reasons.append(f"{candidate}: {e}")
                logger.warning(
                    "TTS voice %s is unavailable (%s); trying the next one", candidate, e
                )
                continue
            if self.current is not None:
                self.current.close()
            self.current = backend
            logger.info("speaking with %s", candidate)
            return
        raise BackendError("no TTS voice could be loaded: " + "; ".join(reasons))

    def synthesize(self, text: str, prosody: Prosody = NEUTRAL) -> Utterance:
        """Synthesise with the current voice; on failure, fall back and retry once per
        remaining voice."""
        while True:
            if self.current is None:
                self.load()
            assert self.current is not None
            try:
                return self.current.synthesize(text, prosody)
            except (SimPatientError, OSError) as e:
                logger.warning(
                    "TTS voice %s failed on %r (%s); falling back to the next voice",
                    self.current.name,
                    text,
                    e,
                )
                self.current.close()
                self.current = None

    def close(self) -> None:
        """Close the current voice."""
        if self.current is not None:
            self.current.close()


def open_voice(voice: Voice, options: TTSSettings, models_dir: Path) -> FallbackVoice:
    """The voice chain for a persona, constructed but not loaded (call ``load()``)."""
    return FallbackVoice(choose_voices(voice, options), options, models_dir)
