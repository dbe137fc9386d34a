"""What flows into and out of the avatar stage: modes, expressions, speech, video frames.

A frame's ``pts`` is seconds from the start of the stream (the call, or one preview
clip); the stream's start is a reading of :func:`simpatient.speech.audio.now`, the same
clock the audio chunks are stamped on, so ``frame.time`` and ``AudioChunk.start`` compare
directly and a transport can send both tracks in sync."""

import logging
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from simpatient.content.scenario import Emotion
from simpatient.speech.audio import AudioChunk
from simpatient.speech.visemes import Viseme, VisemeName

logger = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]


class Mode(StrEnum):
    """What the patient is doing in the conversation."""

    idle = "idle"  # nobody speaks: breathing, small head motion, wandering gaze
    listening = "listening"  # the learner speaks: gaze on the learner, nods
    speaking = "speaking"  # the patient speaks: mouth on the visemes


@dataclass(frozen=True, slots=True)
class Expression:
    """An emotion of the patient state with its intensity, 0 (none) to 1 (full)."""

    emotion: Emotion = Emotion.neutral
    intensity: float = 0.0

    @classmethod
    def parse(cls, label: str, intensity: float) -> "Expression":
        """An expression from free labels; an unknown label is neutral (and logged)."""
        try:
            emotion = Emotion(label)
        except ValueError:
            logger.warning("unknown expression %r: drawn as neutral", label)
            emotion = Emotion.neutral
        return cls(emotion, min(1.0, max(0.0, float(intensity))))


def parse_visemes(items: list[tuple[str, float, float]]) -> tuple[Viseme, ...]:
    """A viseme timeline from (label, start, end) triples; unknown labels become ``sil``
    (mouth at rest) and are logged, so a TTS with a new phoneme never breaks the face."""
    out = []
    for label, start, end in items:
        try:
            name = VisemeName(label)
        except ValueError:
            logger.warning("unknown viseme %r at %.2f s: drawn as sil", label, start)
            name = VisemeName.sil
        out.append(Viseme(name, start, end))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Speech:
    """One utterance placed on the stream: its audio plays from ``at`` (seconds from the
    stream start) and its viseme timeline counts from the audio's first sample."""

    audio: AudioChunk
    visemes: tuple[Viseme, ...]
    at: float

    @property
    def end(self) -> float:
        """Stream time of the audio's last sample: the audio, not the visemes, decides."""
        return self.at + self.audio.duration

    def timeline(self) -> tuple[Viseme, ...]:
        """The visemes fitted to the audio: cut at its end, and padded with ``sil`` when
        they stop early, so the mouth can never run ahead of or behind the voice."""
        duration = self.audio.duration
        fitted = [
            Viseme(v.name, max(0.0, v.start), min(v.end, duration))
            for v in sorted(self.visemes, key=lambda v: v.start)
            if v.start < duration and v.end > max(0.0, v.start)
        ]
        last = fitted[-1].end if fitted else 0.0
        if last < duration:
            fitted.append(Viseme(VisemeName.sil, last, duration))
        return tuple(fitted)


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One picture of the avatar: RGB ``image`` (height x width x 3) shown at ``pts``
    seconds after the stream start ``stream_start`` (a :func:`now` reading)."""

    image: Image
    pts: float
    index: int
    stream_start: float = 0.0

    @property
    def time(self) -> float:
        """The pipeline-clock time this frame is due, comparable with ``AudioChunk.start``."""
        return self.stream_start + self.pts

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True, slots=True)
class FaceInput:
    """Everything a renderer needs for the picture at stream time ``t``."""

    t: float
    mode: Mode
    expression: Expression
    speech: Speech | None = None
    #: the expression being left and how far the change has gone (0 to 1)
    previous: Expression = Expression()
    blend: float = 1.0
    #: the mode being left and how long ago the current one began (seconds)
    previous_mode: Mode = Mode.idle
    mode_age: float = 1e9
