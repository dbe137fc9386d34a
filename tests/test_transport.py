"""The call's WebRTC transport between two real aiortc peers in one process (aiortc's own
testing style): real ICE over this machine's addresses, DTLS, SRTP, Opus and VP8; nothing
of the network is mocked."""

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError
from speech_data import clip
from webrtc_client import Client, audio_levels, eventually, loud_span, new_client, tone

from simpatient.settings import CallSettings
from simpatient.speech.audio import ASR_RATE, AudioChunk, now
from simpatient.speech.tts import Utterance
from simpatient.transport import CallPeer, PatientAudioTrack, SignallingError
from simpatient.transport.pipeline import rms_db
from simpatient.transport.speaker import TrackSpeaker


async def connect(
    server: CallPeer, edit: Callable[[str], str] = lambda sdp: sdp
) -> tuple[Client, float]:
    """Offer, answer and wait for the connection; the client and the set-up seconds."""
    client = new_client()
    offer = await client.offer()
    answer = await server.accept(edit(offer.sdp), offer.type)
    await client.answered(edit(answer.sdp))
    return client, await server.wait_connected(timeout=15)


def run(test: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(asyncio.wait_for(test(), timeout=60))


async def call(body: Callable[[CallPeer, Client, float], Awaitable[None]], **settings: Any) -> None:
    server = CallPeer(CallSettings(**settings))
    client, setup_s = await connect(server)
    try:
        await body(server, client, setup_s)
    finally:
        await client.pc.close()
        await server.close()


def test_pushed_audio_arrives_paced_in_real_time() -> None:
    async def body(server: CallPeer, client: Client, setup_s: float) -> None:
        assert setup_s < 5
        listening = asyncio.ensure_future(audio_levels(client.tracks["audio"], 2.5))
        await asyncio.sleep(0.3)
        playback = server.audio.push(tone(1.0))  # 16 kHz in: resampled to 48 kHz
        started = await playback.started
        finished = await playback.finished
        first, last = loud_span(await listening)
        assert started is not None
        assert finished - started == pytest.approx(1.0, abs=0.05), "paced to the clock"
        assert 0 <= first - started < 0.3, "the first sample reached the other peer promptly"
        assert last - first == pytest.approx(1.0, abs=0.15), "one second of sound, no more"
        assert playback.sent_s == pytest.approx(1.0)
        assert not playback.cut
        assert server.audio.sent_s == pytest.approx(1.0, abs=0.01)

    run(lambda: call(body))


def test_clear_drops_unplayed_audio_at_once() -> None:
    async def body(server: CallPeer, client: Client, _setup_s: float) -> None:
        listening = asyncio.ensure_future(audio_levels(client.tracks["audio"], 2.0))
        await asyncio.sleep(0.3)
        playback = server.audio.push(tone(3.0))
        await playback.started
        await asyncio.sleep(0.5)
        cleared_at = now()
        dropped = server.audio.clear()
        assert dropped == pytest.approx(2.5, abs=0.1)
        assert playback.cut
        assert playback.sent_s == pytest.approx(0.5, abs=0.1)
        assert await playback.finished == pytest.approx(cleared_at, abs=0.01)
        _first, last = loud_span(await listening)
        assert last - cleared_at < 0.25, "the sound stopped within a few frames"
        later = server.audio.push(tone(0.2))
        assert await later.started is not None, "the track plays again after a clear"

    run(lambda: call(body))


def test_video_frames_arrive_with_monotonic_pts() -> None:
    drawn: list[float] = []

    def frame_for(t: float) -> np.ndarray:
        drawn.append(t)
        return np.full((240, 320, 3), (200, 40, 40), np.uint8)

    async def body(server: CallPeer, client: Client, _setup_s: float) -> None:
        server.video.source = frame_for
        track = client.tracks["video"]
        frames = []
        until = now() + 2.0
        while now() < until:
            frames.append(await track.recv())
        assert len(frames) >= 30, f"{len(frames)} frames in 2 s at 25 fps"
        pts = [f.pts for f in frames]
        assert all(b > a for a, b in itertools.pairwise(pts)), "pts only increase"
        steps = np.diff(drawn[-25:])
        assert np.median(steps) == pytest.approx(1 / 25, abs=0.002), "drawn on the 25 fps grid"
        image = frames[-1].to_ndarray(format="rgb24")
        assert image.shape == (240, 320, 3)
        assert abs(int(image[..., 0].mean()) - 200) < 20, "the drawn picture arrived"
        assert server.video.stats.sent >= len(frames)

    run(lambda: call(body))


def energy_db(samples: np.ndarray) -> float:
    """Total energy in dB: unlike a level, independent of the silence around a clip."""
    return rms_db(samples) + 10 * np.log10(samples.size)


def correlation(received: np.ndarray, sent: np.ndarray) -> float:
    """Peak normalised cross-correlation of ``sent`` within the longer ``received``."""
    n = received.size + sent.size
    cross = np.fft.irfft(np.fft.rfft(received, n) * np.conj(np.fft.rfft(sent, n)), n)
    lag = int(np.argmax(cross[: received.size - sent.size + 1]))
    aligned = received[lag : lag + sent.size]
    return float(np.corrcoef(aligned, sent)[0, 1])


def test_microphone_yields_the_learners_voice_at_the_asked_rate() -> None:
    speech = clip("goforward")  # 2.8 s at 16 kHz; the client sends it as Opus at 48 kHz

    async def body(server: CallPeer, client: Client, _setup_s: float) -> None:
        chunks: list[AudioChunk] = []

        async def listen() -> None:
            async for chunk in server.microphone(sample_rate=ASR_RATE):
                chunks.append(chunk)
                if pushed.finished.done() and now() > pushed.finished.result() + 0.5:
                    return

        pushed = client.mic.push(speech)
        await asyncio.wait_for(listen(), timeout=10)
        assert {c.sample_rate for c in chunks} == {ASR_RATE}
        starts = [c.start for c in chunks]
        assert all(b > a for a, b in itertools.pairwise(starts))
        assert chunks[-1].end == pytest.approx(now(), abs=0.1), "stamped at receipt"
        received = np.concatenate([c.samples for c in chunks])
        assert energy_db(received) == pytest.approx(energy_db(speech.samples), abs=1.5)
        assert correlation(received, speech.samples) > 0.8, "the same waveform"

    run(lambda: call(body))


def test_events_travel_both_ways() -> None:
    async def body(server: CallPeer, client: Client, _setup_s: float) -> None:
        await eventually(lambda: client.channel.readyState == "open", what="channel open")
        client.channel.send(json.dumps({"type": "hello", "n": 1}))
        client.channel.send("not json")
        received = await asyncio.wait_for(anext(aiter(server.messages())), timeout=5)
        assert received == {"type": "hello", "n": 1}
        server.send("caption_patient", text="Hello, doctor.")
        await client.wait_for_event("caption_patient")
        assert client.events == [{"type": "caption_patient", "text": "Hello, doctor."}]

    run(lambda: call(body))


def test_events_sent_before_the_channel_opens_are_delivered() -> None:
    async def scenario() -> None:
        server = CallPeer(CallSettings())
        server.send("listening")  # before any offer
        client, _ = await connect(server)
        try:
            await client.wait_for_event("listening")
            assert client.events == [{"type": "listening"}]
        finally:
            await client.pc.close()
            await server.close()

    run(scenario)


def test_connects_over_loopback_alone() -> None:
    """With every candidate but 127.0.0.1 removed, as on a machine with no network."""

    def loopback_only(sdp: str) -> str:
        lines = sdp.splitlines()
        kept = [x for x in lines if not x.startswith("a=candidate") or " 127.0.0.1 " in x]
        assert any(x.startswith("a=candidate") for x in kept), "a 127.0.0.1 candidate offered"
        return "\r\n".join(kept) + "\r\n"

    async def scenario() -> None:
        server = CallPeer(CallSettings(loopback_candidate=True))
        client, setup_s = await connect(server, loopback_only)
        try:
            assert setup_s < 5  # only a 127.0.0.1 pair was left to connect over
            listening = asyncio.ensure_future(audio_levels(client.tracks["audio"], 1.0))
            server.audio.push(tone(0.3))
            loud_span(await listening)
        finally:
            await client.pc.close()
            await server.close()

    run(scenario)


def test_the_end_of_a_connection_is_an_event() -> None:
    async def scenario() -> None:
        server = CallPeer(CallSettings())
        seen: list[str] = []
        server.on_state(seen.append)
        client, _ = await connect(server)
        await client.pc.close()  # the browser hangs up: DTLS close_notify reaches the server
        assert await asyncio.wait_for(server.wait_ended(), timeout=10) == "closed"
        assert "connected" in seen
        assert seen[-1] == "closed"
        microphone = [c async for c in server.microphone()]
        assert len(microphone) < 5, "the microphone stream ends with the call"
        await server.close()  # idempotent

    run(scenario)


@pytest.mark.parametrize("after_s", [0.0, 0.001, 0.005])
def test_a_cancelled_hang_up_does_not_break_the_close(after_s: float) -> None:
    """The learner hangs up while the server is closing the call, and the task closing it
    is cancelled midway: the close still completes (it once failed with aiortc's
    InvalidStateError and left the end-of-call request hanging)."""

    async def scenario() -> None:
        server = CallPeer(CallSettings())
        client, _ = await connect(server)
        await client.pc.close()  # aiortc begins closing the server's side by itself
        closer = asyncio.ensure_future(server.close())
        await asyncio.sleep(after_s)
        closer.cancel()
        await asyncio.wait_for(server.close(), timeout=5)
        assert server.state == "closed"

    run(scenario)


async def offer_of(setup: Callable[[RTCPeerConnection], None]) -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    setup(pc)
    await pc.setLocalDescription(await pc.createOffer())
    sdp: str = pc.localDescription.sdp
    await pc.close()
    return sdp


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("garbage", "not SDP"),
        ("answer type", "expected an SDP offer"),
        ("truncated", "cannot use this offer|malformed"),
        ("no audio", "sends no microphone audio"),
        ("audio receive-only", "sends no microphone audio"),
    ],
)
def test_a_bad_offer_is_a_clear_error(case: str, message: str) -> None:
    async def scenario() -> None:
        with_audio = await offer_of(lambda pc: pc.addTrack(PatientAudioTrack()))
        offers = {
            "garbage": ("hello", "offer"),
            "answer type": (with_audio, "answer"),
            "truncated": (with_audio[: len(with_audio) // 3], "offer"),
            "no audio": (await offer_of(lambda pc: pc.createDataChannel("events")), "offer"),
            "audio receive-only": (
                await offer_of(lambda pc: pc.addTransceiver("audio", direction="recvonly")),
                "offer",
            ),
        }
        sdp, kind = offers[case]
        server = CallPeer(CallSettings())
        with pytest.raises(SignallingError, match=message) as caught:
            await server.accept(sdp, kind)
        assert isinstance(caught.value, ValueError)
        await server.close()

    run(scenario)


def test_a_stopped_track_ends_its_reader() -> None:
    async def scenario() -> None:
        track = PatientAudioTrack()
        await track.recv()
        track.stop()
        with pytest.raises(MediaStreamError):
            await track.recv()

    run(scenario)


def test_track_speaker_schedules_on_what_the_track_sent() -> None:
    """The voice session's output on a call: utterances play back to back on the track,
    the first one's start is when the track sent it, a barge-in drops the rest at once."""

    def utterance(text: str, seconds: float) -> Utterance:
        return Utterance(text, tone(seconds), (), "test:tone", 0.0)

    async def scenario() -> None:
        track = PatientAudioTrack()
        sending = asyncio.ensure_future(drain(track))
        speaker = TrackSpeaker(track)
        speaker.begin_reply()
        asked = now()
        speaker.play(utterance("Hello there.", 0.4))
        speaker.play(utterance("How are you today?", 0.4))
        await asyncio.sleep(0.3)
        assert speaker.first_out_at is not None
        sent = speaker.first_out_at - speaker.output_delay_s
        assert 0 <= sent - asked < 0.03, "the next 20 ms frame carried it"
        assert speaker.speaking
        await asyncio.sleep(0.3)
        speaker.stop()
        assert track.queued_s == 0
        assert speaker.heard_text().startswith("Hello there.")
        assert "today" not in speaker.heard_text()
        sending.cancel()

    run(scenario)


async def drain(track: PatientAudioTrack) -> None:
    """Take frames as aiortc's sender does, so the track plays."""
    while True:
        await track.recv()
