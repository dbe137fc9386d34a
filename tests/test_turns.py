"""Turn-taking: the endpointer on scripted VAD timelines, and on real speech with Silero."""

import numpy as np
import pytest
import speech_data

from simpatient.settings import VADSettings
from simpatient.speech.audio import ASR_RATE
from simpatient.speech.turns import (
    Endpointer,
    ShortSpeech,
    TurnEvent,
    TurnEventKind,
    classify_short,
    is_backchannel,
    is_complete_thought,
)
from simpatient.speech.vad import WINDOW_S, SileroVAD, VADFrame

SETTINGS = VADSettings()


def _timeline(*spans: tuple[float, float]) -> list[VADFrame]:
    """VAD frames at 32 ms: each span is (seconds, probability), back to back from t=10."""
    frames, t = [], 10.0
    for seconds, p in spans:
        for _ in range(round(seconds / WINDOW_S)):
            frames.append(VADFrame(t, t + WINDOW_S, p))
            t += WINDOW_S
    return frames


def _run(frames: list[VADFrame], endpointer: Endpointer | None = None) -> list[TurnEvent]:
    ep = endpointer or Endpointer(SETTINGS)
    return [e for f in frames if (e := ep.update(f))]


def _kinds(events: list[TurnEvent]) -> list[str]:
    return [e.kind.value for e in events]


def test_a_sentence_starts_is_confirmed_pauses_and_ends() -> None:
    events = _run(_timeline((1.0, 0.02), (2.0, 0.95), (1.0, 0.05)))
    assert _kinds(events) == ["started", "confirmed", "paused", "ended"]
    started, confirmed, paused, ended = events
    assert started.onset == pytest.approx(11.0, abs=0.04)  # the first voiced window
    assert started.at - started.onset == pytest.approx(SETTINGS.min_speech_ms / 1000, abs=0.04)
    assert confirmed.at - confirmed.onset == pytest.approx(SETTINGS.confirm_ms / 1000, abs=0.04)
    assert ended.speech_end == pytest.approx(13.0, abs=0.04)
    assert ended.at - ended.speech_end == pytest.approx(SETTINGS.silence_ms / 1000, abs=0.04)
    assert paused.at - paused.speech_end == pytest.approx(SETTINGS.pause_ms / 1000, abs=0.04)
    assert ended.confirmed
    assert ended.voiced_s == pytest.approx(2.0, abs=0.04)


def test_a_backchannel_is_never_confirmed() -> None:
    # "mm-hm": two short voiced bursts with a gap, 0.35 s of voice in all.
    events = _run(_timeline((0.5, 0.02), (0.16, 0.9), (0.1, 0.1), (0.19, 0.9), (1.0, 0.02)))
    assert _kinds(events) == ["started", "paused", "ended"]
    assert not events[-1].confirmed


def test_clicks_and_steady_noise_do_not_start_speech() -> None:
    clicks = [(0.032, 0.9), (0.3, 0.02)] * 5  # isolated one-window blips
    murmur = [(2.0, 0.4)]  # between the thresholds: never voiced
    assert _run(_timeline(*clicks, *murmur)) == []


def test_a_dip_between_the_thresholds_does_not_end_speech() -> None:
    events = _run(_timeline((0.6, 0.9), (1.5, 0.4), (0.6, 0.9), (1.0, 0.0)))
    assert _kinds(events) == ["started", "confirmed", "paused", "ended"]
    assert events[-1].speech_end - events[-1].onset == pytest.approx(2.7, abs=0.05)


def test_a_complete_thought_ends_the_turn_sooner() -> None:
    frames = _timeline((1.2, 0.9), (1.0, 0.0))
    speech_end = frames[round(1.2 / WINDOW_S) - 1].end
    complete = Endpointer(SETTINGS)
    late = _run(frames[:45], complete)
    complete.set_transcript("How have you been feeling?", speech_end)
    ended = _run(frames[45:], complete)[-1]
    assert ended.at - ended.speech_end == pytest.approx(SETTINGS.complete_silence_ms / 1000, 0.1)

    unfinished = Endpointer(SETTINGS)
    _run(frames[:45], unfinished)
    unfinished.set_transcript("I wanted to talk about the scan and", speech_end)
    ended = _run(frames[45:], unfinished)[-1]
    assert ended.at - ended.speech_end == pytest.approx(SETTINGS.silence_ms / 1000, 0.1)
    assert _kinds(late) == ["started", "confirmed", "paused"]


