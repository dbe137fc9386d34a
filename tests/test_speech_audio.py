"""Audio plumbing: rate conversion of a stream, mono mixdown, WAV reading, WER."""

import numpy as np
import pytest
import speech_data

from simpatient.speech.audio import AudioChunk, ToRate, to_mono
from simpatient.speech.wer import normalise, number_words, wer


def _tone(freq: float, rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


def test_to_rate_resamples_a_stream_chunk_by_chunk() -> None:
    to16 = ToRate(16_000)
    tone = _tone(440.0, 48_000, 1.0)
    out = [to16.push(c) for c in speech_data.chunks(tone, rate=48_000)]
    assert {c.sample_rate for c in out} == {16_000}
    joined = np.concatenate([c.samples for c in out])
    # The stream filter holds back a few ms; everything else comes out at a third.
    assert 15_500 < len(joined) <= 16_000
    assert _peak_hz(joined[1000:], 16_000) == pytest.approx(440.0, abs=2.0)
    assert out[3].start == pytest.approx(100.06)  # chunk times are kept


def test_to_rate_follows_a_rate_change_and_passes_16k_through() -> None:
    to16 = ToRate(16_000)
    same = AudioChunk(np.zeros(320, np.float32), 16_000, 0.0)
    assert to16.push(same) is same
    for rate in (44_100, 8_000):
        out = [to16.push(c) for c in speech_data.chunks(_tone(300.0, rate, 0.5), rate=rate)]
        joined = np.concatenate([c.samples for c in out])
        assert _peak_hz(joined[800:], 16_000) == pytest.approx(300.0, abs=3.0)


def test_mono_mixdown_of_interleaved_int16() -> None:
    stereo = np.array([16384, -16384, 8192, 8192], dtype=np.int16)
    assert to_mono(stereo, 2).tolist() == pytest.approx([0.0, 0.25])


def test_read_wav_gives_16k_mono_speech() -> None:
    audio = speech_data.clip("goforward")
    assert audio.sample_rate == 16_000
    assert 2.0 < audio.duration < 3.5
    assert 0.01 < float(np.abs(audio.samples).mean()) < 0.5


def test_wer_normalisation_is_the_stated_one() -> None:
    assert normalise("Mr. Dashwood, ill-disposed; 10 of Clubs!") == [
        "mister", "dashwood", "ill", "disposed", "ten", "of", "clubs",
    ]  # fmt: skip
    assert normalise("3.4 cm, 2,500 don't") == [
        "three", "point", "four", "cm", "two", "thousand", "five", "hundred", "don't",
    ]  # fmt: skip
    assert number_words(42) == "forty two"
    result = wer([("go forward ten meters", "Go forward 10 metres."), ("five five", "5")])
    assert (result.errors, result.words) == (2, 6)
