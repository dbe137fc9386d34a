"""Checks a patient reply must pass before it is spoken."""

import re
from dataclasses import dataclass

#: Phrases a clinician says and a patient does not: the model has slipped out of role.
CLINICIAN_PHRASES = re.compile(
    r"\b(as your (doctor|physician|nurse)|i('| a)m here to help you|how can i (help|assist) you"
    r"|our patient|i (would )?recommend|we('ll| will) start you on"
    r"|your (diagnosis|prognosis) is|i('d| would) like to examine|let me explain your)",
    re.IGNORECASE,
)
#: Words about the simulation itself, which the patient cannot know: the frame is broken.
META = re.compile(
    r"\b(system prompt|(my|the|your) instructions|as an ai|an ai\b|language model|chatbot"
    r"|case file|simulation|role[- ]?play|in character|rubric|json|icd)",
    re.IGNORECASE,
)
MARKUP = re.compile(r"[*#`|{}<>\[\]]|^\s*[-•]\s|\n\s*\d+\.\s", re.MULTILINE)
MAX_WORDS = 70
#: A chunk this long found word for word in the learner's line is an echo, not an answer.
ECHO_WORDS = 6


@dataclass(frozen=True, slots=True)
class ReplyCheck:
    ok: bool
    problems: tuple[str, ...]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def check_reply(reply: str, learner_label: str, learner_text: str = "") -> ReplyCheck:
    """Check ``reply`` against the patient's role; ``learner_text`` is the line it answers."""
    problems = []
    words = reply.split()
    if not words:
        problems.append("empty")
    if len(words) > MAX_WORDS:
        problems.append(f"too long ({len(words)} words)")
    if match := CLINICIAN_PHRASES.search(reply):
        problems.append(f"speaks as the clinician ('{match.group(0)}')")
    if re.match(rf"\s*{re.escape(learner_label)}\b\s*(says)?\s*:", reply, re.IGNORECASE):
        problems.append("speaks in the learner's voice")
    if match := META.search(reply):
        problems.append(f"breaks the frame ('{match.group(0)}')")
    said, answer = " ".join(_words(learner_text)), " ".join(_words(reply))
    if (len(said.split()) >= 4 and said in answer) or (
        len(answer.split()) >= ECHO_WORDS and answer in said
    ):
        problems.append("repeats the learner's line")
    if MARKUP.search(reply):
        problems.append("contains markup")
    return ReplyCheck(not problems, tuple(problems))
