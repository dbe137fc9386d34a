"""A browser stand-in for the transport tests: an aiortc peer that offers what call.js
offers (a microphone, a video transceiver, the "events" data channel) and records what it
receives."""

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import av
import numpy as np
from aiortc import RTCConfiguration, RTCDataChannel, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from simpatient.speech.audio import ASR_RATE, AudioChunk, now
from simpatient.transport import PatientAudioTrack
from simpatient.transport.pipeline import rms_db

LOUD_DB = -30.0  # a tone at 0.3 amplitude is about -13 dB; Opus silence is far below -60


@dataclass
class Client:
    pc: RTCPeerConnection
    mic: PatientAudioTrack  # the "microphone": whatever the test pushes into it is sent
    channel: RTCDataChannel
    tracks: dict[str, MediaStreamTrack] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)

    async def offer(self) -> RTCSessionDescription:
        """The offer with every candidate (non-trickle, as call.js sends it)."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription

    async def answered(self, sdp: str, kind: str = "answer") -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp, kind))

    async def wait_for_event(self, kind: str, timeout: float = 10) -> dict[str, Any]:
        deadline = now() + timeout
        while now() < deadline:
            for event in self.events:
                if event.get("type") == kind:
                    return event
            await asyncio.sleep(0.05)
        raise AssertionError(f"no {kind!r} event within {timeout} s; got {self.events}")


def new_client() -> Client:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    mic = PatientAudioTrack()
    pc.addTrack(mic)
    pc.addTransceiver("video", direction="recvonly")
    channel = pc.createDataChannel("events")
    client = Client(pc, mic, channel)
    pc.on("track", lambda track: client.tracks.__setitem__(track.kind, track))
    channel.on("message", lambda m: client.events.append(json.loads(m)))
    return client


def tone(seconds: float, rate: int = ASR_RATE, amplitude: float = 0.3) -> AudioChunk:
    t = np.arange(int(seconds * rate)) / rate
    return AudioChunk((amplitude * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate, now())


async def audio_levels(track: MediaStreamTrack, seconds: float) -> list[tuple[float, float]]:
    """(receipt time, level in dB) of each frame the track delivers for ``seconds``."""
    levels = []
    until = now() + seconds
    while now() < until:
        frame = await track.recv()
        assert isinstance(frame, av.AudioFrame)
        levels.append((now(), rms_db(frame.to_ndarray().astype(np.float32) / 32768)))
    return levels


def loud_span(levels: list[tuple[float, float]]) -> tuple[float, float]:
    """Receipt times of the first and last frame louder than :data:`LOUD_DB`."""
    loud = [t for t, db in levels if db > LOUD_DB]
    assert loud, f"no audio above {LOUD_DB} dB; loudest {max(db for _, db in levels):.1f} dB"
    return loud[0], loud[-1]


async def eventually(check: Callable[[], bool], timeout: float = 10, what: str = "") -> None:
    deadline = now() + timeout
    while not check():
        if now() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.05)