def test_a_stale_transcript_does_not_shorten_the_window() -> None:
    frames = _timeline((1.2, 0.9), (1.0, 0.0))
    ep = Endpointer(SETTINGS)
    ep.set_transcript("How are you?", covers_until=frames[10].end)  # only the first words
    ended = _run(frames, ep)[-1]
    assert ended.at - ended.speech_end == pytest.approx(SETTINGS.silence_ms / 1000, 0.1)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Mm-hmm.", ShortSpeech.backchannel),
        ("Okay, okay.", ShortSpeech.backchannel),
        ("Yeah.", ShortSpeech.backchannel),
        ("I see.", ShortSpeech.backchannel),
        ("No.", ShortSpeech.turn),
        ("Okay, what does that mean?", ShortSpeech.turn),
        ("", ShortSpeech.noise),
        (" ... ", ShortSpeech.noise),
    ],
)
def test_short_speech_is_classified_by_its_words(text: str, kind: ShortSpeech) -> None:
    assert classify_short(text) is kind
    assert is_backchannel(text) == (kind is ShortSpeech.backchannel)


def test_complete_thought() -> None:
    assert is_complete_thought("What do you understand about the scan?")
    assert is_complete_thought("Yes.")
    assert not is_complete_thought("I think that the, um.")
    assert not is_complete_thought("and the results show")


@pytest.fixture(scope="module")
def silero() -> SileroVAD:
    vad = SileroVAD()
    vad.load()
    return vad


def _burst(seconds: float) -> np.ndarray:
    """``seconds`` of real speech ("go forward", from its onset) faded in and out, with
    silence around it: a backchannel-length or longer utterance."""
    samples = speech_data.clip("goforward").samples
    start = int(0.52 * ASR_RATE)  # where the speech begins in this recording
    seg = samples[start : start + int(seconds * ASR_RATE)].copy()
    fade = np.linspace(0.0, 1.0, 160, dtype=np.float32)
    seg[:160] *= fade
    seg[-160:] *= fade[::-1]
    silence = np.zeros(int(0.5 * ASR_RATE), np.float32)
    return np.concatenate([silence, seg, silence, silence, silence])


@pytest.mark.parametrize(("seconds", "confirmed"), [(0.3, False), (0.4, False), (0.8, True)])
def test_real_speech_under_the_confirm_time_is_not_an_interruption(
    silero: SileroVAD, seconds: float, confirmed: bool
) -> None:
    silero.reset()
    ep = Endpointer(SETTINGS, silero)
    events = [e for c in speech_data.chunks(_burst(seconds)) for e in ep.push(c)]
    kinds = _kinds(events)
    assert kinds[0] == "started"
    assert kinds[-1] == "ended"
    assert ("confirmed" in kinds) is confirmed
    assert events[0].onset == pytest.approx(100.5, abs=0.07)  # 100 s clock + 0.5 s silence
    if confirmed:
        confirm = next(e for e in events if e.kind is TurnEventKind.confirmed)
        assert confirm.at - confirm.onset < SETTINGS.confirm_ms / 1000 + 0.1


def test_real_utterance_gives_one_turn(silero: SileroVAD) -> None:
    silero.reset()
    ep = Endpointer(SETTINGS, silero)
    events = [e for c in speech_data.chunks(speech_data.padded("goforward")) for e in ep.push(c)]
    ended = [e for e in events if e.kind is TurnEventKind.ended]
    assert len(ended) == 1
    assert ended[0].confirmed
    assert 1.5 < ended[0].speech_end - ended[0].onset < 2.6
