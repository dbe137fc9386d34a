"""The avatar as a pipeline stage: told what happens (speech, listening, mood), asked for
frames on the audio's clock.

Frame ``k`` is always due at ``start + k / fps``. A paced stream that falls behind
skips the frames it can no longer show on time (the audio goes on untouched), so the
picture never drifts from the voice."""

import asyncio
import bisect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from simpatient.avatar.frames import Expression, FaceInput, Mode, Speech, VideoFrame
from simpatient.avatar.renderer import AvatarRenderer
from simpatient.speech.audio import AudioChunk, now
from simpatient.speech.visemes import Viseme

logger = logging.getLogger(__name__)

#: how long a change of expression takes to settle
EXPRESSION_CHANGE_S = 0.4
#: events older than this behind the latest frame are forgotten
KEEP_S = 10.0


class AvatarStream:
    """One patient's face over one stream (a call, or one preview clip)."""

    def __init__(self, renderer: AvatarRenderer, start: float | None = None) -> None:
        self.renderer = renderer
        self.fps = renderer.options.fps
        self.start = now() if start is None else start
        self.dropped = 0
        self._speech: list[Speech] = []
        self._modes: list[tuple[float, Mode]] = [(-1e9, Mode.idle)]
        self._moods: list[tuple[float, Expression]] = [(-1e9, Expression())]

    def at(self, clock_time: float) -> float:
        """Stream time (seconds from the start) of a pipeline-clock reading."""
        return clock_time - self.start

    def speak(
        self, audio: AudioChunk, visemes: Sequence[Viseme], at: float | None = None
    ) -> Speech:
        """Place an utterance: its first sample plays at stream time ``at`` (default: the
        chunk's ``start`` read as the playout time on the pipeline clock; a TTS stamps when
        the audio was ready, so the transport passes when it will be heard)."""
        speech = Speech(audio, tuple(visemes), self.at(audio.start) if at is None else at)
        end = max((v.end for v in visemes), default=0.0)
        if abs(end - audio.duration) > 0.05:  # Speech.timeline() cuts or pads it
            logger.info("visemes end at %.2f s, the audio at %.2f s: fitted", end, audio.duration)
        bisect.insort(self._speech, speech, key=lambda s: s.at)
        return speech

    def set_mode(self, mode: Mode, at: float | None = None) -> None:
        """Idle or listening from stream time ``at`` (default: now); speaking is implied by
        an utterance that is playing."""
        bisect.insort(self._modes, (self.at(now()) if at is None else at, mode), key=lambda e: e[0])

    def express(self, expression: Expression, at: float | None = None) -> None:
        """Change the expression from stream time ``at`` (default: now), eased in."""
        when = self.at(now()) if at is None else at
        bisect.insort(self._moods, (when, expression), key=lambda e: e[0])

    def face_at(self, t: float) -> FaceInput:
        """What the renderer draws at stream time ``t``."""
        speech = next((s for s in reversed(self._speech) if s.at - 0.2 <= t <= s.end + 0.2), None)
        i = bisect.bisect_right(self._moods, t, key=lambda e: e[0]) - 1
        since, current = self._moods[i]
        previous = self._moods[i - 1][1] if i > 0 else current
        blend = min(1.0, (t - since) / EXPRESSION_CHANGE_S)
        mode, left, began = self._mode_at(t)
        return FaceInput(t, mode, current, speech, previous, blend, left, t - began)

    def _mode_at(self, t: float) -> tuple[Mode, Mode, float]:
        """The mode at ``t``, the one before it and when it began: an utterance playing
        means speaking; otherwise the last mode set."""
        j = bisect.bisect_right(self._modes, t, key=lambda e: e[0]) - 1
        began, mode = self._modes[j]
        left = self._modes[j - 1][1] if j > 0 else mode
        for s in reversed(self._speech):
            if s.at <= t <= s.end:
                return Mode.speaking, mode if began <= s.at else left, s.at
            if began < s.end < t:  # the latest change was the end of this utterance
                return mode, Mode.speaking, s.end
        return mode, left, began

    def frame(self, index: int) -> VideoFrame:
        """Frame ``index`` (due at ``index / fps``), rendered now."""
        t = index / self.fps
        return VideoFrame(self.renderer.render(self.face_at(t)), t, index, self.start)

    def forget(self, t: float) -> None:
        """Drop speech and changes that ended long before stream time ``t``."""
        old = t - KEEP_S
        self._speech = [s for s in self._speech if s.end > old]
        for events in (self._modes, self._moods):
            while len(events) > 2 and events[1][0] < old:
                del events[0]

    async def frames(
        self,
        clock: Callable[[], float] = now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        first: int | None = None,
    ) -> AsyncIterator[VideoFrame]:
        """Frames paced in real time from frame ``first`` (default: the one due now), each
        rendered in a worker thread. When rendering falls behind, the frames already past
        due are skipped (counted in ``dropped``)."""
        index = max(0, int((clock() - self.start) * self.fps)) if first is None else first
        while True:
            wait = self.start + index / self.fps - clock()
            if wait > 0:
                await sleep(wait)
            due = int((clock() - self.start) * self.fps)
            if due > index:
                logger.debug("avatar behind by %d frame(s); skipping them", due - index)
                self.dropped += due - index
                index = due
            self.forget(index / self.fps)  # here, on the loop: speak() edits the same lists
            yield await asyncio.to_thread(self.frame, index)
            index += 1
