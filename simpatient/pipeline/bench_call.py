"""`simpatient bench call`: voice-to-voice over real WebRTC, as the learner's browser
experiences it.

The service runs in this process (uvicorn in a thread, the real embedded models); Debian
Chromium, driven by Playwright, signs in and calls the patient, its fake microphone
playing a WAV of the clinician's lines (a voice unlike the patient's) with time for each
answer. In the page, one AudioContext records the microphone and the patient's incoming
audio side by side, sample-aligned: the end of each line in the first channel and the
first patient sound after it in the second give voice-to-voice on the browser's own
clock. Received frame rate comes from the browser's WebRTC statistics, server-side stage
times from the session's latency records.
"""

import shutil
import tempfile
import threading
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn

from simpatient.errors import SimPatientError
from simpatient.measure import Usage, percentiles
from simpatient.pipeline.bench_voice import LINES
from simpatient.pipeline.session_factory import Runtime
from simpatient.server.app import create_app
from simpatient.server.main import build_services
from simpatient.server.services import Services
from simpatient.settings import Settings
from simpatient.speech.audio import WEBRTC_RATE
from simpatient.speech.tts import Speaker
from simpatient.store import Role

RATE = 16_000  # the recording in the page
ANSWER_S = 12.0  # after each line: the patient's answer plays out before the next
LEAD_S = 10.0  # connection, face and greeting before the first line
USER, PASSWORD = "bench", "benchmark password"
#: Recorded in the page: channel 0 the microphone, channel 1 the patient, sample-aligned.
RECORD = """() => {
  const pc = window.simpatientCall.pc;
  const remote = pc.getReceivers().map((r) => r.track).find((t) => t && t.kind === "audio");
  const local = pc.getSenders().map((s) => s.track).find((t) => t && t.kind === "audio");
  const ctx = new AudioContext({sampleRate: 16000});
  const merge = ctx.createChannelMerger(2);
  ctx.createMediaStreamSource(new MediaStream([local])).connect(merge, 0, 0);
  ctx.createMediaStreamSource(new MediaStream([remote])).connect(merge, 0, 1);
  const node = ctx.createScriptProcessor(4096, 2, 2);
  window.recorded = [[], []];
  node.onaudioprocess = (e) => {
    for (const c of [0, 1]) window.recorded[c].push(Array.from(e.inputBuffer.getChannelData(c)));
  };
  merge.connect(node);
  node.connect(ctx.destination);
}"""
#: Flags measured in ../shared/reference/webrtc.md: no sandbox or GPU in a container, no
#: network services, loopback ICE candidates (Chromium omits them), autoplay.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
]
#: A fake microphone and camera, allowed without asking.
FAKE_DEVICES = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


@dataclass
class CallBenchReport:
    sessions: int = 1
    lines: int = 0
    voice_to_voice_s: list[float] = field(default_factory=list)  # browser clock, all calls
    server_records: list[dict[str, Any]] = field(default_factory=list)
    fps: list[float] = field(default_factory=list)  # per call
    concealed: list[float] = field(default_factory=list)  # share of audio samples, per call
    setup_ms: list[float] = field(default_factory=list)
    server_cpu_cores: float = 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "concurrent_calls": self.sessions,
            "lines_spoken_per_call": self.lines,
            "voice_to_voice_s_browser": percentiles(self.voice_to_voice_s),
            "voice_to_voice_s_server": percentiles(
                r.get("voice_to_voice_s") for r in self.server_records
            ),
            "asr_final_s_server": percentiles(r.get("asr_final_s") for r in self.server_records),
            "received_fps": [round(f, 1) for f in self.fps],
            "audio_concealed": [f"{c:.2%}" for c in self.concealed],
            "connection_setup_ms": self.setup_ms,
            "server_cpu_cores_mean": round(self.server_cpu_cores, 2),
        }


def microphone_wav(path: Path, voice: Speaker, lines: tuple[str, ...]) -> list[float]:
    """The clinician's lines with pauses for the answers; the end time of each line."""
    parts, ends, at = [np.zeros(int(LEAD_S * WEBRTC_RATE), np.float32)], [], LEAD_S
    for text in lines:
        speech = voice.synthesize(text).audio.resampled(WEBRTC_RATE).samples
        parts += [speech, np.zeros(int(ANSWER_S * WEBRTC_RATE), np.float32)]
        at += len(speech) / WEBRTC_RATE
        ends.append(at)
        at += ANSWER_S
    samples = np.concatenate(parts)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(WEBRTC_RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype(np.int16).tobytes())
    return ends


