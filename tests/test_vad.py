"""Silero VAD (the model inside faster-whisper) on real speech, silence, noise and
audio at other rates, streamed in chunks of any size."""

import numpy as np
import pytest
import soxr
import speech_data

from simpatient.speech.audio import ASR_RATE, AudioChunk
from simpatient.speech.vad import WINDOW, SileroVAD, VADFrame, silero_model_path


@pytest.fixture(scope="module")
def vad() -> SileroVAD:
    model = SileroVAD()
    model.load()
    return model


def _stream(
    vad: SileroVAD, samples: np.ndarray, rate: int = ASR_RATE, ms: int = 20
) -> list[VADFrame]:
    vad.reset()
    return [f for c in speech_data.chunks(samples, rate=rate, ms=ms) for f in vad.process(c)]


def test_the_model_is_the_one_shipped_in_faster_whisper() -> None:
    path = silero_model_path()
    assert path.name == "silero_vad_v6.onnx"
    assert "faster_whisper" in str(path)


def test_speech_scores_high_and_the_silence_around_it_low(vad: SileroVAD) -> None:
    frames = _stream(vad, speech_data.padded("goforward", before=1.0, after=1.0))
    # "go forward ten meters" is voiced from 0.52 s to about 2.1 s into its recording.
    speech = [f.probability for f in frames if 101.6 < f.start < 103.0]
    quiet = [f.probability for f in frames if f.end < 101.4 or f.start > 103.5]
    assert np.median(speech) > 0.9
    assert max(quiet) < 0.2


def test_chunk_size_does_not_change_the_result(vad: SileroVAD) -> None:
    samples = speech_data.padded("cards_003")
    small = [f.probability for f in _stream(vad, samples, ms=10)]
    large = [f.probability for f in _stream(vad, samples, ms=250)]
    whole = vad.probabilities(samples)
    assert len(small) == len(large) == len(whole) == len(samples) // WINDOW
    assert np.allclose(small, whole, atol=1e-5)
    assert np.allclose(large, whole, atol=1e-5)


def test_frames_are_stamped_on_the_pipeline_clock(vad: SileroVAD) -> None:
    frames = _stream(vad, speech_data.padded("cards_001"), ms=30)
    starts = np.array([f.start for f in frames])
    assert starts[0] == pytest.approx(100.0)
    assert np.allclose(np.diff(starts), WINDOW / ASR_RATE)
    assert frames[-1].end <= 100.0 + len(speech_data.padded("cards_001")) / ASR_RATE + 1e-9


def test_noise_is_not_speech(vad: SileroVAD) -> None:
    rng = np.random.default_rng(1)
    white = (rng.standard_normal(3 * ASR_RATE) * 0.1).astype(np.float32)
    hum = (0.3 * np.sin(2 * np.pi * 50 * np.arange(3 * ASR_RATE) / ASR_RATE)).astype(np.float32)
    for noise in (white, hum, np.zeros(ASR_RATE, np.float32)):
        probs = [f.probability for f in _stream(vad, noise)]
        assert np.mean(np.array(probs) > 0.5) < 0.05


def test_audio_at_48k_and_44k1_is_resampled(vad: SileroVAD) -> None:
    samples = speech_data.padded("goforward")
    reference = np.array([f.probability for f in _stream(vad, samples)])
    for rate in (48_000, 44_100):
        resampled = soxr.resample(samples, ASR_RATE, rate).astype(np.float32)
        probs = np.array([f.probability for f in _stream(vad, resampled, rate=rate)])
        n = min(len(probs), len(reference))
        # The same windows are voiced, a window or so of filter delay aside.
        assert abs(int((probs[:n] > 0.5).sum()) - int((reference[:n] > 0.5).sum())) <= 3


def test_clipped_speech_is_still_speech(vad: SileroVAD) -> None:
    samples = np.clip(speech_data.padded("goforward") * 20, -1, 1)
    probs = [f.probability for f in _stream(vad, samples) if 101.1 < f.start < 102.5]
    assert np.median(probs) > 0.8


def test_process_before_load_fails_clearly() -> None:
    with pytest.raises(RuntimeError, match="load"):
        SileroVAD().process(AudioChunk(np.zeros(1024, np.float32), ASR_RATE, 0.0))
