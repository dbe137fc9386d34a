"""Turn-taking: from speech probabilities to "the learner started / really is speaking /
paused / has finished".

The :class:`Endpointer` is acoustic and synchronous; it knows the transcript only through
:meth:`Endpointer.set_transcript`, which lets a complete thought end the turn after a
shorter silence. Whether a short stretch of speech was a backchannel ("mm-hm"), noise or
a short answer ("No.") needs its words: :func:`classify_short` decides once the
recogniser has them."""

import logging
import re
from dataclasses import dataclass
from enum import StrEnum

from simpatient.settings import VADSettings
from simpatient.speech.audio import AudioChunk
from simpatient.speech.vad import WINDOW_S, SileroVAD, VADFrame

logger = logging.getLogger(__name__)


class TurnEventKind(StrEnum):
    started = "started"  # voiced audio past min_speech_ms: onset known, maybe a backchannel
    confirmed = "confirmed"  # speech past confirm_ms: a real turn or interruption
    paused = "paused"  # pause_ms of silence: a good moment to refresh the transcript
    ended = "ended"  # the silence window passed: the speech segment is over


@dataclass(frozen=True, slots=True)
class TurnEvent:
    """A turn-taking decision. Times are on the pipeline clock: ``at`` is the end of the
    audio window that decided it (the decision cannot be earlier), ``onset`` the first
    voiced window of the segment, ``speech_end`` the end of its last voiced window."""

    kind: TurnEventKind
    at: float
    onset: float
    speech_end: float
    voiced_s: float
    confirmed: bool


class Endpointer:
    """Finds speech segments in one stream of VAD frames (one per session).

    Speech needs ``min_speech_ms`` of windows at or above ``threshold`` to start (shorter
    blips are clicks), and is *confirmed* after ``confirm_ms`` of voiced windows: what a
    barge-in waits for, so an "mm-hm" under it never stops the patient. A segment ends
    after ``silence_ms`` below ``neg_threshold``, or ``complete_silence_ms`` when the
    transcript of everything up to the last voiced window reads as a complete thought."""

    def __init__(self, settings: VADSettings, vad: SileroVAD | None = None) -> None:
        self.settings = settings
        self.vad = vad
        self._candidate: float | None = None  # onset of the segment being tracked
        self._started = self._confirmed = self._paused = False
        self._voiced_s = self._gap_s = self._speech_end = 0.0
        self._transcript, self._transcript_until = "", 0.0

    @property
    def in_speech(self) -> bool:
        """Whether a speech segment has started and not yet ended."""
        return self._started

    @property
    def confirmed(self) -> bool:
        """Whether the current speech segment has passed ``confirm_ms``."""
        return self._confirmed

    def push(self, chunk: AudioChunk) -> list[TurnEvent]:
        """Run the VAD over ``chunk`` and return the events it caused."""
        if self.vad is None:
            raise RuntimeError("this Endpointer has no VAD: feed it frames with update()")
        return [e for frame in self.vad.process(chunk) if (e := self.update(frame))]

    def set_transcript(self, text: str, covers_until: float) -> None:
        """The latest transcript of the current segment and the clock time its audio ends."""
        self._transcript, self._transcript_until = text, covers_until

    def update(self, frame: VADFrame) -> TurnEvent | None:
        """Advance by one VAD window; at most one event per window."""
        s = self.settings
        voiced = frame.probability >= s.threshold
        silent = frame.probability < s.neg_threshold
        if not self._started:
            return self._await_onset(frame, voiced)
        if voiced or (not silent and abs(self._speech_end - frame.start) < 1e-6):
            # Between the thresholds, speech continues only if it never stopped (hysteresis).
            self._speech_end = frame.end
            self._paused = False
            if voiced:
                self._voiced_s += WINDOW_S
            if not self._confirmed and self._voiced_s >= s.confirm_ms / 1000 - 1e-9:
                self._confirmed = True
                return self._event(TurnEventKind.confirmed, frame.end)
            return None
        silence = frame.end - self._speech_end
        if silence >= self._silence_window() - 1e-9:
            event = self._event(TurnEventKind.ended, frame.end)
            self._reset_segment()
            return event
        if not self._paused and silence >= s.pause_ms / 1000 - 1e-9:
            self._paused = True
            return self._event(TurnEventKind.paused, frame.end)
        return None

    def _await_onset(self, frame: VADFrame, voiced: bool) -> TurnEvent | None:
        if voiced:
            if self._candidate is None:
                self._candidate = frame.start
            self._voiced_s += WINDOW_S
            self._speech_end = frame.end
            self._gap_s = 0.0
            if self._voiced_s >= self.settings.min_speech_ms / 1000 - 1e-9:
                self._started = True
                return self._event(TurnEventKind.started, frame.end)
        elif self._candidate is not None:
            # Voiced windows must come close together to count as one onset.
            self._gap_s += WINDOW_S
            if self._gap_s >= self.settings.min_speech_ms / 1000 - 1e-9:
                self._reset_segment()
        return None

    def _silence_window(self) -> float:
        s = self.settings
        covered = self._transcript_until >= self._speech_end - WINDOW_S
        if covered and is_complete_thought(self._transcript):
            return s.complete_silence_ms / 1000
        return s.silence_ms / 1000

    def _event(self, kind: TurnEventKind, at: float) -> TurnEvent:
        assert self._candidate is not None
        return TurnEvent(
            kind, at, self._candidate, self._speech_end, self._voiced_s, self._confirmed
        )

    def _reset_segment(self) -> None:
        self._started = self._confirmed = self._paused = False
        self._candidate = None
        self._voiced_s = self._gap_s = self._speech_end = 0.0
        self._transcript, self._transcript_until = "", 0.0


