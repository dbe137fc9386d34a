"""Clips of the patient speaking: for educators (the preview command) and for the sync
measurement, which analyses the same files."""

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simpatient.avatar.frames import Expression, VideoFrame
from simpatient.avatar.media import contact_sheet, save_png, write_mp4
from simpatient.avatar.renderer import AvatarRenderer, RenderOptions, create_renderer
from simpatient.avatar.stream import AvatarStream
from simpatient.content.library import Case
from simpatient.content.persona import Persona
from simpatient.settings import AvatarSettings, Settings
from simpatient.speech.audio import AudioChunk
from simpatient.speech.visemes import Viseme

logger = logging.getLogger(__name__)

#: silence around the utterance in a clip: the face at rest before and after
LEAD_S, TAIL_S = 0.4, 0.5
NEUTRAL = Expression()


@dataclass(frozen=True, slots=True)
class Clip:
    """Frames and the audio that goes with them, both from stream time 0."""

    frames: list[VideoFrame]
    audio: AudioChunk


def options_of(avatar: AvatarSettings) -> RenderOptions:
    return RenderOptions(avatar.width, avatar.height, avatar.fps, avatar.seed)


def open_renderer(persona: Persona, avatar: AvatarSettings) -> AvatarRenderer:
    """The configured renderer for ``persona``, loaded (the CPU face if the neural one
    cannot load)."""
    extra: dict[str, object] = {}
    if avatar.backend == "musetalk":
        extra = {
            "model_dir": avatar.musetalk_model,
            "base_video": avatar.musetalk_base_video,
            "device": avatar.device,
        }
    return create_renderer(avatar.backend, persona, options_of(avatar), **extra)


def render_clip(
    renderer: AvatarRenderer,
    audio: AudioChunk,
    visemes: tuple[Viseme, ...],
    expression: Expression = NEUTRAL,
    video_delay_s: float = 0.0,
) -> Clip:
    """The utterance with a little silence around it. ``video_delay_s`` shows each
    picture that much late (a deliberately broken clip, to prove the sync check fails)."""
    rate = audio.sample_rate
    samples = np.concatenate(
        [
            np.zeros(round(LEAD_S * rate), np.float32),
            audio.samples,
            np.zeros(round(TAIL_S * rate), np.float32),
        ]
    )
    padded = AudioChunk(samples, rate, 0.0)
    stream = AvatarStream(renderer, start=0.0)
    stream.express(expression, at=-1.0)
    stream.speak(AudioChunk(audio.samples, rate, LEAD_S), visemes)
    fps = renderer.options.fps
    count = math.ceil(padded.duration * fps)
    delay = round(video_delay_s * fps)
    frames = []
    for i in range(count):
        shown = stream.frame(max(0, i - delay))
        frames.append(VideoFrame(shown.image, i / fps, i, 0.0))
    return Clip(frames, padded)


def save_clip(clip: Clip, path: Path, fps: int) -> Path:
    return write_mp4(path, clip.frames, clip.audio, fps)


def preview(case: Case, text: str, out_dir: Path, settings: Settings) -> tuple[Path, Path]:
    """The case's patient saying ``text`` through the real TTS stage, in the scenario's
    starting mood: an MP4 with audio and a contact sheet. Returns both paths."""
    from simpatient.speech.tts import Prosody, open_voice

    persona = case.persona
    voice = open_voice(persona.voice, settings.tts, settings.models_dir)
    voice.load()
    utterance = voice.synthesize(text, Prosody.for_patient(persona.voice))
    renderer = open_renderer(persona, settings.avatar)
    start = case.scenario.emotional.start
    mood = Expression(start.label, float(start.intensity))
    clip = render_clip(renderer, utterance.audio, utterance.visemes, mood)
    video = save_clip(clip, out_dir / f"{case.scenario.id}.mp4", renderer.options.fps)
    sheet = save_png(out_dir / f"{persona.id}-sheet.png", contact_sheet(renderer))
    logger.info("preview: %s (%s), %s", video, utterance.voice, sheet)
    return video, sheet
