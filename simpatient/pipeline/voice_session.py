"""A spoken session: the learner's audio in; the patient's voice (with the viseme and
expression timelines the avatar draws) out; every turn saved with its latency record.

    microphone ─► Listener (VAD, end of turn, partial and final ASR)
                     │ turn
                     ▼
                TextRehearsal (appraisal, patient LLM, saving turns)  ── worker thread
                     │ reply chunks as they are written
                     ▼
                speak() (TTS per clause)  ── worker thread ─►  SpeechOutput (track)

Barge-in: when the listener confirms speech (long enough not to be a backchannel) while
the patient is speaking, the output stops at once, the reply stops being written, and the
history and the store keep only what the learner heard.
"""

import asyncio
import logging
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from simpatient.dialogue.conversation import Reply
from simpatient.errors import BackendError
from simpatient.pipeline.speaker import SpeechOutput
from simpatient.pipeline.text_rehearsal import TextRehearsal
from simpatient.speech.audio import AudioChunk, now
from simpatient.speech.listener import Listener, ListenEvent, ListenEventKind
from simpatient.speech.tts import Prosody, Speaker, speak
from simpatient.store import now as wall_clock

logger = logging.getLogger(__name__)

#: What the patient says when the learner's words could not be recognised.
NOT_HEARD = "Sorry, I didn't quite catch that."


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """For the learner's screen (captions, cues) and the avatar: ``kind`` is one of
    listening, caption_partial, caption_learner, state (the patient's emotion and its
    intensity after the learner's turn), thinking, caption_patient, speaking, interrupted,
    latency (the turn's record, once saved), error; ``data`` is JSON-ready."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class LatencyRecord:
    """Clock times of one turn (seconds on :func:`simpatient.speech.audio.now`)."""

    speech_start: float
    speech_end: float
    asr_final: float
    reply_start: float | None = None  # None: cut off before the patient began
    llm_first_token: float | None = None
    first_clause: float | None = None
    tts_first_audio: float | None = None
    first_audio_out: float | None = None
    barge_in: dict[str, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        """Durations from the end of the learner's speech, and the stage times."""

        def since_end(t: float | None) -> float | None:
            return None if t is None else round(t - self.speech_end, 4)

        return {
            "speech_s": round(self.speech_end - self.speech_start, 4),
            "asr_final_s": since_end(self.asr_final),
            "llm_first_token_s": since_end(self.llm_first_token),
            "first_clause_s": since_end(self.first_clause),
            "tts_first_audio_s": since_end(self.tts_first_audio),
            "voice_to_voice_s": since_end(self.first_audio_out),
            "clock": {k: v for k, v in vars(self).items() if isinstance(v, float)},
            "barge_in": self.barge_in,
        }


