"""Conversation metrics computed without an LLM: counts and rules that are exact."""

import re
from dataclasses import dataclass, field
from typing import Any

from simpatient.evaluator.transcript import Transcript, Turn

OPEN_START = re.compile(
    r"^\s*(what|how|why|tell me|could you (tell|describe|say)|can you (tell|describe|say)"
    r"|would you (tell|describe|like to say)|walk me through|talk me through|help me understand"
    r"|describe|in what way)\b",
    re.IGNORECASE,
)
CLOSED_START = re.compile(
    r"^\s*(is|are|was|were|do|does|did|have|has|had|can|could|will|would|shall|should|any"
    r"|anything|so you|you)\b",
    re.IGNORECASE,
)
#: Terms a patient is unlikely to know; a learner who uses them without explaining them
#: is speaking jargon. A starting lexicon, to grow with the case library.
JARGON = re.compile(
    r"\b(metasta\w*|lesions?|neoplasm|malignan\w*|carcinoma|adenocarcinoma|oncolog\w*"
    r"|prognosis|palliat\w*|ejection fraction|nyha|diuretic|anticoagula\w*|haematoma|hematoma"
    r"|enoxaparin|heparin|thrombo\w*|haemoglobin|hemoglobin|hb|cea|ct|mri|biopsy|chemo\w*"
    r"|radiotherapy|myomectomy|transfusion|erythropoietin|hba1c|glycated|polyuria|polydipsia"
    r"|idiopathic|comorbid\w*|etiology|aetiology|titrat\w*|contraindicat\w*|dnr|dnacpr"
    r"|resuscitation|intubat\w*|sepsis|renal|hepatic|cardiac|pulmonary|asymptomatic)\b",
    re.IGNORECASE,
)
#: A patient turn at or above this emotional intensity is a cue the learner should meet.
CUE_INTENSITY = 0.6


@dataclass(frozen=True)
class Cue:
    turn: int  # the patient's turn that carried the emotion
    emotion: str
    intensity: float
    response_turn: int | None  # the learner's next turn


@dataclass
class Metrics:
    learner_turns: int = 0
    patient_turns: int = 0
    learner_word_share: float = 0.0
    words_per_learner_turn: float = 0.0
    open_questions: int = 0
    closed_questions: int = 0
    jargon: list[tuple[int, str]] = field(default_factory=list)  # (turn, term)
    cues: list[Cue] = field(default_factory=list)
    facts_unlocked: list[tuple[int, str]] = field(default_factory=list)  # (turn, fact id)
    facts_told: list[tuple[int, str]] = field(default_factory=list)
    first_news_turn: int | None = None  # learner turn that told the first unknown fact

    def as_dict(self) -> dict[str, Any]:
        return {
            "learner_turns": self.learner_turns,
            "patient_turns": self.patient_turns,
            "learner_word_share": round(self.learner_word_share, 3),
            "words_per_learner_turn": round(self.words_per_learner_turn, 1),
            "open_questions": self.open_questions,
            "closed_questions": self.closed_questions,
            "jargon": [{"turn": t, "term": w} for t, w in self.jargon],
            "emotional_cues": len(self.cues),
            "facts_unlocked": [{"turn": t, "fact": f} for t, f in self.facts_unlocked],
            "facts_told": [{"turn": t, "fact": f} for t, f in self.facts_told],
            "first_news_turn": self.first_news_turn,
        }


def question_kind(text: str) -> str | None:
    """'open', 'closed' or None for each question sentence's first words."""
    kinds = [
        "open" if OPEN_START.match(q) else "closed" if CLOSED_START.match(q) else None
        for q in re.findall(r"[^.!?]*\?", text)
    ]
    if "open" in kinds:
        return "open"
    return "closed" if "closed" in kinds else None


def compute(transcript: Transcript) -> Metrics:
    m = Metrics()
    learner = transcript.learner_turns
    patient = [t for t in transcript.turns if t.speaker == "patient"]
    m.learner_turns, m.patient_turns = len(learner), len(patient)
    learner_words = sum(len(t.text.split()) for t in learner)
    all_words = learner_words + sum(len(t.text.split()) for t in patient)
    m.learner_word_share = learner_words / all_words if all_words else 0.0
    m.words_per_learner_turn = learner_words / len(learner) if learner else 0.0
    for turn in learner:
        kind = question_kind(turn.text)
        m.open_questions += kind == "open"
        m.closed_questions += kind == "closed"
        m.jargon += [(turn.index, w.lower()) for w in JARGON.findall(turn.text)]
        appraisal = turn.state.get("appraisal", {})
        m.facts_unlocked += [(turn.index, f) for f in appraisal.get("unlocked_now", [])]
    m.cues = _cues(transcript.turns)
    m.facts_told, m.first_news_turn = _told(transcript.turns)
    return m


def _cues(turns: tuple[Turn, ...]) -> list[Cue]:
    """Patient turns where a strong emotion appears or grows: moments to respond to."""
    cues = []
    before: dict[str, Any] = {}
    for i, turn in enumerate(turns):
        state = turn.state.get("state", {})
        if turn.speaker != "patient" or not state:
            continue
        previous, before = before, state
        if state.get("intensity", 0) < CUE_INTENSITY:
            continue
        if state.get("emotion") in (None, "neutral", "relieved"):
            continue
        same = previous.get("emotion") == state.get("emotion")
        if same and state.get("intensity", 0) <= previous.get("intensity", 0):
            continue
        reply = next((t.index for t in turns[i + 1 :] if t.speaker == "learner"), None)
        cues.append(Cue(turn.index, state["emotion"], state["intensity"], reply))
    return cues


def _told(turns: tuple[Turn, ...]) -> tuple[list[tuple[int, str]], int | None]:
    """Facts the patient did not know that the learner told, by the learner turn before the
    patient state that first records them."""
    told: list[tuple[int, str]] = []
    seen: set[str] = set()
    last_learner: int | None = None
    for turn in turns:
        if turn.speaker == "learner":
            last_learner = turn.index
            continue
        for fact in turn.state.get("state", {}).get("told", []):
            if fact not in seen and last_learner is not None:
                seen.add(fact)
                told.append((last_learner, fact))
    return told, (told[0][0] if told else None)
