"""What talks through a call: the :class:`CallPipeline` protocol the speech pipeline
implements, and :class:`EchoPipeline`, a stand-in that exercises every part of the
transport (the learner's audio in, audio and video out, events) without any model."""

import asyncio
import logging
import math
from collections.abc import Callable
from typing import Protocol

import numpy as np

from simpatient.speech.audio import AudioChunk, now
from simpatient.transport.peer import CallPeer
from simpatient.transport.tracks import Image

logger = logging.getLogger(__name__)


class CallPipeline(Protocol):
    """The server side of one call's conversation, kept for the whole session.

    ``run(peer)`` is called for each connection of the session (again with a new peer after
    a rejoin) and should return when the peer's microphone ends; it is cancelled when the
    connection drops. ``close()`` is called once, when the session ends."""

    async def run(self, peer: CallPeer) -> None: ...

    async def close(self) -> None: ...


def rms_db(samples: np.ndarray) -> float:
    """Level in dB relative to full scale (-120 for silence)."""
    power = float(np.mean(np.square(samples, dtype=np.float64))) if samples.size else 0.0
    return 10 * math.log10(max(power, 1e-12))


class EchoPipeline:
    """Plays each stretch of the learner's speech back after ``delay_s``, with the events
    the voice session sends (``SessionEvent`` kinds: listening, caption_learner, thinking,
    speaking, caption_patient; and latency) and a moving test pattern as video. Speech is
    told from silence by level alone."""

    def __init__(
        self,
        delay_s: float = 0.3,
        threshold_db: float = -40.0,
        silence_s: float = 0.5,
        size: tuple[int, int] = (640, 480),
        clock: Callable[[], float] = now,
    ) -> None:
        self.delay_s, self.threshold_db, self.silence_s = delay_s, threshold_db, silence_s
        self.runs = 0
        """Connections served (more than one after a rejoin)."""
        self.heard: list[AudioChunk] = []
        """Each stretch of speech received, as one chunk."""
        self.replies = 0
        self.closed = False
        self._clock = clock
        self._width, self._height = size
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, peer: CallPeer) -> None:
        self.runs += 1
        peer.video.source = self._pattern(peer)
        peer.send("listening")
        peer.send("caption_patient", text="Echo test: say something and hear it back.")
        speech: list[AudioChunk] = []
        quiet = 0.0
        async for chunk in peer.microphone():
            loud = rms_db(chunk.samples) > self.threshold_db
            if loud or speech:
                speech.append(chunk)
            quiet = 0.0 if loud else quiet + chunk.duration
            if speech and quiet >= self.silence_s:
                said = AudioChunk(
                    np.concatenate([c.samples for c in speech]),
                    speech[0].sample_rate,
                    speech[0].start,
                )
                speech, quiet = [], 0.0
                self.heard.append(said)
                task = asyncio.create_task(self._reply(peer, said, said.end - self.silence_s))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _reply(self, peer: CallPeer, said: AudioChunk, speech_end: float) -> None:
        peer.send("caption_learner", text=f"({said.duration:.1f} s of speech)")
        peer.send("thinking")
        await asyncio.sleep(self.delay_s)
        playback = peer.audio.push(said)
        started = await playback.started
        if started is None:  # cleared before a sample went out
            return
        self.replies += 1
        peer.send("speaking")
        peer.send("caption_patient", text=f"(your {said.duration:.1f} s, played back)")
        peer.send("latency", voice_to_voice_s=round(started - speech_end, 3))
        await playback.finished
        peer.send("listening")

    def _pattern(self, peer: CallPeer) -> Callable[[float], Image]:
        """Bars that scroll with the clock and a box that lights while audio goes out."""
        width, height = self._width, self._height
        base = np.zeros((height, width, 3), np.uint8)
        base[..., 0] = np.linspace(40, 90, width, dtype=np.uint8)
        base[..., 2] = 110

        def frame_for(t: float) -> Image:
            image = base.copy()
            x = int(t * width / 4) % width
            image[:, x : x + 16] = 230
            last = peer.audio.last_sent_at
            if last is not None and t - last < 0.1:
                image[height // 3 : 2 * height // 3, width // 3 : 2 * width // 3, 1] = 200
            return image

        return frame_for

    async def close(self) -> None:
        self.closed = True
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
