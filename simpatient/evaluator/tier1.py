"""Tier 1: rubric scores without a large LLM, from what the learner actually said.

Each learner sentence is compared with each rubric item's exemplar phrasings (and its
counter-exemplars) by meaning and by word overlap. A sentence closer to the exemplars than
to the counter-exemplars, past a threshold, is evidence that the behaviour was shown; the
item's 0-2 score counts that evidence. A leading tag question ("You don't smoke, do you?") is
never evidence. Every piece of evidence is a sentence quoted from the transcript, with its
turn and time.
"""

import re
from dataclasses import dataclass, field

from simpatient.content import Rubric
from simpatient.content.rubric import RubricItem
from simpatient.dialogue.encoders import PhraseMatcher
from simpatient.evaluator.transcript import Transcript

#: A sentence shows an item's behaviour at these similarities (meaning / word overlap)...
SHOWS_SEMANTIC = 0.55
SHOWS_LEXICAL = 0.25
#: ... and shows it clearly at this one.
STRONG_SEMANTIC = 0.65
#: A statement with a tag ("You don't smoke, do you?") leads the patient to the answer, so
#: it never shows a behaviour, however close its words are to an exemplar.
LEADING_TAG = re.compile(
    r",\s*(do|does|did|are|is|was|were|have|has|had|can|could|will|would|should)(n't)?"
    r"\s+(you|i|we|it|they|he|she)\?\s*$",
    re.IGNORECASE,
)
MAX_SCORE = 2
MAX_EVIDENCE = 3


@dataclass(frozen=True)
class Evidence:
    turn: int
    quote: str
    start_s: float | None
    strength: float  # similarity to the closest exemplar


@dataclass
class ItemResult:
    rubric: str
    item: str
    title: str
    tier: int
    score: int | None  # None: not scored (judge error, or nothing to score it with)
    status: str  # scored | judge_error | not_assessable
    evidence: list[Evidence] = field(default_factory=list)
    rationale: str = ""
    suggestion: str = ""
    tier1_score: int | None = None  # for tier-2 items: what tier 1 gave, to show disagreement


def sentences_of(transcript: Transcript) -> list[tuple[int, str]]:
    """Every learner sentence with its turn index, as written in the transcript."""
    found = []
    for turn in transcript.learner_turns:
        for sentence in re.split(r"(?<=[.!?])\s+", turn.text.strip()):
            if len(sentence.split()) >= 2:
                found.append((turn.index, sentence))
    return found


def score(
    transcript: Transcript, rubrics: list[Rubric], matcher: PhraseMatcher
) -> list[ItemResult]:
    spoken = sentences_of(transcript)
    said = matcher.embed([s for _, s in spoken]) if spoken else None
    starts = {t.index: t.start_s for t in transcript.turns}
    results = []
    for rubric in rubrics:
        for item in rubric.items:
            if not item.exemplars:
                results.append(
                    ItemResult(
                        rubric.id,
                        item.id,
                        item.title,
                        1,
                        None,
                        "not_assessable",
                        rationale="the rubric gives no exemplar phrasings",
                    )
                )
                continue
            examples = matcher.embed(list(item.exemplars))
            counters = matcher.embed(list(item.counter_exemplars))
            shown: list[Evidence] = []
            failed: list[Evidence] = []  # sentences closer to the counter-exemplars
            for row, (turn, sentence) in enumerate(spoken):
                assert said is not None
                best = matcher.best(examples, said, row)
                against = matcher.best(counters, said, row)
                if best.semantic > against.semantic:
                    if LEADING_TAG.search(sentence):
                        continue
                    closer, to = shown, best
                else:
                    closer, to = failed, against
                if to.semantic >= SHOWS_SEMANTIC or to.lexical >= SHOWS_LEXICAL:
                    closer.append(Evidence(turn, sentence, starts.get(turn), to.semantic))
            if item.evidence_required:
                results.append(_result(rubric, item, shown))
            else:
                results.append(_result_by_absence(rubric, item, failed))
    return results


def _result_by_absence(rubric: Rubric, item: RubricItem, failed: list[Evidence]) -> ItemResult:
    """An item done by *not* doing something (e.g. not blocking emotion): full marks unless
    sentences like its counter-exemplars were said; those are quoted."""
    points = max(0, MAX_SCORE - len(failed))
    rationale = (
        f"{len(failed)} moment(s) went against it"
        if failed
        else "nothing in the conversation went against it"
    )
    return _scored(rubric, item, points, rationale, failed)


def _result(rubric: Rubric, item: RubricItem, shown: list[Evidence]) -> ItemResult:
    strong = [e for e in shown if e.strength >= STRONG_SEMANTIC]
    points = MAX_SCORE if strong or len(shown) >= 2 else len(shown)
    if points == MAX_SCORE:
        rationale = f"shown in {len(shown)} moment(s)"
    elif points:
        rationale = "shown once, not clearly"
    else:
        rationale = "no moment in the conversation shows it"
    return _scored(rubric, item, points, rationale, shown)


def _scored(
    rubric: Rubric, item: RubricItem, points: int, rationale: str, evidence: list[Evidence]
) -> ItemResult:
    """The item's result: the anchor for its level, a suggestion below full marks, and its
    strongest evidence."""
    if item.anchors is not None:
        anchors = item.anchors
        rationale += f": {[anchors.not_done, anchors.partly, anchors.done][points]}"
    suggestion = "" if points == MAX_SCORE else f"Try, for example: “{item.exemplars[0]}”"
    strongest = sorted(evidence, key=lambda e: -e.strength)[:MAX_EVIDENCE]
    return ItemResult(
        rubric.id, item.id, item.title, 1, points, "scored", strongest, rationale, suggestion
    )
