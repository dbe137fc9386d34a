"""One spoken exchange through the real speech models: the clinician's line, synthesised
by piper (a male voice), heard by Silero and Whisper base; the patient's reply spoken by
her own voice (festival's female voice for Maggie) and recognised back by Whisper. The
patient model is scripted here: what is tested is that real audio goes in and real
speech comes out, on time and recorded. (test_rehearsal_llm.py runs the real LLM.)"""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from simpatient.content import CaseLibrary
from simpatient.dialogue.encoders import MiniLMEncoder
from simpatient.dialogue.scripted_backend import ScriptedBackend
from simpatient.pipeline.session_factory import Runtime, open_voice_session
from simpatient.pipeline.speaker import RealtimeSpeaker
from simpatient.settings import Settings
from simpatient.speech.asr import ASRBackend, create_asr
from simpatient.speech.audio import ASR_RATE, WEBRTC_RATE, AudioChunk, now
from simpatient.speech.tts import create_backend
from simpatient.speech.wer import wer
from simpatient.store import SessionStore

LINE = "Before we look at the results, can you tell me what you understand about the scan?"
REPLY = "I know my blood test was up. I'm frightened it means the cancer is back."


@pytest.fixture(scope="module")
def whisper() -> ASRBackend:
    asr = create_asr(Settings().asr, Settings().models_dir)
    asr.load()
    return asr


def test_a_spoken_exchange_with_real_speech_models(
    library: CaseLibrary, minilm: MiniLMEncoder, whisper: ASRBackend, tmp_path: Path
) -> None:
    settings = Settings()
    backend = ScriptedBackend(Path("unused"), settings.llm)
    backend.replies = [REPLY]
    runtime = Runtime(settings, backend, minilm, whisper)
    output = RealtimeSpeaker()
    store = SessionStore.open(f"sqlite:///{tmp_path / 's.db'}")
    case = library.case("maggie-recurrence-bbn")
    session = open_voice_session(runtime, case, output, store=store)
    assert session.voice.name.startswith("festival:")  # her voice, not the clinician's
    session.rehearsal.start()
    clinician = create_backend("piper", settings.tts, settings.models_dir)
    clinician.load()
    line = clinician.synthesize(LINE).audio.resampled(WEBRTC_RATE).samples
    silence = np.zeros(WEBRTC_RATE, np.float32)
    audio = np.concatenate([silence / 2, line, silence * 3])

    async def microphone() -> AsyncIterator[AudioChunk]:
        step, start = WEBRTC_RATE // 50, now()
        for i in range(0, len(audio), step):
            await asyncio.sleep(max(0.0, start + i / WEBRTC_RATE - now()))
            yield AudioChunk(audio[i : i + step], WEBRTC_RATE, now() - 0.02)

    asyncio.run(session.run(microphone()))
    assert session.rehearsal.session_id is not None
    turns = store.get(session.rehearsal.session_id).turns
    learner, patient = turns[1], turns[2]
    assert wer([(LINE, learner.text)]).rate <= 0.1, learner.text
    assert patient.text == REPLY
    latency = patient.timings["latency"]
    assert latency["voice_to_voice_s"] is not None
    assert latency["voice_to_voice_s"] > latency["asr_final_s"] > 0
    spoken = np.concatenate(
        [s.utterance.audio.resampled(ASR_RATE).samples for s in output.schedule]
    )
    heard = whisper.transcribe(AudioChunk(spoken, ASR_RATE, 0.0))
    # her voice with the anxious prosody (faster, higher) loses a word now and then:
    # "frightened" came back as "sure I tuned"
    assert wer([(REPLY, heard.text)]).rate <= 0.25, heard.text