class VoiceSession:
    """One learner talking to one patient. Thin on purpose: the listener, the rehearsal
    (conversation and store), the voice and the output each do their own part."""

    def __init__(
        self,
        rehearsal: TextRehearsal,
        listener: Listener,
        voice: Speaker,
        output: SpeechOutput,
        events: Callable[[SessionEvent], None] = lambda e: None,
        sentence_pause_s: float = 0.12,
    ) -> None:
        self.rehearsal, self.listener, self.voice, self.output = rehearsal, listener, voice, output
        self.emit = events
        self.sentence_pause_s = sentence_pause_s
        self._reply: asyncio.Task[None] | None = None
        self.records: list[LatencyRecord] = []
        self._cut_record: LatencyRecord | None = None  # of the reply a barge-in would cut

    @property
    def replying(self) -> bool:
        """Whether a patient turn is in progress (being written, spoken or saved)."""
        return self._reply is not None and not self._reply.done()

    def greet(self) -> None:
        """Say the scenario's opening line (already saved as the first turn) as the call
        begins; the learner may talk over it like any reply."""
        self._reply = asyncio.create_task(self._say(self.rehearsal.conversation.opening_line))
        self._cut_record = None

    async def _say(self, text: str) -> None:
        conversation = self.rehearsal.conversation
        prosody = Prosody.for_patient(conversation.case.persona.voice, conversation.state)
        self.output.begin_reply()
        async for utterance in speak(
            self.voice, text, prosody, sentence_pause_s=self.sentence_pause_s
        ):
            self.output.play(utterance)
            self.emit(SessionEvent("caption_patient", {"text": utterance.text}))
        last = self.output.schedule[-1].end if self.output.schedule else now()
        await asyncio.sleep(max(0.0, last - now()))

    async def run(self, microphone: AsyncIterable[AudioChunk]) -> None:
        """Listen until the microphone ends, then let the last reply finish."""
        try:
            async for event in self.listener.listen(microphone):
                await self.on_listen(event)
        except BackendError as e:  # a final decode failed: say so, keep the session
            logger.error("speech recognition failed: %s", e)
            self.emit(SessionEvent("error", {"message": "speech recognition failed"}))
        if self._reply is not None:
            await asyncio.gather(self._reply, return_exceptions=True)

    async def on_listen(self, event: ListenEvent) -> None:
        kind = event.kind
        if kind is ListenEventKind.speech_started:
            self.emit(SessionEvent("listening"))
        elif kind is ListenEventKind.speech_confirmed:
            await self._barge_in(event)
        elif kind is ListenEventKind.partial and event.transcript is not None:
            self.emit(SessionEvent("caption_partial", {"text": event.transcript.text}))
        elif kind is ListenEventKind.turn and event.transcript is not None:
            heard_at = now()  # the final transcript is in hand
            await self._barge_in(event)  # a short reply such as "Yes." is not confirmed
            self.emit(SessionEvent("caption_learner", {"text": event.transcript.text}))
            # Saved here, in the listening loop, not in the reply's task: whatever the
            # learner says next, these words are in the store before the patient answers.
            record, reply = await self._learner_turn(event, heard_at)
            self._reply = asyncio.create_task(self._patient_turn(reply, record))
            self._cut_record = record
        else:
            logger.debug("ignored %s", kind.value)

    async def _barge_in(self, event: ListenEvent) -> None:
        reply = self._reply
        if reply is None or reply.done():
            return
        stopped = self.output.stop() if self.output.speaking else None
        if stopped is not None:
            logger.info("barge-in: stopped %.0f ms after the onset", (stopped - event.onset) * 1e3)
            if self._cut_record is not None:  # saved with the latency of the turn being cut
                self._cut_record.barge_in = {
                    "onset": event.onset,
                    "decided": event.at,
                    "stopped": stopped,
                    "stop_after_onset_s": round(stopped - event.onset, 4),
                }
        reply.cancel()
        await asyncio.gather(reply, return_exceptions=True)
        self.emit(SessionEvent("interrupted"))

    async def _learner_turn(
        self, event: ListenEvent, heard_at: float
    ) -> tuple[LatencyRecord, Reply]:
        t = event.transcript
        assert t is not None
        assert event.speech_end is not None
        record = LatencyRecord(event.onset, event.speech_end, heard_at)
        self.records.append(record)
        learner = {
            "asr": {"confidence": round(t.confidence, 3), "decode_s": round(t.decode_s, 4)},
            "speech_s": round(record.speech_end - record.speech_start, 4),
        }
        reply = await asyncio.to_thread(self.rehearsal.learner_turn, t.text, learner)
        state = self.rehearsal.conversation.state
        self.emit(
            SessionEvent("state", {"emotion": state.emotion.value, "intensity": state.intensity})
        )
        return record, reply

    async def _patient_turn(self, reply: Reply, record: LatencyRecord) -> None:
        """The patient's answer, spoken; it lasts until its audio has played. Cancelled
        by a barge-in, it keeps what was heard."""
        self.emit(SessionEvent("thinking"))
        started, record.reply_start = wall_clock(), now()
        self.output.begin_reply()
        chunks = ThreadedIterator(self.rehearsal.patient_chunks(reply))
        finished = False
        try:
            conversation = self.rehearsal.conversation
            prosody = Prosody.for_patient(conversation.case.persona.voice, conversation.state)
            async for utterance in speak(
                self.voice, chunks, prosody, sentence_pause_s=self.sentence_pause_s
            ):
                if record.tts_first_audio is None:
                    record.tts_first_audio = utterance.audio.start
                scheduled = self.output.play(utterance)
                if record.first_audio_out is None:
                    record.first_audio_out = scheduled.start
                    self.emit(SessionEvent("speaking"))
                self.emit(SessionEvent("caption_patient", {"text": utterance.text}))
            last = self.output.schedule[-1].end if self.output.schedule else now()
            await asyncio.sleep(max(0.0, last - now()))  # the turn lasts while it plays
            finished = True
        finally:
            # The reply's thread must be done before the history is touched.
            await asyncio.shield(chunks.aclose())
            generated = " ".join(chunks.items)
            heard = generated if finished else self.output.heard_text()
            await asyncio.shield(
                asyncio.to_thread(self._save, heard, generated, finished, started, record)
            )
            self.emit(SessionEvent("latency", record.as_dict()))

    def _save(
        self, heard: str, generated: str, finished: bool, started: datetime, record: LatencyRecord
    ) -> None:
        reply = self.rehearsal.last_reply
        assert reply is not None
        start = record.reply_start or now()
        if reply.timings.first_token_s is not None:
            record.llm_first_token = start + reply.timings.first_token_s
        if reply.timings.first_clause_s is not None:
            record.first_clause = start + reply.timings.first_clause_s
        if finished:
            self.rehearsal.save_patient_turn(heard, started, {"latency": record.as_dict()})
            return
        self.rehearsal.conversation.interrupted(reply, heard)
        if record.first_audio_out is None:
            return  # the learner went on before the patient said a word: no patient turn
        extra = {"latency": record.as_dict(), "interrupted": {"generated": generated}}
        self.rehearsal.save_patient_turn(heard, started, extra)


class ThreadedIterator:
    """A blocking iterator (the patient's reply) run in a worker thread, its items read
    on the event loop, each followed by ``separator`` (reply chunks are clauses without
    the space between them). :meth:`aclose` stops it at the next item, closes the
    generator in its own thread and waits for the thread to finish."""

    def __init__(self, source: Iterator[str], separator: str = " ") -> None:
        self.items: list[str] = []  # as read, without the separator
        self._source = source
        self._separator = separator
        self._stop = threading.Event()
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._done = object()
        loop = asyncio.get_running_loop()
        self._worker = loop.run_in_executor(None, self._work, loop)

    def _work(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            for item in self._source:
                loop.call_soon_threadsafe(self._queue.put_nowait, item)
                if self._stop.is_set():
                    break
        except BaseException as e:  # handed to the loop and raised there
            loop.call_soon_threadsafe(self._queue.put_nowait, e)
        finally:
            close = getattr(self._source, "close", None)
            if close is not None:
                close()
            loop.call_soon_threadsafe(self._queue.put_nowait, self._done)

    def __aiter__(self) -> AsyncIterator[str]:
        return self._items()

    async def _items(self) -> AsyncIterator[str]:
        while (item := await self._queue.get()) is not self._done:
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, str)
            self.items.append(item)
            yield item + self._separator

    async def aclose(self) -> None:
        self._stop.set()
        await self._worker