class ShortSpeech(StrEnum):
    """What an unconfirmed (short) speech segment was, judged from its words."""

    noise = "noise"  # no words survived the recogniser's guards
    backchannel = "backchannel"  # "mm-hm", "okay", "yeah": neither a turn nor an interruption
    turn = "turn"  # a short answer ("No.", "Tuesday.") that the patient should hear


#: Listener responses that carry no content of their own (after :func:`_words`: lowercase,
#: no punctuation, hyphens removed, repeats collapsed).
BACKCHANNELS = frozenset(
    {
        "mm", "mmm", "hm", "hmm", "mhm", "mmhm", "mmhmm", "uhhuh", "uhhum", "uh", "um",
        "ok", "okay", "yeah", "yep", "yup", "right", "sure", "alright", "all right",
        "i see", "oh", "ah", "aha", "oh okay", "okay yeah", "yeah okay", "oh right",
        "got it", "right okay", "okay right", "oh i see", "yeah right",
    }
)  # fmt: skip

#: Words a finished thought rarely ends on; Whisper puts a full stop after whatever it
#: heard, so the punctuation alone would end turns mid-sentence.
_DANGLING = frozenset(
    {
        "and", "but", "so", "or", "because", "the", "a", "an", "to", "of", "with", "for",
        "um", "uh", "that", "if", "my", "your", "our", "is", "was", "i", "i'm", "it's",
        "then", "than", "like", "when", "which", "who", "what",
    }
)  # fmt: skip


def _words(text: str) -> list[str]:
    cleaned = re.sub(r"[^\w\s']", " ", text.lower().replace("-", ""))
    words: list[str] = []
    for w in cleaned.split():
        if not words or words[-1] != w:
            words.append(w)
    return words


def is_backchannel(text: str) -> bool:
    """Whether ``text`` is only a listener's acknowledgement ("Mm-hmm.", "Okay, okay.")."""
    words = _words(text)
    return bool(words) and " ".join(words) in BACKCHANNELS


def is_complete_thought(text: str) -> bool:
    """Whether ``text`` ends like a finished sentence (not on "and", "because", "um")."""
    stripped = text.strip()
    words = _words(stripped)
    return bool(words) and stripped[-1] in ".?!" and words[-1] not in _DANGLING


def classify_short(text: str) -> ShortSpeech:
    """What an unconfirmed speech segment was, from its final transcript."""
    if not _words(text):
        return ShortSpeech.noise
    return ShortSpeech.backchannel if is_backchannel(text) else ShortSpeech.turn
