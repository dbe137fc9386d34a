"""The product as a learner meets it, with everything real: Chromium (its fake microphone
playing the clinician's lines) calls the service under uvicorn, whose pipeline runs Silero,
Whisper base, the embedded patient LLM, the persona's voice and the avatar. Asserted: the
learner's words were recognised, the patient's reply reached the browser as speech (it is
recognised back), video frames arrived, every turn has a latency record, a reload rejoins
the same conversation, and the session is complete after the browser leaves."""

import html
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from browser import (
    STATS,
    needs_chromium,
    screenshot,
    start_call,
    wait_connected,
    wait_until,
    with_microphone,
    write_wav,
)
from call_app import PASSWORD
from speech_data import clip, references

from simpatient.pipeline.bench_call import serving
from simpatient.pipeline.session_factory import Runtime
from simpatient.server.main import build_services
from simpatient.server.services import Services
from simpatient.settings import Settings
from simpatient.speech.asr import ASRBackend, create_asr
from simpatient.speech.audio import ASR_RATE, WEBRTC_RATE, AudioChunk
from simpatient.speech.tts import create_backend
from simpatient.speech.wer import wer
from simpatient.store import Role

pytestmark = [*needs_chromium, pytest.mark.llm]
LINE = "Before we look at the results, can you tell me what you understand about the scan?"
LIBRIVOX = "sense_and_sensibility_01_austen_64kb-0880"
#: Long enough for the patient to answer on two loaded cores before the next line.
ANSWER_S = 14.0
#: Records what the browser plays from the patient's audio track, at 16 kHz.
RECORD = """() => {
  const track = window.simpatientCall.pc.getReceivers()
    .map((r) => r.track).find((t) => t && t.kind === "audio");
  const ctx = new AudioContext({sampleRate: 16000});
  const node = ctx.createScriptProcessor(4096, 1, 1);
  window.heard = [];
  node.onaudioprocess = (e) => window.heard.push(Array.from(e.inputBuffer.getChannelData(0)));
  ctx.createMediaStreamSource(new MediaStream([track])).connect(node);
  node.connect(ctx.destination);
}"""


@pytest.fixture(scope="module")
def whisper() -> ASRBackend:
    asr = create_asr(Settings().asr, Settings().models_dir)
    asr.load()
    return asr


@pytest.fixture
def service(embedded: Runtime, whisper: ASRBackend) -> Iterator[tuple[Services, str]]:
    settings = Settings(
        llm={"seed": 1234},
        server={"secret_key": "test-key-" + "x" * 32},
        call={"rejoin_grace_s": 30.0},
    )
    runtime = Runtime(settings, embedded.llm, embedded.encoder, whisper)
    services = build_services(settings, runtime)
    services.accounts.create("ana", PASSWORD, Role.learner, "Ana Silva", ("2026a",))
    with serving(services) as url:
        yield services, url


def _microphone(path: Path) -> Path:
    """The clinician's line (piper's male voice; the patient speaks with festival's female
    voice), then a real LibriVox sentence, each followed by time for the answer."""
    settings = Settings()
    clinician = create_backend("piper", settings.tts, settings.models_dir)
    clinician.load()
    line = clinician.synthesize(LINE).audio.resampled(WEBRTC_RATE).samples
    book = clip(LIBRIVOX).resampled(WEBRTC_RATE).samples
    gap = np.zeros(int(ANSWER_S * WEBRTC_RATE), np.float32)
    # The file starts with the microphone, before the connection (the page waits up to
    # 3 s for ICE gathering, the server paints the face) and the patient's greeting: the
    # learner waits for the greeting, as people do. Speech in the first ~6 s never
    # reached the server.
    lead = np.zeros(10 * WEBRTC_RATE, np.float32)
    return write_wav(path, np.concatenate([lead, line, gap, book, gap]), WEBRTC_RATE)


def test_a_spoken_call_with_the_real_pipeline(
    service: tuple[Services, str], whisper: ASRBackend, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    services, url = service
    wav = _microphone(tmp_path / "clinician.wav")
    with sync_playwright() as playwright:
        browser = with_microphone(playwright, tmp_path / "profile", wav)
        page = browser.new_page()
        session_id = start_call(page, url)
        wait_connected(page)
        page.evaluate(RECORD)

        def patient_turns() -> int:
            turns = services.sessions.get(session_id).turns
            return sum(t.speaker == "patient" for t in turns)

        wait_until(lambda: patient_turns() >= 3, 90, "the patient answered both turns")
        screenshot(page, "call.png", tmp_path)
        page.wait_for_timeout(4000)  # the last answer plays out
        frames = page.evaluate(STATS)["video"]["framesDecoded"]
        heard = np.concatenate([np.asarray(b, np.float32) for b in page.evaluate("window.heard")])

        # a dropped connection (a reload) rejoins the same conversation
        before = services.sessions.get(session_id).turns
        page.reload()
        wait_connected(page)
        assert page.url.endswith(f"/calls/{session_id}")
        page.get_by_role("button", name="End the call and get feedback").click()
        page.wait_for_url(f"{url}/sessions/{session_id}")
        browser.close()

    record = services.sessions.get(session_id)
    assert record.status == "ended"
    assert record.mode == "call"
    assert record.turns[: len(before)] == before, "nothing lost across the rejoin"
    learner = [t for t in record.turns if t.speaker == "learner"]
    patient = [t for t in record.turns if t.speaker == "patient"][1:]  # after the opening
    assert wer([(LINE, learner[0].text)]).rate <= 0.15, [(t.speaker, t.text) for t in record.turns]
    assert wer([(references()[LIBRIVOX], learner[1].text)]).rate <= 0.2, learner[1].text
    for turn in patient[:2]:
        latency = turn.timings["latency"]
        assert latency["voice_to_voice_s"] is not None, turn.timings
        assert latency["voice_to_voice_s"] > latency["asr_final_s"] > 0
    assert frames > 25, "video frames arrived"
    # the call gets its report too, from the evaluation queue
    wait_until(
        lambda: (e := services.evaluations.latest(session_id)) is not None and e.status == "done",
        120,
        "the call's evaluation",
    )
    report = services.evaluations.report_html(session_id)
    assert report is not None
    assert html.escape(learner[1].text) in report  # the transcript is in it
    spoken = " ".join([record.turns[0].text, *(t.text for t in patient[:2])])
    said = whisper.transcribe(AudioChunk(heard, ASR_RATE, 0.0))
    assert wer([(spoken, said.text)]).rate <= 0.35, (spoken, said.text)
