"""The voice session's :class:`~simpatient.pipeline.speaker.SpeechOutput` on a call: each
utterance goes to the peer's audio track, and the schedule is corrected to the clock times
the track actually sent each utterance's first sample."""

import asyncio
import logging
from collections.abc import Callable

from simpatient.pipeline.speaker import Scheduled, SpeechOutput
from simpatient.transport.tracks import PatientAudioTrack

logger = logging.getLogger(__name__)


class TrackSpeaker(SpeechOutput):
    """Plays the patient's utterances on ``track``. After a rejoin, point :attr:`track` at
    the new peer's audio track."""

    #: Sent to heard: Opus packetisation, the network and the browser's jitter buffer;
    #: 58-104 ms measured on loopback (../shared/reference/webrtc.md).
    output_delay_s = 0.08

    def __init__(
        self,
        track: PatientAudioTrack,
        on_start: Callable[[Scheduled], None] = lambda s: None,
    ) -> None:
        super().__init__()
        self.track = track
        self.on_start = on_start  # with the real start: the avatar moves the lips then

    def _emit(self, scheduled: Scheduled) -> None:
        playback = self.track.push(scheduled.utterance.audio)
        playback.started.add_done_callback(lambda sent: self._sent(scheduled, sent))

    def _sent(self, scheduled: Scheduled, sent: "asyncio.Future[float | None]") -> None:
        """Replace the estimated start by the real one (the track may have been busy, and
        sends in 20 ms frames)."""
        at = None if sent.cancelled() else sent.result()
        if at is None:
            return
        for i, entry in enumerate(self.schedule):
            if entry is scheduled:
                self.schedule[i] = Scheduled(entry.utterance, at + self.output_delay_s)
                self.on_start(self.schedule[i])

    def _silence(self) -> None:
        dropped = self.track.clear()
        logger.debug("barge-in: %.2f s of the reply dropped", dropped)
