"""`simpatient worker`: the same spoken pipeline as a LiveKit Agents worker, for scale.

LiveKit's SFU carries the media and its job dispatch hands each room to a worker process
(on any machine): the worker joins the room, waits for the learner, and runs the voice
session (Silero, Whisper, the patient model, the persona's voice, the avatar) with the
learner's microphone track in and the patient's audio and video tracks out; events go
out on the data channel. Each job process loads the models once (``prewarm``).

The scenario comes from the job's metadata (``{"scenario": "...", "learner_id": N}``),
else ``SIMPATIENT_CALL__LIVEKIT_SCENARIO``. Run against ``livekit-server --dev`` with
``LIVEKIT_URL``, ``LIVEKIT_API_KEY`` and ``LIVEKIT_API_SECRET`` set."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
from livekit import api, rtc
from livekit.agents import AutoSubscribe, JobContext, JobProcess, WorkerOptions, cli

from simpatient.avatar import AvatarStream, open_renderer
from simpatient.content import load_library
from simpatient.errors import SimPatientError
from simpatient.pipeline.session_factory import Runtime, load_runtime, open_voice_session
from simpatient.pipeline.speaker import Scheduled, SpeechOutput
from simpatient.pipeline.voice_session import SessionEvent
from simpatient.settings import Settings
from simpatient.speech.audio import WEBRTC_RATE, AudioChunk, now, to_mono

logger = logging.getLogger(__name__)

FRAME_MS = 20


def audio_chunk(frame: rtc.AudioFrame, received: float) -> AudioChunk:
    """A LiveKit frame (interleaved int16) as a mono chunk stamped on the pipeline clock."""
    samples = np.frombuffer(frame.data, dtype=np.int16)
    mono = to_mono(samples, frame.num_channels)
    return AudioChunk(mono, frame.sample_rate, received - len(mono) / frame.sample_rate)


def audio_frames(chunk: AudioChunk) -> list[rtc.AudioFrame]:
    """A chunk as 20 ms mono int16 frames at 48 kHz (the last one padded with silence)."""
    audio = chunk.resampled(WEBRTC_RATE)
    step = WEBRTC_RATE * FRAME_MS // 1000
    pcm = (np.clip(audio.samples, -1.0, 1.0) * 32767).astype(np.int16)
    pcm = np.concatenate([pcm, np.zeros((-len(pcm)) % step, np.int16)])
    frames = []
    for i in range(0, len(pcm), step):
        frame = rtc.AudioFrame.create(WEBRTC_RATE, 1, step)
        np.frombuffer(frame.data, dtype=np.int16)[:] = pcm[i : i + step]
        frames.append(frame)
    return frames


class LiveKitSpeaker(SpeechOutput):
    """The patient's voice on a LiveKit audio source: utterances are fed to it in order;
    its own buffer paces them in real time. A barge-in clears both queues."""

    def __init__(
        self, source: rtc.AudioSource, on_start: Callable[[Scheduled], None] = lambda s: None
    ) -> None:
        super().__init__()
        self.source = source
        self.on_start = on_start  # the avatar moves its lips from the scheduled start
        self._queue: asyncio.Queue[rtc.AudioFrame] = asyncio.Queue()
        self._feeder = asyncio.get_running_loop().create_task(self._feed())

    def _emit(self, scheduled: Scheduled) -> None:
        for frame in audio_frames(scheduled.utterance.audio):
            self._queue.put_nowait(frame)
        self.on_start(scheduled)

    def _silence(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
        self.source.clear_queue()

    async def _feed(self) -> None:
        while True:
            await self.source.capture_frame(await self._queue.get())

    async def aclose(self) -> None:
        self._feeder.cancel()
        await asyncio.gather(self._feeder, return_exceptions=True)


async def microphone(track: rtc.Track) -> AsyncIterator[AudioChunk]:
    """The learner's audio track as chunks on the pipeline clock."""
    stream = rtc.AudioStream(track, sample_rate=WEBRTC_RATE, num_channels=1)
    try:
        async for event in stream:
            yield audio_chunk(event.frame, now())
    finally:
        await stream.aclose()


