"""The patient's outgoing media: an audio track fed by the speech pipeline and a video track
that draws each frame for its presentation time. Both are paced by the pipeline clock
(:func:`simpatient.speech.audio.now`), so what the avatar draws for time ``t`` goes out with
the audio sent at ``t``."""

import asyncio
import fractions
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import av
import numpy as np
import numpy.typing as npt
import soxr
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from simpatient.speech.audio import WEBRTC_RATE, AudioChunk, Samples, now

logger = logging.getLogger(__name__)

#: WebRTC's Opus packs 20 ms per packet; one frame is one packet.
FRAME_S = 0.020
FRAME_SAMPLES = int(WEBRTC_RATE * FRAME_S)
#: Behind the clock by more than this (a stalled event loop), the track skips ahead rather
#: than bursting the backlog, which the browser's jitter buffer would throw away anyway.
MAX_LAG_S = 0.5
VIDEO_CLOCK_RATE = 90_000  # RTP's video clock
_EMPTY: Samples = np.zeros(0, np.float32)

#: ``frame_for(t)``: the RGB image (height x width x 3, uint8) to show at clock time ``t``;
#: a coroutine function is awaited (a renderer that runs elsewhere).
Image = npt.NDArray[np.uint8]
FrameSource = Callable[[float], Image | Awaitable[Image]]


@dataclass(eq=False)
class Playback:
    """What became of one pushed chunk of patient audio.

    ``started`` resolves with the clock time the chunk's first sample was sent (None when
    :meth:`PatientAudioTrack.clear` dropped it unheard); ``finished`` with the time its last
    sample was sent or it was cut. ``sent_s`` is how much of it went out: what the learner
    heard, give or take the network's 50-100 ms."""

    duration: float
    begin: float  # position on the track's input timeline, seconds
    started: "asyncio.Future[float | None]"
    finished: "asyncio.Future[float]"
    sent_s: float = 0.0
    cut: bool = False

    @property
    def end(self) -> float:
        return self.begin + self.duration


class _Resampler:
    """Any input rate to 48 kHz, streaming, with a flush: soxr holds back up to ~30 ms of
    output, which would otherwise stay stuck at the end of an utterance until the next one.
    (:class:`simpatient.speech.audio.StreamResampler` has no flush.)"""

    def __init__(self) -> None:
        self._stream: soxr.ResampleStream | None = None
        self._rate = 0

    def push(self, chunk: AudioChunk) -> Samples:
        pending = self.flush() if chunk.sample_rate != self._rate else _EMPTY
        samples = chunk.samples.astype(np.float32, copy=False)
        if chunk.sample_rate != WEBRTC_RATE:
            if self._stream is None:
                self._rate = chunk.sample_rate
                self._stream = soxr.ResampleStream(
                    chunk.sample_rate, WEBRTC_RATE, 1, dtype="float32", quality="HQ"
                )
            samples = self._stream.resample_chunk(samples)
        return np.concatenate([pending, samples]) if len(pending) else samples

    def flush(self) -> Samples:
        if self._stream is None:
            return _EMPTY
        out: Samples = self._stream.resample_chunk(np.zeros(0, np.float32), last=True)
        self._stream, self._rate = None, 0
        return out

    def reset(self) -> None:
        self._stream, self._rate = None, 0


