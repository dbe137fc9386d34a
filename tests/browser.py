"""Driving Debian Chromium (never a downloaded browser) with Playwright in the call tests:
launch flags, the learner's way into a call, and waiting."""

import os
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from call_app import PASSWORD, SCENARIO

from simpatient.pipeline.bench_call import FAKE_DEVICES, FLAGS

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian Chromium at /usr/bin/chromium (make setup)"
    ),
]

STATS = """async () => {
  const out = {};
  (await window.simpatientCall.pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp") out[r.kind] = r;
    if (r.type === "candidate-pair" && r.nominated && r.state === "succeeded") out.pair = r;
  });
  return out;
}"""


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """Mono 16-bit WAV, as Chromium's fake microphone plays it."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    return path


def sign_in(page: Any, url: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/cases")


def wait_connected(page: Any) -> None:
    page.wait_for_function(
        "window.simpatientCall.pc && window.simpatientCall.pc.connectionState === 'connected'",
        timeout=15_000,
    )


def start_call(page: Any, url: str) -> str:
    """From the case's brief, as a learner does; the session id."""
    sign_in(page, url)
    page.goto(f"{url}/cases/{SCENARIO}")
    page.get_by_role("button", name="Start video call").click()
    page.wait_for_url(f"{url}/calls/*")
    return str(page.url.rsplit("/", 1)[1])


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def with_microphone(playwright: Any, profile: Path, wav: Path) -> Any:
    """Chromium whose microphone plays ``wav`` once, from the moment a page opens it, and
    whose speakers are not muted (so the patient's audio is decoded and measurable)."""
    return playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        args=[*FLAGS, *FAKE_DEVICES, f"--use-file-for-fake-audio-capture={wav}%noloop"],
        ignore_default_args=["--mute-audio"],
        viewport={"width": 1100, "height": 860},
    )


def screenshot(page: Any, name: str, tmp_path: Path) -> Path:
    """A screenshot to look at: into docs/screenshots/ when SIMPATIENT_SCREENSHOTS is set
    (to refresh the README's pictures), else into the test's temporary folder."""
    folder = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
    path = (folder if os.environ.get("SIMPATIENT_SCREENSHOTS") else tmp_path) / name
    page.screenshot(path=str(path))
    return path
