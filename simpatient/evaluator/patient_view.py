"""The patient's-eye view: how the simulated patient would rate the clinician, in the spirit
of the CARE measure (patient-rated empathy; Mercer et al. 2004), in our own words.

The persona "fills it in" from what the session recorded about them, not from a language
model: each answer is a rule over the patient-state trace and the conversation metrics,
and says what it was based on, so a learner can see why the patient felt that way.
Answers run from 1 (poor) to 5 (excellent); an item with nothing to go on is left blank.
"""

from dataclasses import dataclass
from statistics import mean

from simpatient.evaluator.metrics import Metrics
from simpatient.evaluator.transcript import Transcript

SCALE = ("poor", "fair", "good", "very good", "excellent")


@dataclass(frozen=True)
class Answer:
    question: str  # as the patient would be asked it
    rating: int | None  # 1-5, None when the session gives nothing to rate it by
    basis: str  # what the rating was derived from, for the learner

    @property
    def label(self) -> str:
        return SCALE[self.rating - 1] if self.rating else "no answer"


@dataclass(frozen=True)
class PatientView:
    answers: tuple[Answer, ...]
    comment: str  # one sentence in the patient's voice about the weakest answer

    @property
    def mean(self) -> float | None:
        rated = [a.rating for a in self.answers if a.rating]
        return round(mean(rated), 1) if rated else None


def _rating(fraction: float) -> int:
    """0-1 onto 1-5."""
    return 1 + round(4 * min(1.0, max(0.0, fraction)))


def rate(transcript: Transcript, metrics: Metrics) -> PatientView:
    states = [
        t.state["state"] for t in transcript.turns if t.speaker == "patient" and "state" in t.state
    ]
    answers = (
        _at_ease(states),
        _room_to_talk(metrics),
        _noticed_feelings(transcript, metrics),
        _explained(states, metrics),
    )
    return PatientView(answers, _comment(answers))


def _at_ease(states: list[dict[str, float]]) -> Answer:
    question = "How well did they put you at ease?"
    if not states:
        return Answer(question, None, "no patient state was recorded")
    trust = mean(s["trust"] for s in states)
    return Answer(question, _rating(trust), f"the patient's trust averaged {trust:.0%}")


def _room_to_talk(metrics: Metrics) -> Answer:
    question = "How well did they let you say what was on your mind?"
    if not metrics.learner_turns:
        return Answer(question, None, "the clinician did not speak")
    # The patient had room when the clinician spoke less than half the words and asked
    # open questions; each counts for half.
    share = 1.0 - min(1.0, max(0.0, (metrics.learner_word_share - 0.4) / 0.4))
    asked = metrics.open_questions + metrics.closed_questions
    openness = metrics.open_questions / asked if asked else 0.0
    basis = (
        f"the clinician spoke {metrics.learner_word_share:.0%} of the words; "
        f"{metrics.open_questions} of {asked} questions were open"
    )
    return Answer(question, _rating((share + openness) / 2), basis)


def _noticed_feelings(transcript: Transcript, metrics: Metrics) -> Answer:
    question = "How well did they notice how you were feeling?"
    answered = [c for c in metrics.cues if c.response_turn is not None]
    if not answered:
        return Answer(question, None, "the patient showed no strong emotion to respond to")
    by_index = {t.index: t for t in transcript.turns}
    # A reply that names or asks about the feeling (tier 1 of the NURSE items does the
    # fine-grained version; here the patient only feels whether it was acknowledged).
    acknowledged = sum(
        _acknowledges(by_index[c.response_turn].text)
        for c in answered
        if c.response_turn in by_index
    )
    return Answer(
        question,
        _rating(acknowledged / len(answered)),
        f"{acknowledged} of {len(answered)} strong emotions were acknowledged in the reply",
    )


_FEELING_WORDS = (
    "feel",
    "feeling",
    "upset",
    "worried",
    "scared",
    "frightening",
    "shock",
    "hard",
    "difficult",
    "sorry",
    "understand",
    "take your time",
    "angry",
    "sad",
)


def _acknowledges(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in _FEELING_WORDS)


def _explained(states: list[dict[str, float]], metrics: Metrics) -> Answer:
    question = "How well did they explain things so you understood?"
    if len(states) < 2:
        return Answer(question, None, "too few patient turns to see understanding change")
    gain = states[-1]["understanding"] - states[0]["understanding"]
    penalty = min(0.5, 0.1 * len(metrics.jargon))
    basis = f"understanding moved by {gain:+.0%}; {len(metrics.jargon)} unexplained medical terms"
    return Answer(question, _rating(0.5 + gain - penalty), basis)


_COMMENTS = {
    "How well did they put you at ease?": "I never really felt comfortable enough to open up.",
    "How well did they let you say what was on your mind?": (
        "I wish I'd had more of a chance to say what was worrying me."
    ),
    "How well did they notice how you were feeling?": (
        "When I got upset, it felt like nobody noticed."
    ),
    "How well did they explain things so you understood?": (
        "I'm still not sure I understood what they were telling me."
    ),
}


def _comment(answers: tuple[Answer, ...]) -> str:
    rated = [a for a in answers if a.rating]
    if not rated:
        return "There wasn't enough of a conversation for me to say."
    weakest = min(rated, key=lambda a: a.rating or 0)
    if (weakest.rating or 0) >= 4:
        return "I felt listened to, and I understood what was happening."
    return _COMMENTS[weakest.question]
