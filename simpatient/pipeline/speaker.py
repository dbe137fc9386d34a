"""Where the patient's voice goes, and what of it was heard.

A :class:`SpeechOutput` plays utterances one after another in real time. The turn
orchestration asks it when the first sample of a reply went out (the latency record's
"first audio out") and how much was played before a barge-in (what the learner heard).
The call implements it on the WebRTC audio track; :class:`RealtimeSpeaker` implements it
on the clock alone, for the in-process benchmark and tests."""

from abc import ABC, abstractmethod
from dataclasses import dataclass

from simpatient.speech.audio import now
from simpatient.speech.tts import Utterance


@dataclass(frozen=True, slots=True)
class Scheduled:
    utterance: Utterance
    start: float  # clock time its first sample is (or was) played

    @property
    def end(self) -> float:
        return self.start + self.utterance.audio.duration


class SpeechOutput(ABC):
    """Plays a reply's utterances back to back, in real time."""

    #: Seconds between a sample being handed over and it being heard (jitter buffers).
    output_delay_s: float = 0.0

    def __init__(self) -> None:
        self.schedule: list[Scheduled] = []
        self.stopped_at: float | None = None

    def begin_reply(self) -> None:
        """Forget the previous reply's schedule (its audio has played or been stopped)."""
        self.schedule, self.stopped_at = [], None

    def play(self, utterance: Utterance) -> Scheduled:
        """Queue ``utterance`` after whatever is still playing."""
        at = now()
        start = max(at, self.schedule[-1].end) if self.schedule else at
        scheduled = Scheduled(utterance, start + self.output_delay_s)
        self.schedule.append(scheduled)
        self._emit(scheduled)
        return scheduled

    def stop(self) -> float:
        """Stop at once (barge-in): drop what has not played; the clock time it stopped."""
        self._silence()
        self.stopped_at = now()
        return self.stopped_at

    @property
    def speaking(self) -> bool:
        return self.stopped_at is None and bool(self.schedule) and now() < self.schedule[-1].end

    @property
    def first_out_at(self) -> float | None:
        return self.schedule[0].start if self.schedule else None

    def heard_text(self) -> str:
        """The words of this reply played so far; a word counts once half of its share of
        the utterance's time has played (words are spread evenly: close enough for the
        history, which only needs to know where the learner cut in)."""
        at, words = min(now(), self.stopped_at or float("inf")), []
        for s in self.schedule:
            played = min(max(at - s.start, 0.0), s.utterance.audio.duration)
            said = s.utterance.text.split()
            if not said or s.utterance.audio.duration <= 0:
                continue
            count = int(played / s.utterance.audio.duration * len(said) + 0.5)
            words.extend(said[:count])
        return " ".join(words)

    @abstractmethod
    def _emit(self, scheduled: Scheduled) -> None:
        """Hand the audio to the device or track."""

    @abstractmethod
    def _silence(self) -> None:
        """Drop everything not yet played."""


class RealtimeSpeaker(SpeechOutput):
    """A speaker with nothing behind it: the schedule on the clock is the playback. What
    the benchmark and the tests use in place of a browser."""

    def _emit(self, scheduled: Scheduled) -> None:
        """Nothing to hand over: playing is the passing of time."""

    def _silence(self) -> None:
        """Nothing to drop beyond the schedule."""
