"""The patient on a video call: the voice session speaking through the call's audio track
and the avatar drawing the face on its video track, both on the pipeline clock.

The transport calls :meth:`VoiceCallPipeline.run` for each connection of the session
(again after a rejoin, with the conversation and the patient's state intact) and
:meth:`close` once when the session ends."""

import asyncio
import logging

from simpatient.avatar import AvatarStream, Expression, Mode, open_renderer
from simpatient.avatar.frames import Image
from simpatient.content.scenario import Emotion
from simpatient.pipeline.session_factory import Runtime, voice_session
from simpatient.pipeline.speaker import Scheduled
from simpatient.pipeline.text_rehearsal import TextRehearsal
from simpatient.pipeline.voice_session import SessionEvent, VoiceSession
from simpatient.transport import CallPeer
from simpatient.transport.speaker import TrackSpeaker

logger = logging.getLogger(__name__)


class VoiceCallPipeline:
    def __init__(self, runtime: Runtime, rehearsal: TextRehearsal) -> None:
        self.runtime, self.rehearsal = runtime, rehearsal
        self.session: VoiceSession | None = None
        self.avatar: AvatarStream | None = None
        self.speaker: TrackSpeaker | None = None
        self._peer: CallPeer | None = None

    async def run(self, peer: CallPeer) -> None:
        self._peer = peer
        if self.session is None or self.speaker is None or self.avatar is None:
            await asyncio.to_thread(self._load, peer)
            assert self.session is not None
            await peer.wait_connected(self.runtime.settings.call.connect_timeout_s)
            self.session.greet()
        else:
            self.speaker.track = peer.audio  # a rejoin: same conversation, new tracks
        assert self.session is not None
        assert self.avatar is not None
        peer.video.source = self._frame_for
        peer.send("listening")
        await self.session.run(peer.microphone())

    async def close(self) -> None:
        """Nothing to release: the models are shared, the turns are saved as they happen."""
        self._peer = None

    def _load(self, peer: CallPeer) -> None:
        """The face (about a second to paint a persona) and the voice, off the event loop."""
        persona = self.rehearsal.conversation.case.persona
        self.avatar = AvatarStream(open_renderer(persona, self.runtime.settings.avatar))
        self.speaker = TrackSpeaker(peer.audio, on_start=self._lips)
        self.session = voice_session(self.runtime, self.rehearsal, self.speaker, self._event)

    def _lips(self, scheduled: Scheduled) -> None:
        """The utterance is being heard from ``scheduled.start``: move the lips with it."""
        if self.avatar is not None:
            u = scheduled.utterance
            self.avatar.speak(u.audio, u.visemes, at=self.avatar.at(scheduled.start))

    def _event(self, event: SessionEvent) -> None:
        if self._peer is not None:
            self._peer.send(event.kind, **event.data)
        if self.avatar is None:
            return
        if event.kind == "listening":
            self.avatar.set_mode(Mode.listening)
        elif event.kind in ("thinking", "interrupted"):
            self.avatar.set_mode(Mode.idle)
        elif event.kind == "state":
            emotion = Emotion(event.data["emotion"])
            self.avatar.express(Expression(emotion, float(event.data["intensity"])))

    async def _frame_for(self, t: float) -> Image:
        """The face at clock time ``t``: what to draw is read here, on the loop (where the
        timelines change); the drawing (about 6 ms) runs in a worker thread."""
        assert self.avatar is not None
        now = self.avatar.at(t)
        self.avatar.forget(now)
        face = self.avatar.face_at(now)
        return await asyncio.to_thread(self.avatar.renderer.render, face)
