"""Transcripts the evaluator reads: from the session store, or from files faculty have.

Accepted files: JSON (a list of ``{"speaker": ..., "text": ...}`` objects, optionally with
``start``/``end`` seconds, or an object with such a list under ``"turns"``), or plain text
with one turn per line, each starting with a speaker label (``Doctor:``, ``Patient:``...).
"""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simpatient.errors import SimPatientError
from simpatient.store import SessionRecord

#: Labels that name the clinician; any other label (Patient, a name) is the patient.
LEARNER_LABELS = {
    "doctor",
    "dr",
    "clinician",
    "learner",
    "student",
    "physician",
    "nurse",
    "resident",
    "you",
    "d",
    "user",
}
FORMATS = (
    'JSON: [{"speaker": "doctor", "text": "..."}, ...], or plain text lines such as '
    '"Doctor: ..." and "Patient: ..."'
)
_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z .]{0,30}?)\s*:\s*(.+)$")


class TranscriptError(SimPatientError):
    """A transcript that cannot be read."""


@dataclass(frozen=True, slots=True)
class Turn:
    index: int
    speaker: str  # learner | patient
    text: str
    start_s: float | None = None  # seconds from the start of the session
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Transcript:
    turns: tuple[Turn, ...]
    scenario_id: str | None = None
    source: str = ""

    @property
    def learner_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.speaker == "learner"]

    def contains(self, turn_index: int, quote: str) -> bool:
        """Whether ``quote`` appears word for word in the given turn."""
        return 0 <= turn_index < len(self.turns) and _norm(quote) in _norm(
            self.turns[turn_index].text
        )


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def from_session(record: SessionRecord) -> Transcript:
    start = record.started_at
    turns = tuple(
        Turn(t.index, t.speaker, t.text, (t.started_at - start).total_seconds(), t.state)
        for t in record.turns
    )
    return Transcript(turns, record.scenario_id, f"session {record.id}")


def from_file(path: Path) -> Transcript:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise TranscriptError(f"cannot read {path}: {e}") from e
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return _from_json(path, text)
    turns: list[Turn] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        speaker = _speaker(match.group(1)) if match else None
        if match is None or speaker is None:
            raise TranscriptError(
                f"{path}:{number}: cannot tell who speaks in {line.strip()[:60]!r}; "
                f"expected {FORMATS}"
            )
        turns.append(Turn(len(turns), speaker, match.group(2).strip()))
    if not turns:
        raise TranscriptError(f"{path} has no turns; expected {FORMATS}")
    return Transcript(tuple(turns), source=str(path))


def _from_json(path: Path, text: str) -> Transcript:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise TranscriptError(
            f"{path}:{e.lineno}: invalid JSON ({e.msg}); expected {FORMATS}"
        ) from None
    items = data.get("turns") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise TranscriptError(f"{path}: no list of turns; expected {FORMATS}")
    turns: list[Turn] = []
    for i, item in enumerate(items):
        speaker = _speaker(str(item.get("speaker", ""))) if isinstance(item, dict) else None
        if speaker is None or not isinstance(item.get("text"), str):
            raise TranscriptError(
                f"{path}: turn {i} needs a 'speaker' (doctor/patient) and a 'text'; "
                f"expected {FORMATS}"
            )
        start = item.get("start")
        turns.append(
            Turn(i, speaker, item["text"], float(start) if isinstance(start, int | float) else None)
        )
    scenario = data.get("scenario") if isinstance(data, dict) else None
    return Transcript(tuple(turns), scenario if isinstance(scenario, str) else None, str(path))


def _speaker(label: str) -> str | None:
    words = label.strip().lower().split()
    if not words:
        return None
    return "learner" if words[0].rstrip(".") in LEARNER_LABELS else "patient"
