"""``simpatient bench avatar``: frame rate, CPU cost, first-frame latency and lip sync
measured on encoded clips of real TTS speech."""

import asyncio
import logging
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simpatient.avatar import sync
from simpatient.avatar.frames import Expression, Mode, parse_visemes
from simpatient.avatar.preview import open_renderer, render_clip, save_clip
from simpatient.avatar.renderer import AvatarRenderer
from simpatient.avatar.stream import AvatarStream
from simpatient.content.library import CaseLibrary
from simpatient.content.persona import Persona
from simpatient.content.scenario import Emotion
from simpatient.settings import Settings
from simpatient.speech.audio import AudioChunk, now
from simpatient.speech.tts import Utterance

logger = logging.getLogger(__name__)

#: patient lines for the sync clips, besides every scenario's opening line
LINES = (
    "I have been so tired lately, and the stairs at work leave me out of breath.",
    "Is it the cancer again? Please just tell me straight.",
    "My wife keeps asking me what the doctors said, and I never know what to say.",
    "What happens now? Will I need more chemotherapy?",
    "I'm sorry, could you say that again more slowly?",
    "Thank you. That's a weight off my mind, honestly.",
    "Nobody told me about a mistake with the dose. Who checked it?",
    "I don't want the blood, but I do want to live for my children.",
    "Some mornings I feel fine, and then by lunch I can barely stand.",
    "Okay. Okay. I think I understand what you're telling me.",
)


@dataclass(frozen=True, slots=True)
class AvatarBench:
    """The benchmark's figures (milliseconds unless named otherwise)."""

    backend: str
    size: str
    fps_target: int
    fps_sustained: float
    frames_dropped: int
    cpu_ms_per_frame: float
    cpu_percent_of_core: float
    wall_ms_per_frame: float
    first_frame_ms: float
    av_offset_ms: float
    av_offset_min_ms: float
    av_offset_max_ms: float
    av_correlation: float
    clips: int
    clips_within_itu: int
    within_itu: bool


def cost(renderer: AvatarRenderer, frames: int = 250) -> tuple[float, float]:
    """Process CPU and wall milliseconds per frame over ``frames`` frames of speech and
    expression changes, rendered back to back."""
    stream = AvatarStream(renderer, start=0.0)
    rate = 16_000
    audio = AudioChunk(np.zeros(rate * 4, np.float32), rate, 1.0)
    names = ["sil", "PP", "aa", "DD", "E", "SS", "ih", "kk", "oh", "nn", "ou", "FF"]
    stream.speak(audio, parse_visemes([(names[i % 12], i * 0.1, i * 0.1 + 0.1) for i in range(40)]))
    stream.express(Expression(Emotion.anxious, 0.7), at=3.0)
    stream.set_mode(Mode.listening, at=6.0)
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(frames):
        stream.frame(i)
    n = max(1, frames)
    return (time.process_time() - cpu) * 1000 / n, (time.perf_counter() - wall) * 1000 / n


async def _paced(renderer: AvatarRenderer, seconds: float) -> tuple[float, int, list[float]]:
    """Run the paced stream in real time; speak every 2 s and time the first frame that
    shows each utterance after its audio was handed over."""
    stream = AvatarStream(renderer)
    rate = 16_000
    latencies: list[float] = []
    pending: float | None = None
    count = 0
    started = time.perf_counter()
    async for frame in stream.frames():
        count += 1
        if pending is not None and frame.time >= pending:
            latencies.append((now() - pending) * 1000)
            pending = None
        if count % (2 * stream.fps) == 5:
            pending = now()
            audio = AudioChunk(np.zeros(rate, np.float32), rate, pending)
            stream.speak(audio, parse_visemes([("aa", 0.0, 0.5), ("sil", 0.5, 1.0)]))
        if time.perf_counter() - started >= seconds:
            break
    elapsed = time.perf_counter() - started
    return count / elapsed, stream.dropped, latencies


def lip_sync(
    renderer: AvatarRenderer, utterances: list[Utterance], folder: Path
) -> list[sync.SyncResult]:
    """Encode each utterance as an MP4 and measure its offset from the file alone."""
    results = []
    for i, utterance in enumerate(utterances):
        clip = render_clip(renderer, utterance.audio, utterance.visemes, Expression())
        path = save_clip(clip, folder / f"clip-{i:02d}.mp4", renderer.options.fps)
        results.append(sync.measure(path))
    return results


def speak_lines(persona: Persona, settings: Settings, lines: list[str]) -> list[Utterance]:
    """The lines in the persona's voice through the real TTS stage."""
    from simpatient.speech.tts import Prosody, open_voice

    voice = open_voice(persona.voice, settings.tts, settings.models_dir)
    voice.load()
    return [voice.synthesize(line, Prosody.for_patient(persona.voice)) for line in lines]


def run(
    library: CaseLibrary, settings: Settings, persona_id: str, seconds: float = 10.0
) -> AvatarBench:
    """All the figures for one persona's face with the configured renderer."""
    persona = library.personas[persona_id]
    renderer = open_renderer(persona, settings.avatar)
    cpu_ms, wall_ms = cost(renderer)
    fps, dropped, latencies = asyncio.run(_paced(renderer, seconds))
    lines = [s.opening_line for s in library.scenarios.values()] + list(LINES)
    with tempfile.TemporaryDirectory() as folder:
        results = lip_sync(renderer, speak_lines(persona, settings, lines), Path(folder))
    total = sync.pooled(results)
    opts = renderer.options
    return AvatarBench(
        backend=renderer.name,
        size=f"{opts.width}x{opts.height}",
        fps_target=opts.fps,
        fps_sustained=round(fps, 2),
        frames_dropped=dropped,
        cpu_ms_per_frame=round(cpu_ms, 2),
        cpu_percent_of_core=round(cpu_ms * opts.fps / 10, 1),
        wall_ms_per_frame=round(wall_ms, 2),
        first_frame_ms=round(statistics.median(latencies), 1) if latencies else float("nan"),
        av_offset_ms=round(total.offset_ms, 1),
        av_offset_min_ms=round(min(r.offset_ms for r in results), 1),
        av_offset_max_ms=round(max(r.offset_ms for r in results), 1),
        av_correlation=round(total.correlation, 3),
        clips=total.clips,
        clips_within_itu=sum(r.within_itu for r in results),
        within_itu=total.within_itu,
    )
