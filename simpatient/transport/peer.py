"""One learner's WebRTC connection: the offer/answer, the learner's microphone in, the
patient's audio and video out, and a data channel for JSON events.

Signalling is non-trickle: the browser waits until its ICE candidates are gathered and
sends one offer; :meth:`CallPeer.accept` answers with all of the server's candidates."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aioice.ice
import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaBlackhole
from aiortc.mediastreams import MediaStreamError
from aiortc.sdp import SessionDescription

from simpatient.errors import SimPatientError
from simpatient.settings import CallSettings
from simpatient.speech.audio import WEBRTC_RATE, AudioChunk, ToRate, now, to_mono
from simpatient.transport.tracks import FrameSource, PatientAudioTrack, PatientVideoTrack

logger = logging.getLogger(__name__)

#: A browser's offer is 4-12 kB; anything far larger is not one.
MAX_SDP_CHARS = 100_000
#: Events queued while the data channel is still opening; older ones are dropped first.
MAX_OUTBOX = 200
#: Browser messages waiting to be read; more are dropped (a misbehaving page).
MAX_INBOX = 100
ENDED_STATES = ("failed", "closed")
LOOPBACK = "127.0.0.1"


class SignallingError(SimPatientError, ValueError):
    """An offer that cannot start a call; the message says why, for the browser to show."""


_gather_host_addresses = aioice.ice.get_host_addresses


def _host_addresses_with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    addresses = _gather_host_addresses(use_ipv4, use_ipv6)
    if use_ipv4 and LOOPBACK not in addresses:
        addresses.append(LOOPBACK)
    return addresses


def offer_loopback_candidate() -> None:
    """Make every ICE gathering in this process include 127.0.0.1.

    aioice leaves loopback out of its host addresses, so a browser on the same machine with
    no other network (a container, a test namespace) could never connect; a remote browser
    just fails that one candidate pair. Idempotent."""
    aioice.ice.get_host_addresses = _host_addresses_with_loopback


def ice_servers(settings: CallSettings) -> list[RTCIceServer]:
    """STUN and TURN servers from the settings; none by default (aiortc would otherwise
    add a public STUN server, which private networks cannot reach)."""
    servers = []
    if settings.stun_urls:
        servers.append(RTCIceServer(urls=list(settings.stun_urls)))
    if settings.turn_urls:
        password = settings.turn_password.get_secret_value() if settings.turn_password else None
        servers.append(
            RTCIceServer(
                urls=list(settings.turn_urls),
                username=settings.turn_username,
                credential=password,
            )
        )
    return servers


def check_offer(sdp: object, kind: object) -> SessionDescription:
    """The parsed offer, or a :class:`SignallingError` that says what is wrong with it."""
    if kind != "offer":
        raise SignallingError(f"expected an SDP offer, got type {kind!r}")
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise SignallingError("the offer is not SDP (it must start with 'v=0')")
    if len(sdp) > MAX_SDP_CHARS:
        raise SignallingError(f"the offer is over {MAX_SDP_CHARS} characters")
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as e:  # untrusted text: any parser failure is the sender's mistake
        raise SignallingError(f"malformed SDP offer: {e!r}") from None
    if not any(m.kind == "audio" and m.direction in ("sendrecv", "sendonly") for m in parsed.media):
        raise SignallingError(
            "the offer sends no microphone audio: allow the microphone and try again"
        )
    return parsed


async def _first_of(*events: asyncio.Event) -> None:
    """Wait until any of ``events`` is set."""
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


class CallPeer:
    """The server's end of one WebRTC connection with a learner's browser.

    The patient's tracks are :attr:`audio` (push speech into it) and :attr:`video` (set its
    ``source`` to draw frames); the learner's voice comes from :meth:`microphone`; events go
    to the browser with :meth:`send`. A rejoin is a new ``CallPeer``. ``fps`` is the video
    rate; ``clock`` is the pipeline clock every timestamp is taken on."""

    def __init__(
        self,
        settings: CallSettings,
        video_source: FrameSource | None = None,
        fps: int = 25,
        clock: Callable[[], float] = now,
    ) -> None:
        if settings.loopback_candidate:
            offer_loopback_candidate()
        self.audio = PatientAudioTrack(clock)
        self.video = PatientVideoTrack(video_source, fps, clock)
        self._clock = clock
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers(settings)))
        self._microphone: MediaStreamTrack | None = None
        self._camera = MediaBlackhole()  # never stored: the learner's video is discarded
        self._channel: RTCDataChannel | None = None
        self._outbox: list[str] = []
        self._incoming: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._listeners: list[Callable[[str], None]] = []
        self._connected = asyncio.Event()
        self._ended = asyncio.Event()
        self._closing: asyncio.Future[None] | None = None
        self.created_at = clock()
        self.connected_at: float | None = None
        self._pc.on("track", self._on_track)
        self._pc.on("datachannel", self._on_datachannel)
        self._pc.on("connectionstatechange", self._on_state)

    @property
    def state(self) -> str:
        """aiortc's connection state: new, connecting, connected, failed or closed."""
        return str(self._pc.connectionState)

    @property
    def setup_s(self) -> float | None:
        """Seconds from the offer to the connection, once connected."""
        return None if self.connected_at is None else self.connected_at - self.created_at

    def on_state(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(state)`` on every change of :attr:`state`."""
        self._listeners.append(listener)

    async def accept(self, sdp: object, kind: object) -> RTCSessionDescription:
        """Answer the browser's offer (all candidates included). Raises
        :class:`SignallingError` for an offer that cannot start a call."""
        check_offer(sdp, kind)
        try:
            await self._pc.setRemoteDescription(RTCSessionDescription(str(sdp), "offer"))
        except Exception as e:  # aiortc raises assorted errors for SDP it cannot use
            raise SignallingError(f"cannot use this offer: {e}") from None
        if self._microphone is None:
            raise SignallingError("the offer has no audio track")
        # each goes on the offer's first transceiver of its kind; without a video one
        # (a browser with no video support) the call is voice only
        self._pc.addTrack(self.audio)
        if any(t.kind == "video" for t in self._pc.getTransceivers()):
            self._pc.addTrack(self.video)
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        await self._camera.start()
        answer = self._pc.localDescription
        logger.debug("answered an offer: %d lines", answer.sdp.count("\n"))
        return answer

    async def wait_connected(self, timeout: float) -> float:
        """Seconds the connection took to set up. TimeoutError past ``timeout``;
        ConnectionError when it failed or closed first."""
        async with asyncio.timeout(timeout):
            await _first_of(self._connected, self._ended)
        if self.connected_at is None:
            raise ConnectionError(f"the connection {self.state} before it was set up")
        return self.connected_at - self.created_at

    async def wait_ended(self) -> str:
        """Return the final state (failed or closed) once the connection is gone."""
        await self._ended.wait()
        return self.state

    async def microphone(self, sample_rate: int = WEBRTC_RATE) -> AsyncIterator[AudioChunk]:
        """The learner's voice, mono at ``sample_rate``, each chunk stamped with the clock
        time its first sample was captured (receipt minus duration). Ends with the call.
        One reader at a time: aiortc hands each frame to one ``recv()``."""
        track = self._microphone
        if track is None:
            return
        to_rate = ToRate(sample_rate)
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, av.AudioFrame):
                continue
            received = self._clock()
            samples = to_mono(frame.to_ndarray(), len(frame.layout.channels))
            rate = frame.sample_rate
            out = to_rate.push(AudioChunk(samples, rate, received - samples.size / rate))
            if out.samples.size:
                yield out

    def send(self, kind: str, **fields: Any) -> None:
        """Send ``{"type": kind, **fields}`` to the browser as JSON (queued until the data
        channel opens; dropped once the call is over)."""
        message = json.dumps({"type": kind, **fields})
        channel = self._channel
        if channel is not None and channel.readyState == "open":
            channel.send(message)
        elif not self._ended.is_set():
            self._outbox.append(message)
            del self._outbox[:-MAX_OUTBOX]

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        """JSON objects the browser sends on the data channel, until the call ends."""
        while not (self._ended.is_set() and self._incoming.empty()):
            message = await self._incoming.get()
            if message is None:  # the end of the call
                return
            yield message

    async def close(self) -> None:
        """Hang up (idempotent; safe to call from several tasks at once)."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        # Shielded: aiortc's close() awaits a future that a cancelled caller would cancel,
        # which breaks the close already under way (aiortc starts one itself when the
        # browser hangs up).
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        await self._camera.stop()
        self.audio.stop()
        self.video.stop()
        await self._pc.close()
        if not self._ended.is_set():  # closed before it ever connected: no state change
            self._ended.set()
            self._incoming.put_nowait(None)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio" and self._microphone is None:
            self._microphone = track
        else:
            self._camera.addTrack(track)

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        self._channel = channel

        @channel.on("open")
        def _flush() -> None:
            for message in self._outbox:
                channel.send(message)
            self._outbox.clear()

        @channel.on("message")
        def _received(message: object) -> None:
            try:
                data = json.loads(message) if isinstance(message, str) else None
            except ValueError:
                data = None
            if not isinstance(data, dict):
                logger.debug("ignored a data-channel message that is not a JSON object")
            elif self._incoming.qsize() >= MAX_INBOX:
                logger.warning("the browser sends events faster than they are read")
            else:
                self._incoming.put_nowait(data)

        if channel.readyState == "open":
            _flush()

    def _on_state(self) -> None:
        state = self.state
        logger.info("call connection %s", state)
        if state == "connected" and self.connected_at is None:
            self.connected_at = self._clock()
            self._connected.set()
        if state in ENDED_STATES and not self._ended.is_set():
            self._ended.set()
            self._incoming.put_nowait(None)
        for listener in list(self._listeners):
            listener(state)