def voice_to_voice(mic: np.ndarray, patient: np.ndarray) -> list[float]:
    """For each stretch of speech on the microphone, the seconds from its end to the first
    patient sound after it (before the next line). Both at :data:`RATE`, aligned."""
    hop = RATE // 100  # 10 ms frames

    def loud(x: np.ndarray, db: float) -> np.ndarray:
        frames = x[: len(x) // hop * hop].reshape(-1, hop)
        level = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-12)
        return np.asarray(level > db, dtype=bool)

    said, heard = loud(mic, -45.0), loud(patient, -45.0)
    ends, starts = [], []
    quiet = 0
    for i, on in enumerate(said):  # a line ends after 0.8 s of silence
        quiet = 0 if on else quiet + 1
        if quiet == 80 and i >= 80 and said[: i - 79].any():
            ends.append(i - 80)
    for i, end in enumerate(ends):
        stop = ends[i + 1] if i + 1 < len(ends) else len(heard)
        after = np.nonzero(heard[end + 1 : stop])[0]
        if after.size:
            starts.append((end, end + 1 + int(after[0])))
    return [(start - end) * hop / RATE for end, start in starts]


def run(
    settings: Settings, runtime: Runtime, scenario: str, voice: Speaker, sessions: int = 1
) -> CallBenchReport:
    """Serve, hold ``sessions`` calls at once (one browser, a page each; they start a few
    seconds apart, as the persona prompt is evaluated for each), measure; the report."""
    server = settings.server.model_copy(update={"max_sessions": max(sessions, 1)})
    settings = settings.model_copy(update={"server": server})
    services = build_services(settings, runtime)
    if not any(a.username == USER for a in services.accounts.all()):
        services.accounts.create(USER, PASSWORD, Role.learner, "Benchmark")
    report = CallBenchReport(sessions=sessions, lines=len(LINES))
    with tempfile.TemporaryDirectory() as tmp, serving(services) as url:
        wav = Path(tmp) / "clinician.wav"
        microphone_wav(wav, voice, LINES)
        usage = Usage().start()
        calls = _calls(url, scenario, wav, Path(tmp) / "profile", sessions, report)
        report.server_cpu_cores = usage.cpu_cores()
    for session_id, mic, patient in calls:
        report.voice_to_voice_s += voice_to_voice(mic, patient)
        turns = services.sessions.get(session_id).turns
        report.server_records += [t.timings["latency"] for t in turns if "latency" in t.timings]
    return report


@contextmanager
def serving(services: Services) -> Iterator[str]:
    """The app under uvicorn in a thread (its own event loop), on a free port; the URL."""
    config = uvicorn.Config(create_app(services), host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


STATS = """async () => { const out = {};
  (await window.simpatientCall.pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp") out[r.kind] = r; });
  return {frames: out.video ? out.video.framesDecoded : 0,
          concealed: out.audio ? out.audio.concealedSamples : 0,
          samples: out.audio ? out.audio.totalSamplesReceived : 0}; }"""


def _calls(
    url: str, scenario: str, wav: Path, profile: Path, count: int, report: CallBenchReport
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Learners' calls in Chromium: for each, the session id and the microphone and the
    patient as its page recorded them."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SimPatientError("bench call needs Debian chromium (make setup installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=chromium,
            args=[*FLAGS, *FAKE_DEVICES, f"--use-file-for-fake-audio-capture={wav}%noloop"],
            ignore_default_args=["--mute-audio"],
        )
        pages = [_start_call(browser, url, scenario, first=i == 0) for i in range(count)]
        before = [page.evaluate(STATS) for page in pages]
        started = time.monotonic()
        pages[-1].wait_for_timeout((LEAD_S + len(LINES) * (ANSWER_S + 5.0)) * 1000)
        calls = []
        for page, first in zip(pages, before, strict=True):
            last = page.evaluate(STATS)
            report.fps.append((last["frames"] - first["frames"]) / (time.monotonic() - started))
            report.concealed.append(last["concealed"] / max(last["samples"], 1))
            report.setup_ms.append(page.evaluate("window.simpatientCall.setupMs"))
            channels = page.evaluate("window.recorded")
            mic, patient = (
                np.concatenate([np.asarray(b, np.float32) for b in c]) for c in channels
            )
            calls.append((page.url.rsplit("/", 1)[1], mic, patient))
        browser.close()
    return calls


def _start_call(browser: Any, url: str, scenario: str, first: bool) -> Any:
    page = browser.new_page()
    if first:
        page.goto(f"{url}/login")
        page.get_by_label("Username").fill(USER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{url}/cases")
    page.goto(f"{url}/cases/{scenario}")
    page.get_by_role("button", name="Start video call").click()
    page.wait_for_url(f"{url}/calls/*", timeout=120_000)
    page.wait_for_function(
        "window.simpatientCall.pc && window.simpatientCall.pc.connectionState === 'connected'",
        timeout=60_000,
    )
    page.evaluate(RECORD)
    return page
