"""`simpatient bench speech`, the pipeline half: spoken turns through the whole
in-process pipeline on the real models, at real-time pace.

A clinician's lines, synthesised beforehand with a voice unlike the patient's, are played
into the session as a 48 kHz microphone would deliver them, each once the patient has
finished answering the one before. Every third reply is interrupted a second after the
patient starts speaking (barge-in), and every other reply hears a short backchannel
("mm-hm", which must not interrupt). Figures come from the session's latency records.
"""

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simpatient.content import Case
from simpatient.measure import Usage, percentiles
from simpatient.pipeline.session_factory import Runtime, open_voice_session
from simpatient.pipeline.speaker import RealtimeSpeaker
from simpatient.pipeline.voice_session import SessionEvent, VoiceSession
from simpatient.speech.audio import WEBRTC_RATE, AudioChunk, now
from simpatient.speech.tts import Speaker

logger = logging.getLogger(__name__)

LINES = (
    "Hello Mrs O'Connell, I'm Doctor Lee. Thank you for coming in today.",
    "Before we look at the results, can you tell me what you understand about the scan?",
    "How much detail would you like me to go into today?",
    "I'm afraid the news is not what we hoped for.",
    "The scan shows that the cancer has come back, and it has spread to your liver.",
    "I can see this is a real shock. Take all the time you need.",
    "What is going through your mind right now?",
    "Is there anyone you would like to have with you when we talk about what comes next?",
    "There are still treatments we can offer, and we will go through them together.",
    "What matters most to you over the coming months?",
    "Would it help if I wrote down what we talked about today?",
    "Let's meet again next week, with your daughter if you would like.",
)
INTERRUPTION = "Sorry, can I just stop you there for a moment?"
#: Short acknowledgements, each under half a second of voice in the learner's voice
#: (piper joe: "Yeah." 0.31 s, "Okay." 0.37 s, "Uh-huh." 0.19 s; its "Mm-hm." runs 0.67 s).
BACKCHANNELS = ("Yeah.", "Okay.", "Uh-huh.")
CHUNK_S = 0.02


@dataclass
class VoiceBenchReport:
    voice: str
    learner_voice: str
    records: list[dict[str, Any]] = field(default_factory=list)
    barge_in_stops: list[float] = field(default_factory=list)
    backchannels_played: int = 0
    false_interruptions: int = 0
    cpu_cores: float = 0.0
    peak_rss_gb: float = 0.0

    def summary(self) -> dict[str, Any]:
        stages = ("asr_final_s", "llm_first_token_s", "first_clause_s", "tts_first_audio_s")
        out: dict[str, Any] = {
            stage: percentiles(r.get(stage) for r in self.records) for stage in stages
        }
        out["voice_to_voice_s"] = percentiles(r.get("voice_to_voice_s") for r in self.records)
        out["barge_in_stop_s"] = percentiles(self.barge_in_stops)
        out["backchannels"] = (
            f"{self.false_interruptions} of {self.backchannels_played} interrupted"
        )
        out["cpu_cores_mean"] = round(self.cpu_cores, 2)
        out["peak_rss_gb"] = round(self.peak_rss_gb, 2)
        out["voices"] = f"patient {self.voice}, learner {self.learner_voice}"
        return out


class ScriptedMicrophone:
    """A microphone that plays queued audio, and silence in between, in real time."""

    def __init__(self) -> None:
        self._queue: deque[np.ndarray] = deque()
        self.closed = False

    def say(self, audio: AudioChunk) -> float:
        """Queue speech; the seconds until it has been played."""
        samples = audio.resampled(WEBRTC_RATE).samples
        ahead = sum(len(q) for q in self._queue) / WEBRTC_RATE
        self._queue.append(samples)
        return ahead + len(samples) / WEBRTC_RATE

    async def stream(self) -> AsyncIterator[AudioChunk]:
        step = round(CHUNK_S * WEBRTC_RATE)
        start, sent = now(), 0
        while not self.closed:
            await asyncio.sleep(max(0.0, start + sent / WEBRTC_RATE - now()))
            block = np.zeros(step, np.float32)
            filled = 0
            while filled < step and self._queue:
                head = self._queue[0]
                take = min(step - filled, len(head))
                block[filled : filled + take] = head[:take]
                filled += take
                if take == len(head):
                    self._queue.popleft()
                else:
                    self._queue[0] = head[take:]
            sent += step
            yield AudioChunk(block, WEBRTC_RATE, now() - CHUNK_S)


async def run(runtime: Runtime, case: Case, learner_voice: Speaker) -> VoiceBenchReport:
    """Play :data:`LINES` to the patient of ``case``; the report of what was measured."""
    lines = [await asyncio.to_thread(learner_voice.synthesize, t) for t in LINES]
    interruption = await asyncio.to_thread(learner_voice.synthesize, INTERRUPTION)
    backchannels = [await asyncio.to_thread(learner_voice.synthesize, t) for t in BACKCHANNELS]
    output = RealtimeSpeaker()
    events: list[SessionEvent] = []
    session = await asyncio.to_thread(open_voice_session, runtime, case, output, events.append)
    await asyncio.to_thread(session.rehearsal.start)
    report = VoiceBenchReport(voice=session.voice.name, learner_voice=learner_voice.name)
    mic = ScriptedMicrophone()
    usage = Usage().start()
    listening = asyncio.create_task(session.run(mic.stream()))
    try:
        for i, line in enumerate(lines):
            await asyncio.sleep(0.6)
            answered = len(session.records) + 1
            await asyncio.sleep(mic.say(line.audio))
            await _until_speaking(session, output, answered)
            if i % 3 == 2:
                await asyncio.sleep(1.0)
                answered = len(session.records) + 1
                await asyncio.sleep(mic.say(interruption.audio))
            elif i % 2 == 1:
                await asyncio.sleep(0.8)
                before, seen = len(session.records), len(events)
                backchannel = backchannels[report.backchannels_played % len(backchannels)]
                report.backchannels_played += 1
                await asyncio.sleep(mic.say(backchannel.audio) + 1.0)
                cut = any(e.kind == "interrupted" for e in events[seen:])
                report.false_interruptions += len(session.records) > before or cut
            await _until_answered(session, answered)
    finally:
        mic.closed = True
        await listening
    report.cpu_cores, report.peak_rss_gb = usage.cpu_cores(), Usage.peak_rss_gb()
    for record in session.records:
        latency = record.as_dict()
        report.records.append(latency)
        if record.barge_in is not None:
            report.barge_in_stops.append(record.barge_in["stop_after_onset_s"])
    await asyncio.to_thread(session.rehearsal.end, "benchmark finished")
    return report


async def _until_answered(session: VoiceSession, turns: int, timeout: float = 120.0) -> None:
    """Until the patient has answered turn number ``turns`` and fallen silent."""
    deadline = now() + timeout
    while now() < deadline and (
        len(session.records) < turns or session.replying or session.output.speaking
    ):
        await asyncio.sleep(0.05)


async def _until_speaking(session: VoiceSession, output: RealtimeSpeaker, turns: int) -> None:
    """Until the patient's answer to turn number ``turns`` is audible, or is over."""
    deadline = now() + 120.0
    while now() < deadline and not output.speaking:
        if len(session.records) >= turns and not session.replying:
            return
        await asyncio.sleep(0.02)
