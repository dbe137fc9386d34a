"""The call end to end in a real browser: Debian Chromium driven by Playwright against the
service under uvicorn, the EchoPipeline on the server, the browser's fake microphone
playing a LibriVox clip. What is asserted is what the learner and the server each got:
speech at the server, the echoed speech, video frames and captions at the browser, and a
reload that re-attaches to the same session."""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser import (
    CHROMIUM,
    FLAGS,
    STATS,
    needs_chromium,
    start_call,
    wait_connected,
    wait_until,
    with_microphone,
    write_wav,
)
from call_app import call_services
from speech_data import clip

from simpatient.pipeline.bench_call import serving
from simpatient.server.services import Services
from simpatient.speech.audio import WEBRTC_RATE
from simpatient.transport import EchoPipeline
from simpatient.transport.pipeline import rms_db

pytestmark = needs_chromium


@pytest.fixture
def app() -> Iterator[tuple[Services, list[EchoPipeline], str]]:
    services, pipelines = call_services(max_sessions=2, rejoin_grace_s=30.0)
    with serving(services) as url:
        yield services, pipelines, url


def learner_wav(path: Path) -> Path:
    """1 s of silence, a 3 s LibriVox sentence, then silence: the fake microphone plays it
    once (``%noloop``) from the moment the page opens the microphone."""
    speech = clip("sense_and_sensibility_01_austen_64kb-0880").resampled(WEBRTC_RATE).samples
    silence = np.zeros(WEBRTC_RATE, np.float32)
    samples = np.concatenate([silence, speech, silence, silence])
    return write_wav(path, samples, WEBRTC_RATE)


def check_media(page: Any, echo: EchoPipeline) -> None:
    """Speech reached the server; the echo, video frames and captions reached the page."""
    wait_until(lambda: echo.heard, 15, "the server heard speech")
    heard = echo.heard[0]
    assert heard.duration > 2.0
    assert rms_db(heard.samples) > -35, "speech energy, not silence"
    page.wait_for_function(
        "document.getElementById('latency').textContent.includes('s')", timeout=10_000
    )
    page.wait_for_timeout(2500)  # the echo plays out
    frames_before = page.evaluate(STATS)["video"]["framesDecoded"]
    cpu_before = time.process_time()  # this process is the server; the browser is apart
    page.wait_for_timeout(2000)
    cpu = (time.process_time() - cpu_before) / 2.0
    stats = page.evaluate(STATS)
    fps = (stats["video"]["framesDecoded"] - frames_before) / 2.0
    rtt = stats["pair"]["currentRoundTripTime"]
    print(f"received {fps:.1f} fps; round trip {rtt} s; server CPU {cpu:.0%} of a core")
    assert stats["audio"]["totalSamplesReceived"] > WEBRTC_RATE * 4
    assert stats["audio"]["totalAudioEnergy"] > 0.01, "the echoed speech was heard"
    assert frames_before > 0
    assert fps > 10, "frames keep arriving (the rate is the benchmark's to report)"
    captions = page.locator("#captions")
    assert "Echo test" in captions.inner_text()
    assert "played back" in captions.inner_text()
    assert "s of speech)" in captions.inner_text(), "the learner's caption"
    assert captions.get_attribute("aria-live") == "polite"


def test_a_call_in_chromium(app: tuple[Services, list[EchoPipeline], str], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    services, pipelines, url = app
    wav = learner_wav(tmp_path / "learner.wav")
    with sync_playwright() as playwright:
        browser = with_microphone(playwright, tmp_path / "profile", wav)
        page = browser.new_page()
        session_id = start_call(page, url)
        wait_connected(page)
        live = services.live.get(session_id)
        assert live is not None
        assert live.call is not None
        assert live.call.peer is not None
        setup_ms = page.evaluate("window.simpatientCall.setupMs")
        print(
            f"set-up: {setup_ms} ms in the browser; offer to connected at the server "
            f"{live.call.peer.setup_s:.3f} s"
        )
        check_media(page, pipelines[0])

        # a dropped connection (here: a reload) re-attaches to the same session
        page.reload()
        wait_connected(page)
        assert page.url.endswith(f"/calls/{session_id}")
        wait_until(lambda: live.call is not None and live.call.connections == 2, 10, "rejoin")
        assert services.live.get(session_id) is live
        assert len(pipelines) == 1, "no new session"
        wait_until(lambda: pipelines[0].runs == 2, 5, "the pipeline serves the new connection")
        page.wait_for_function(
            "document.getElementById('captions').textContent.includes('Echo test')",
            timeout=10_000,
        )
        page.wait_for_function(
            f"({STATS})().then((s) => s.video && s.video.framesDecoded > 0)", timeout=10_000
        )

        # hanging up ends the session and leads to the feedback page
        page.get_by_role("button", name="End the call and get feedback").click()
        page.wait_for_url(f"{url}/sessions/{session_id}")
        assert services.live.get(session_id) is None
        assert services.sessions.get(session_id).end_reason == "ended by the learner"
        browser.close()


def test_a_denied_microphone_is_explained(
    app: tuple[Services, list[EchoPipeline], str], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    _services, _pipelines, url = app
    with sync_playwright() as playwright:
        # a (fake) microphone, but no fake-UI flag to accept the prompt and no permission
        # granted: Chromium denies it, as when a learner clicks "Block"
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=str(CHROMIUM),
            args=[*FLAGS, "--use-fake-device-for-media-stream"],
        )
        page = browser.new_page()
        session_id = start_call(page, url)
        alert = page.get_by_role("alert")
        alert.wait_for(timeout=10_000)
        assert "blocked the microphone" in alert.inner_text()
        assert "set Microphone to Allow" in alert.inner_text()
        fallback = alert.get_by_role("link", name="continue this session in text")
        assert fallback.get_attribute("href") == f"/rehearsals/{session_id}"
        fallback.click()
        page.wait_for_url(f"{url}/rehearsals/{session_id}")
        assert page.get_by_label("What you say to the patient").is_visible()
        browser.close()
