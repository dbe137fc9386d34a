"""The learner's side of the call: audio in; speech onsets, partial transcripts, turns,
backchannels and noise out.

Audio at any rate is brought to 16 kHz; Silero VAD and the :class:`Endpointer` find speech;
only speech (with a short pre-roll) reaches the recogniser, which is the first guard
against Whisper inventing words in silence. Partial transcripts are decoded in the
background while audio keeps flowing; at most one decode is in flight per session."""

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from enum import StrEnum

from simpatient.errors import BackendError
from simpatient.settings import ASRSettings, VADSettings
from simpatient.speech.asr import ASRBackend, Transcript, VocabularyHints
from simpatient.speech.audio import ASR_RATE, AudioChunk, ToRate
from simpatient.speech.recognizer import StreamingRecognizer
from simpatient.speech.turns import (
    Endpointer,
    ShortSpeech,
    TurnEvent,
    TurnEventKind,
    classify_short,
)
from simpatient.speech.vad import SileroVAD

logger = logging.getLogger(__name__)

#: A short (unconfirmed) segment recognised with less confidence than this is noise.
SHORT_MIN_CONFIDENCE = 0.4
#: Audio kept from before the onset: Silero reports speech a window or two after it began.
PRE_ROLL_S = 0.3


class ListenEventKind(StrEnum):
    speech_started = "speech_started"  # onset (maybe only a backchannel)
    speech_confirmed = "speech_confirmed"  # a real turn or interruption: barge-in acts here
    partial = "partial"  # a transcript of the speech so far
    turn = "turn"  # the learner's finished turn, with its final transcript
    backchannel = "backchannel"  # short acknowledgement: neither a turn nor an interruption
    noise = "noise"  # speech-like sound with no words in it


@dataclass(frozen=True, slots=True)
class ListenEvent:
    """What the listener heard. ``at`` is the clock time of the audio that decided it;
    ``onset`` and ``speech_end`` bound the speech segment (``speech_end`` is None until
    it ended); ``transcript`` comes with partial, turn, backchannel and noise."""

    kind: ListenEventKind
    at: float
    onset: float
    speech_end: float | None = None
    transcript: Transcript | None = None


class Listener:
    """Listens to one learner: one per session, with its own :class:`SileroVAD` (which
    holds the stream's state); the loaded ASR backend is shared by every session."""

    def __init__(
        self,
        asr: ASRBackend,
        vad: SileroVAD,
        vad_settings: VADSettings,
        asr_settings: ASRSettings,
        hints: VocabularyHints | None = None,
    ) -> None:
        self.endpointer = Endpointer(vad_settings, vad)
        self.recognizer = StreamingRecognizer(asr, asr_settings, hints)
        self._to_rate = ToRate(ASR_RATE)
        self._recent: deque[AudioChunk] = deque()
        self._partial: asyncio.Task[Transcript] | None = None
        self._pause_pending = False  # a pause came while a partial was in flight
        self._onset = 0.0

    @property
    def decoding(self) -> bool:
        """Whether a partial decode is in flight (a scheduler may hold other CPU work)."""
        return self._partial is not None and not self._partial.done()

    async def listen(self, audio: AsyncIterable[AudioChunk]) -> AsyncIterator[ListenEvent]:
        """Events for ``audio`` as it arrives; a segment still open when the audio ends is
        finished as if the silence window had passed."""
        async for chunk in audio:
            for event in await self.feed(chunk):
                yield event
        if self.endpointer.in_speech:
            confirmed = self.endpointer.confirmed
            for event in await self._end(self._onset, None, confirmed=confirmed):
                yield event

    async def feed(self, chunk: AudioChunk) -> list[ListenEvent]:
        """Process one chunk; the events it completed (a finished partial included).

        Raises :class:`BackendError` when the final decode of a turn fails (the session
        decides: ask the learner to repeat, or fall back to text)."""
        chunk = self._to_rate.push(chunk)
        events: list[ListenEvent] = []
        # Silero costs about 0.06 ms per 32 ms window here, less than a hop to a worker
        # thread; it runs inline. Decoding never does.
        was_speaking = self.endpointer.in_speech
        turn_events = self.endpointer.push(chunk)
        if was_speaking:
            self.recognizer.push(chunk)
        elif not self.endpointer.in_speech:
            self._remember(chunk)
        for te in turn_events:
            events.extend(await self._on_turn_event(te, chunk))
        events.extend(self._collect_partial())
        due = self._pause_pending or self.recognizer.partial_due
        if self.endpointer.in_speech and due and self._partial is None:
            self._start_partial()
        return events

    async def _on_turn_event(self, te: TurnEvent, chunk: AudioChunk) -> list[ListenEvent]:
        if te.kind is TurnEventKind.started:
            self._onset = te.onset
            self.recognizer.reset()
            for old in self._recent:
                if old.end > te.onset - PRE_ROLL_S:
                    self.recognizer.push(old)
            self._recent.clear()
            self.recognizer.push(chunk)
            return [ListenEvent(ListenEventKind.speech_started, te.at, te.onset)]
        if te.kind is TurnEventKind.confirmed:
            return [ListenEvent(ListenEventKind.speech_confirmed, te.at, te.onset)]
        if te.kind is TurnEventKind.paused:
            # The learner may have finished: decode now, inside the silence window, or as
            # soon as the decode in flight (of audio without the last words) is done.
            if self._partial is None:
                self._start_partial()
            else:
                self._pause_pending = True
            return []
        return await self._end(te.onset, te.speech_end, confirmed=te.confirmed, at=te.at)

    async def _end(
        self, onset: float, speech_end: float | None, *, confirmed: bool, at: float | None = None
    ) -> list[ListenEvent]:
        events = []
        if self._partial is not None:
            await asyncio.wait([self._partial])
            events.extend(self._collect_partial())
        self._pause_pending = False
        final = await self.recognizer.finish(speech_end)
        kind = ListenEventKind.turn
        if final.empty:
            kind = ListenEventKind.noise
        elif not confirmed and classify_short(final.text) is ShortSpeech.backchannel:
            kind = ListenEventKind.backchannel
        elif not confirmed and final.confidence < SHORT_MIN_CONFIDENCE:
            # A short sound Whisper was unsure of. Measured on synthetic voices: "mm-hm"
            # and "uh-huh" came out as "Emma Maycha.", "Emma.", "A five." at 0.27-0.31;
            # real short answers ("No.", "Yes.", "Okay.", "Sure.") at 0.51-0.80, though
            # one "Go on." scored 0.31 and is lost.
            kind = ListenEventKind.noise
        events.append(ListenEvent(kind, final.end if at is None else at, onset, speech_end, final))
        return events

    def _start_partial(self) -> None:
        self._pause_pending = False
        self._partial = asyncio.create_task(self.recognizer.partial())

    def _collect_partial(self) -> list[ListenEvent]:
        task = self._partial
        if task is None or not task.done():
            return []
        self._partial = None
        try:
            transcript = task.result()
        except BackendError as e:
            # A lost partial costs only freshness; the final decode will try again.
            logger.warning("partial transcript failed: %s", e)
            return []
        self.endpointer.set_transcript(transcript.text, transcript.end)
        if transcript.empty:
            return []
        return [ListenEvent(ListenEventKind.partial, transcript.end, self._onset, None, transcript)]

    def _remember(self, chunk: AudioChunk) -> None:
        self._recent.append(chunk)
        while self._recent and self._recent[0].end < chunk.end - PRE_ROLL_S - 0.1:
            self._recent.popleft()
