"""The spoken turn loop: real speech through real Silero VAD, with the fake recogniser
(scripted words), the scripted patient model and the fake voice (tones with visemes), all
at real-time pace on the pipeline clock. What is tested is the orchestration: latency
records, barge-in, what the history keeps. The real models run in test_voice_real.py."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from speech_data import clip

from simpatient.content import CaseLibrary
from simpatient.dialogue.encoders import LexicalEncoder
from simpatient.dialogue.scripted_backend import ScriptedBackend
from simpatient.pipeline.session_factory import Runtime, open_voice_session
from simpatient.pipeline.speaker import RealtimeSpeaker
from simpatient.pipeline.voice_session import SessionEvent
from simpatient.settings import Settings
from simpatient.speech.asr import create_asr
from simpatient.speech.audio import ASR_RATE, AudioChunk, now
from simpatient.store import SessionStore

SCENARIO = "maggie-recurrence-bbn"
LONG_REPLY = (
    "Oh. I was so afraid you would say that. My daughter is getting married in June, "
    "and I keep thinking about whether I will be there. I don't know what to do now, doctor."
)


def _silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * ASR_RATE), dtype=np.float32)


async def _microphone(samples: np.ndarray) -> AsyncIterator[AudioChunk]:
    """20 ms chunks at the pace a microphone delivers them, stamped on the clock."""
    step = ASR_RATE // 50
    start = now()
    for i in range(0, len(samples), step):
        due = start + i / ASR_RATE
        await asyncio.sleep(max(0.0, due - now()))
        yield AudioChunk(samples[i : i + step], ASR_RATE, now() - step / ASR_RATE)


def _runtime() -> tuple[Runtime, ScriptedBackend]:
    settings = Settings(asr={"backend": "fake"}, tts={"voice": "fake:ok", "engines": ["fake"]})
    backend = ScriptedBackend(Path("unused"), settings.llm)
    asr = create_asr(settings.asr, settings.models_dir)
    asr.load()
    return Runtime(settings, backend, LexicalEncoder(), asr), backend


def _session(library: CaseLibrary, tmp_path: Path, replies: list[str]):  # type: ignore[no-untyped-def]
    runtime, backend = _runtime()
    backend.replies = list(replies)
    store = SessionStore.open(f"sqlite:///{tmp_path / 's.db'}")
    events: list[SessionEvent] = []
    output = RealtimeSpeaker()
    session = open_voice_session(runtime, library.case(SCENARIO), output, events.append, store)
    session.rehearsal.start()
    return session, store, events, output


def test_every_turn_has_a_complete_latency_record(library: CaseLibrary, tmp_path: Path) -> None:
    session, store, events, _ = _session(library, tmp_path, ["Oh no.", "I see."])
    speech = clip("cards_001").samples
    audio = np.concatenate([_silence(0.5), speech, _silence(1.5), speech, _silence(2.5)])
    asyncio.run(session.run(_microphone(audio)))
    assert session.rehearsal.session_id is not None
    turns = store.get(session.rehearsal.session_id).turns
    assert [t.speaker for t in turns] == ["patient", "learner", "patient", "learner", "patient"]
    for patient in (turns[2], turns[4]):
        latency = patient.timings["latency"]
        for stage in ("asr_final_s", "first_clause_s", "tts_first_audio_s", "voice_to_voice_s"):
            assert latency[stage] is not None, stage
            assert latency[stage] >= 0, stage
        order = latency["clock"]
        assert order["speech_end"] <= order["asr_final"] <= order["reply_start"]
        assert order["reply_start"] <= order["tts_first_audio"] <= order["first_audio_out"]
    assert turns[2].text == "Oh no."
    assert turns[1].timings["asr"]["confidence"] > 0
    kinds = [e.kind for e in events]
    for kind in ("listening", "caption_learner", "thinking", "speaking", "caption_patient"):
        assert kind in kinds


def test_barge_in_stops_the_patient_and_the_history_keeps_what_was_heard(
    library: CaseLibrary, tmp_path: Path
) -> None:
    session, store, events, _output = _session(library, tmp_path, [LONG_REPLY, "Yes?"])
    speech = clip("cards_001").samples
    # the learner speaks, waits for the patient to start, then talks over her
    audio = np.concatenate([_silence(0.3), speech, _silence(3.0), speech, _silence(2.5)])
    asyncio.run(session.run(_microphone(audio)))
    assert session.rehearsal.session_id is not None
    turns = store.get(session.rehearsal.session_id).turns
    cut = turns[2]
    assert "interrupted" in cut.timings
    assert cut.timings["interrupted"]["generated"].startswith("Oh. I was so afraid")
    assert len(cut.text.split()) < len(LONG_REPLY.split())
    assert LONG_REPLY.startswith(cut.text)
    barge = cut.timings["latency"]["barge_in"]
    assert barge is not None
    # stopped as soon as the speech was confirmed (450 ms of voice), not at the turn's end
    assert barge["stop_after_onset_s"] < 0.8
    history = session.rehearsal.conversation.messages
    cut_message = next(m for m in history if m.role == "assistant" and m.content.endswith("—"))
    assert cut_message.content == f"{cut.text}—"
    assert "interrupted" in [e.kind for e in events]
    assert turns[-1].speaker == "patient"
    assert turns[-1].text == "Yes?"


def test_noise_and_silence_make_no_turn(library: CaseLibrary, tmp_path: Path) -> None:
    session, store, _, _ = _session(library, tmp_path, ["Should not be said."])
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(int(1.5 * ASR_RATE)) * 0.01).astype(np.float32)
    asyncio.run(session.run(_microphone(np.concatenate([_silence(1.0), noise, _silence(1.0)]))))
    assert session.rehearsal.session_id is not None
    assert len(store.get(session.rehearsal.session_id).turns) == 1  # the opening line only


@pytest.mark.parametrize("rate", [48_000])
def test_webrtc_rate_audio_is_understood(library: CaseLibrary, tmp_path: Path, rate: int) -> None:
    session, store, _, _ = _session(library, tmp_path, ["Go on."])
    speech = clip("cards_002").resampled(rate).samples
    audio = np.concatenate(
        [np.zeros(rate // 2, np.float32), speech, np.zeros(2 * rate, np.float32)]
    )

    async def mic() -> AsyncIterator[AudioChunk]:
        step = rate // 50
        start = now()
        for i in range(0, len(audio), step):
            await asyncio.sleep(max(0.0, start + i / rate - now()))
            yield AudioChunk(audio[i : i + step], rate, now() - step / rate)

    asyncio.run(session.run(mic()))
    assert session.rehearsal.session_id is not None
    assert [t.speaker for t in store.get(session.rehearsal.session_id).turns][-1] == "patient"


def test_a_learner_who_goes_on_before_the_patient_speaks_loses_no_words(
    library: CaseLibrary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The patient is still thinking (a slow model) when the learner says more: both of
    the learner's turns are saved, the unstarted reply leaves no patient turn, and the
    model is asked to answer both."""
    import time

    session, store, _, _ = _session(library, tmp_path, ["Slow answer.", "Answer to both."])
    real = session.rehearsal.patient_chunks
    calls = []

    def slow_first(reply):  # type: ignore[no-untyped-def]
        calls.append(reply.learner_text)
        if len(calls) == 1:
            time.sleep(3.0)  # still writing when the learner goes on
        yield from real(reply)

    monkeypatch.setattr(session.rehearsal, "patient_chunks", slow_first)
    speech = clip("cards_001").samples
    audio = np.concatenate([_silence(0.3), speech, _silence(1.0), speech, _silence(3.5)])
    asyncio.run(session.run(_microphone(audio)))
    assert session.rehearsal.session_id is not None
    turns = store.get(session.rehearsal.session_id).turns
    assert [t.speaker for t in turns] == ["patient", "learner", "learner", "patient"]
    history = [m.role for m in session.rehearsal.conversation.messages[-3:]]
    assert history == ["user", "user", "assistant"]
