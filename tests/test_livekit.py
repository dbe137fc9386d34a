"""The LiveKit worker's pieces that run without a LiveKit server: room tokens, the audio
adapters between LiveKit frames and pipeline chunks, and the patient's voice on a real
LiveKit audio source (the native client library, no room). A real room needs
`livekit-server` (not installable here): see the README for running `simpatient worker`
against `livekit-server --dev`."""

import asyncio

import jwt
import numpy as np
import pytest

from simpatient.errors import SimPatientError
from simpatient.settings import Settings
from simpatient.speech.audio import WEBRTC_RATE, AudioChunk, now
from simpatient.speech.tts import create_backend

livekit_worker = pytest.importorskip(
    "simpatient.transport.livekit_worker", reason="livekit-agents is not installed"
)


def test_a_learner_token_joins_one_room_only() -> None:
    settings = Settings(call={"livekit_api_key": "devkey", "livekit_api_secret": "s" * 32})
    token = livekit_worker.learner_token(settings, "maggie-7", "ana", "Ana Silva")
    claims = jwt.decode(token, "s" * 32, algorithms=["HS256"])
    assert claims["sub"] == "ana"
    assert claims["video"]["room"] == "maggie-7"
    assert claims["video"]["roomJoin"] is True
    with pytest.raises(SimPatientError, match="LIVEKIT_API_KEY"):
        livekit_worker.learner_token(Settings(), "maggie-7", "ana", "Ana Silva")


def test_audio_goes_through_livekit_frames_unchanged() -> None:
    t = np.arange(int(0.5 * 22_050)) / 22_050
    tone = AudioChunk((0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 22_050, 0.0)
    frames = livekit_worker.audio_frames(tone)
    assert all(f.sample_rate == WEBRTC_RATE and f.samples_per_channel == 960 for f in frames)
    back = [livekit_worker.audio_chunk(f, now()) for f in frames]
    samples = np.concatenate([c.samples for c in back])
    expected = tone.resampled(WEBRTC_RATE).samples
    assert len(samples) - len(expected) < 960
    correlation = np.corrcoef(samples[: len(expected)], expected)[0, 1]
    assert correlation > 0.99


def test_the_patient_speaks_on_a_livekit_source_and_stops_at_once() -> None:
    from livekit import rtc

    settings = Settings()
    voice = create_backend("flite:slt", settings.tts, settings.models_dir)
    voice.load()
    utterance = voice.synthesize("I was so afraid you would say that. What happens now?")
    started = []

    async def scenario() -> tuple[bool, float, int]:
        source = rtc.AudioSource(WEBRTC_RATE, 1, queue_size_ms=200)
        speaker = livekit_worker.LiveKitSpeaker(source, started.append)
        speaker.begin_reply()
        speaker.play(utterance)
        await asyncio.sleep(0.5)
        playing = speaker.speaking
        speaker.stop()
        await asyncio.sleep(0.1)
        left = source.queued_duration  # seconds the source still had to play
        heard = len(speaker.heard_text().split())
        await speaker.aclose()
        return playing, left, heard

    playing, left, heard = asyncio.run(scenario())
    assert playing
    assert started  # the avatar was told when the utterance starts
    assert left == 0  # nothing left to play after the barge-in
    assert 0 < heard < len(utterance.text.split())  # half a second of it was heard