def learner_token(settings: Settings, room: str, identity: str, name: str) -> str:
    """An access token for a learner's browser to join ``room`` (publish the microphone,
    subscribe to the patient); valid for the case's length plus a margin."""
    grants = api.VideoGrants(room_join=True, room=room, can_publish=True, can_subscribe=True)
    call = settings.call
    if call.livekit_api_key is None or call.livekit_api_secret is None:
        raise SimPatientError("set SIMPATIENT_CALL__LIVEKIT_API_KEY and __LIVEKIT_API_SECRET")
    token = api.AccessToken(call.livekit_api_key, call.livekit_api_secret.get_secret_value())
    return token.with_identity(identity).with_name(name).with_grants(grants).to_jwt()


def prewarm(proc: JobProcess) -> None:
    """Load the models once per job process, before a room is assigned to it."""
    settings = Settings.load()
    proc.userdata["runtime"] = load_runtime(settings, speech=True)
    proc.userdata["library"] = load_library(settings.library)


async def entrypoint(ctx: JobContext) -> None:
    runtime: Runtime = ctx.proc.userdata["runtime"]
    settings = runtime.settings
    meta: dict[str, Any] = json.loads(ctx.job.metadata or "{}")
    case = ctx.proc.userdata["library"].case(meta.get("scenario", settings.call.livekit_scenario))
    await ctx.connect(auto_subscribe=AutoSubscribe.AUDIO_ONLY)
    learner = await ctx.wait_for_participant()
    track = await _first_audio_track(ctx.room, learner)
    room = ctx.room.local_participant
    source = rtc.AudioSource(WEBRTC_RATE, 1)
    await room.publish_track(rtc.LocalAudioTrack.create_audio_track("patient-voice", source))
    options = settings.avatar
    video = rtc.VideoSource(options.width, options.height)
    await room.publish_track(rtc.LocalVideoTrack.create_video_track("patient-face", video))
    avatar = AvatarStream(await asyncio.to_thread(open_renderer, case.persona, options))

    def lips(s: Scheduled) -> None:
        avatar.speak(s.utterance.audio, s.utterance.visemes, at=avatar.at(s.start))

    speaker = LiveKitSpeaker(source, lips)

    sending: set[asyncio.Future[None]] = set()

    def send(event: SessionEvent) -> None:
        payload = json.dumps({"type": event.kind, **event.data})
        task = asyncio.ensure_future(room.publish_data(payload, topic="events"))
        sending.add(task)  # kept until sent: the loop holds tasks only weakly
        task.add_done_callback(sending.discard)

    session = await asyncio.to_thread(
        open_voice_session, runtime, case, speaker, send, None, meta.get("learner_id")
    )
    await asyncio.to_thread(session.rehearsal.start)
    frames = asyncio.create_task(_draw(avatar, video, options.width, options.height))
    try:
        session.greet()
        await session.run(microphone(track))
    finally:
        frames.cancel()
        await speaker.aclose()
        await asyncio.to_thread(session.rehearsal.end, "the learner left the room")


async def _first_audio_track(room: rtc.Room, participant: rtc.RemoteParticipant) -> rtc.Track:
    for publication in participant.track_publications.values():
        if publication.kind == rtc.TrackKind.KIND_AUDIO and publication.track is not None:
            return publication.track
    subscribed: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    def on_track(track: rtc.Track, _pub: Any, who: rtc.RemoteParticipant) -> None:
        mine = who.identity == participant.identity and track.kind == rtc.TrackKind.KIND_AUDIO
        if mine and not subscribed.done():
            subscribed.set_result(track)

    room.on("track_subscribed", on_track)
    return await subscribed


async def _draw(avatar: AvatarStream, video: rtc.VideoSource, width: int, height: int) -> None:
    async for frame in avatar.frames():
        rgba = np.dstack([frame.image, np.full(frame.image.shape[:2], 255, np.uint8)])
        image = rtc.VideoFrame(width, height, rtc.VideoBufferType.RGBA, rgba.tobytes())
        video.capture_frame(image, timestamp_us=int(frame.time * 1e6))


def run_worker(argv: list[str]) -> None:
    """LiveKit's own command line (``dev``, ``start``, ``connect``...) around our entrypoint."""
    import sys

    sys.argv = ["simpatient worker", *argv]
    cli.run_app(WorkerOptions(entrypoint_fnc=entrypoint, prewarm_fnc=prewarm))