class PatientAudioTrack(MediaStreamTrack):
    """The patient's voice: 20 ms s16 frames at 48 kHz (one voice in both channels), paced
    to real time, silence whenever nothing is queued.

    Call :meth:`push` and :meth:`clear` from the event loop's thread."""

    kind = "audio"

    def __init__(self, clock: Callable[[], float] = now) -> None:
        super().__init__()
        self._clock = clock
        self._resampler = _Resampler()
        self._queue: deque[Samples] = deque()
        self._queued = 0  # samples in _queue
        self._playbacks: deque[Playback] = deque()
        self._pushed_s = 0.0  # input timeline: seconds pushed since the track began
        self._sent_s = 0.0  # seconds of pushed audio sent
        self._start: float | None = None
        self._timestamp = 0
        self.last_sent_at: float | None = None
        """Clock time the last pushed (non-silent) sample went out."""

    @property
    def queued_s(self) -> float:
        """Seconds of pushed audio not sent yet (some may still sit in the resampler)."""
        return max(0.0, self._pushed_s - self._sent_s)

    @property
    def sent_s(self) -> float:
        """Seconds of pushed audio sent since the track began."""
        return self._sent_s

    def push(self, chunk: AudioChunk) -> Playback:
        """Queue ``chunk`` (any rate, resampled to 48 kHz) after what is already queued."""
        loop = asyncio.get_running_loop()
        playback = Playback(
            chunk.duration, self._pushed_s, loop.create_future(), loop.create_future()
        )
        self._pushed_s += chunk.duration
        self._playbacks.append(playback)
        self._enqueue(self._resampler.push(chunk))
        return playback

    def clear(self) -> float:
        """Drop everything not sent yet (the learner interrupted); the seconds dropped."""
        dropped = self.queued_s
        self._queue.clear()
        self._queued = 0
        self._resampler.reset()
        at = self._clock()
        while self._playbacks:
            playback = self._playbacks.popleft()
            playback.cut = True
            if not playback.started.done():
                playback.started.set_result(None)
            playback.finished.set_result(at)
        self._pushed_s = self._sent_s
        if dropped:
            logger.debug("cleared %.2f s of patient audio", dropped)
        return dropped

    def _enqueue(self, samples: Samples) -> None:
        if len(samples):
            self._queue.append(samples)
            self._queued += len(samples)

    def _take(self) -> Samples:
        """Up to one frame of queued audio; flushes the resampler when the queue runs dry."""
        if self._queued < FRAME_SAMPLES:
            self._enqueue(self._resampler.flush())
        parts, need = [], FRAME_SAMPLES
        while need and self._queue:
            head = self._queue[0]
            if len(head) <= need:
                parts.append(self._queue.popleft())
                need -= len(head)
            else:
                parts.append(head[:need])
                self._queue[0] = head[need:]
                need = 0
        taken = np.concatenate(parts) if parts else _EMPTY
        self._queued -= len(taken)
        return taken

    def _account(self, sent_samples: int, at: float) -> None:
        """Move the sent mark and settle the playbacks it passed."""
        if not sent_samples:
            return
        self._sent_s += sent_samples / WEBRTC_RATE
        self.last_sent_at = at
        if not self._queued:
            # the queue is dry and the resampler flushed: every pushed sample is out, so the
            # two timelines meet again (a few samples of rounding would otherwise add up)
            self._sent_s = max(self._sent_s, self._pushed_s)
        while self._playbacks:
            playback = self._playbacks[0]
            if playback.begin >= self._sent_s and self._queued:
                break
            if not playback.started.done():
                playback.started.set_result(at)
            playback.sent_s = min(playback.duration, self._sent_s - playback.begin)
            if playback.end > self._sent_s + 1e-6 and self._queued:
                break
            playback.sent_s = playback.duration
            playback.finished.set_result(at)
            self._playbacks.popleft()

    async def recv(self) -> av.AudioFrame:
        """The next 20 ms frame, returned at its time on the clock."""
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = self._clock()
        due = self._start + self._timestamp / WEBRTC_RATE
        lag = self._clock() - due
        if lag > MAX_LAG_S:
            skip = int(lag * WEBRTC_RATE) // FRAME_SAMPLES * FRAME_SAMPLES
            logger.warning("audio track %.2f s behind the clock: skipping ahead", lag)
            self._timestamp += skip
            due += skip / WEBRTC_RATE
        elif lag < 0:
            await asyncio.sleep(-lag)
        samples = self._take()
        pcm = np.zeros(FRAME_SAMPLES, np.int16)
        pcm[: len(samples)] = (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
        # Sent as two equal channels: aiortc's Opus encoder is stereo, and the upmix it
        # would apply to a mono frame (FFmpeg's centre mix) makes the voice 3 dB quieter.
        frame = av.AudioFrame(format="s16", layout="stereo", samples=FRAME_SAMPLES)
        frame.planes[0].update(np.repeat(pcm, 2).tobytes())
        frame.sample_rate = WEBRTC_RATE
        frame.pts = self._timestamp
        frame.time_base = fractions.Fraction(1, WEBRTC_RATE)
        self._timestamp += FRAME_SAMPLES
        self._account(len(samples), self._clock())
        return frame


def blank_frame(width: int = 640, height: int = 480) -> FrameSource:
    """A source that shows a dark grey picture until the pipeline provides its own."""
    image = np.full((height, width, 3), 32, np.uint8)
    return lambda _t: image


@dataclass
class VideoStats:
    """What the video track has done, for the benchmark and the logs."""

    sent: int = 0
    skipped: int = 0  # frames whose time passed before they could be drawn
    draw_s: list[float] = field(default_factory=list)


class PatientVideoTrack(MediaStreamTrack):
    """The patient's face at ``fps`` frames per second. Frame ``n`` is drawn for clock time
    ``start + n / fps`` and stamped with that time, so the stream never drifts from the
    audio; a frame whose time has passed is skipped, never queued."""

    kind = "video"

    def __init__(
        self, source: FrameSource | None = None, fps: int = 25, clock: Callable[[], float] = now
    ) -> None:
        super().__init__()
        self.source: FrameSource = source or blank_frame()
        """Replace it at any time (the pipeline sets its avatar here)."""
        self.fps = fps
        self.stats = VideoStats()
        self._clock = clock
        self._start: float | None = None
        self._index = -1

    async def recv(self) -> av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = self._clock()
        index = self._index + 1
        late_by = self._clock() - (self._start + index / self.fps)
        if late_by > 1 / self.fps:
            skip = int(late_by * self.fps)
            self.stats.skipped += skip
            index += skip
        at = self._start + index / self.fps
        wait = at - self._clock()
        if wait > 0:
            await asyncio.sleep(wait)
        self._index = index
        began = self._clock()
        image = self.source(at)
        if inspect.isawaitable(image):
            image = await image
        self.stats.draw_s.append(self._clock() - began)
        del self.stats.draw_s[:-250]  # the last ten seconds
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts = round(index * VIDEO_CLOCK_RATE / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        self.stats.sent += 1
        return frame
