"""The call benchmark's measurement: from the two channels the page records (microphone,
patient), the time from the end of each line to the patient's first sound after it."""

import numpy as np

from simpatient.pipeline.bench_call import RATE, voice_to_voice


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def test_voice_to_voice_is_the_gap_between_a_line_and_the_answer() -> None:
    mic = np.concatenate([_silence(1), _tone(2), _silence(6), _tone(1.5), _silence(6)])
    # lines end at 3.0 s and 10.5 s; answers start at 4.2 s and 11.4 s
    patient = np.concatenate(
        [_silence(4.2), _tone(2), _silence(11.4 - 6.2), _tone(1), _silence(4.1)]
    )
    gaps = voice_to_voice(mic, patient[: len(mic)])
    assert len(gaps) == 2
    assert abs(gaps[0] - 1.2) <= 0.02
    assert abs(gaps[1] - 0.9) <= 0.02


def test_a_line_without_an_answer_gives_no_figure() -> None:
    mic = np.concatenate([_silence(1), _tone(2), _silence(6)])
    assert voice_to_voice(mic, np.zeros_like(mic)) == []
