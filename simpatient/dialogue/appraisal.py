"""Appraisal: what a learner's turn does to the patient, decided before the patient answers.

Two kinds of judgement, each where it is reliable:

- *Similarity* to what the educator wrote: a trigger fires, or a guarded fact unlocks,
  when the learner's words are close in meaning to one of its example phrasings (or the
  unlock condition itself), by sentence embeddings (all-MiniLM-L6-v2) or by word overlap
  (a hashed bag of words), whichever is surer.
- *Rules* where rules are exact: attempts to break the frame ("ignore your instructions",
  "you are an AI") and abuse.

It costs one embedding of the learner's turn (milliseconds); the examples are embedded once
per session.
"""

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from simpatient.content.scenario import Emotion, Scenario, TriggerEffect, Visibility
from simpatient.dialogue.encoders import Embedded, Encoder, PhraseMatcher
from simpatient.dialogue.state import PatientState

FRAME_BREAK = re.compile(
    r"\b(ignore (all |your |the |any )?(previous |prior )?(instructions|prompts?|rules)"
    r"|system prompt|your (instructions|prompt|programming|rules)|(you are|you're) (an? )?"
    r"(ai|bot|chatbot|language model|llm|simulation|program)|developer mode|jailbreak"
    r"|case (file|notes)|rubric|(diagnosis|icd)[- ]?(code|10)|stay in character"
    r"|break character|role ?play|pretend (you are|to be|you're)|as an ai)\b",
    re.IGNORECASE,
)
ABUSE = re.compile(
    r"\b(shut up|stupid|idiot|moron|dumb|f+u+c+k\w*|shit\w*|damn it|bloody|bitch|crap"
    r"|pathetic|waste of (my )?time|hurry up|get on with it|whatever)\b",
    re.IGNORECASE,
)
ABUSE_EFFECT = TriggerEffect(emotion=Emotion.angry, intensity=0.25, trust=-0.25)
#: A turn matches a trigger's or an unlock's examples when its embedding similarity or its
#: word overlap with one of them reaches these. Chosen on the benchmark's scripted turns
#: (paraphrased unlocks against near misses): either signal alone did worse than both.
MATCH_THRESHOLD = 0.62
LEXICAL_MATCH_THRESHOLD = 0.18
#: ... at which the learner has told the patient a fact the patient did not know.
TOLD_THRESHOLD = 0.55
#: ... at which a sentence of the patient's puts a fact into words.
DISCLOSED_THRESHOLD = 0.55
#: ... at which a sentence says something the patient cannot know yet: a leak.
LEAK_THRESHOLD = 0.7


@dataclass(frozen=True, slots=True)
class Appraisal:
    state: PatientState  # after this turn
    fired: tuple[str, ...] = ()  # trigger ids
    unlocked_now: tuple[str, ...] = ()  # guarded fact ids unlocked by this turn
    frame_break: bool = False
    abuse: bool = False
    seconds: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)  # best embedding similarity per id

    def as_dict(self) -> dict[str, object]:
        return {
            "fired": list(self.fired),
            "unlocked_now": list(self.unlocked_now),
            "frame_break": self.frame_break,
            "abuse": self.abuse,
            "seconds": round(self.seconds, 4),
            "scores": {k: round(v, 3) for k, v in self.scores.items()},
        }


class Appraiser:
    def __init__(self, scenario: Scenario, encoder: Encoder) -> None:
        self.scenario = scenario
        self.encoder = encoder
        self._matcher = PhraseMatcher(encoder)
        self._triggers = [
            (t.id, t.effect, self._examples([t.when, *t.examples]))
            for t in scenario.emotional.triggers
        ]
        self._facts = {f.id: self._embed([f.statement])[0] for f in scenario.facts}
        self._unknown = [f.id for f in scenario.facts if f.visibility is Visibility.unknown]
        self._unlocks = [
            (f.id, self._examples([f.unlock.condition, *f.unlock.example_phrases]))
            for f in scenario.facts
            if f.visibility is Visibility.guarded and f.unlock is not None
        ]

    def appraise(self, state: PatientState, text: str) -> Appraisal:
        start = time.perf_counter()
        if not text.strip():
            return Appraisal(state, seconds=time.perf_counter() - start)
        said = self._matcher.embed([text])
        scores: dict[str, float] = {}
        fired = []
        for trigger_id, effect, examples in self._triggers:
            scores[trigger_id], matched = self._match(examples, said)
            if matched:
                fired.append(trigger_id)
                state = state.apply(effect)
        unlocked = []
        for fact_id, examples in self._unlocks:
            scores[fact_id], matched = self._match(examples, said)
            if matched and fact_id not in state.unlocked:
                unlocked.append(fact_id)
        told = [
            fact_id
            for fact_id in self._unknown
            if fact_id not in state.told
            and float(self._facts[fact_id] @ said.semantic[0]) >= TOLD_THRESHOLD
        ]
        if unlocked or told:
            state = replace(
                state, unlocked=state.unlocked | set(unlocked), told=state.told | set(told)
            )
        abuse = ABUSE.search(text) is not None
        if abuse:
            state = state.apply(ABUSE_EFFECT)
        return Appraisal(
            state=state,
            fired=tuple(fired),
            unlocked_now=tuple(unlocked),
            frame_break=FRAME_BREAK.search(text) is not None,
            abuse=abuse,
            seconds=time.perf_counter() - start,
            scores=scores,
        )

    def locked(self, state: PatientState) -> list[str]:
        """Facts the patient cannot speak of yet: guarded and not earned, or unknown to
        the patient and not told."""
        return [
            f.id
            for f in self.scenario.facts
            if (f.visibility is Visibility.guarded and f.id not in state.unlocked)
            or (f.visibility is Visibility.unknown and f.id not in state.told)
        ]

    def closest_facts(self, text: str, fact_ids: Sequence[str]) -> dict[str, float]:
        """Similarity of ``text`` to each fact's statement."""
        if not fact_ids:
            return {}
        said = self.encoder.encode([text])[0]
        return {fact_id: float(self._facts[fact_id] @ said) for fact_id in fact_ids}

    def _embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return self.encoder.encode(texts)

    def _examples(self, texts: list[str]) -> Embedded:
        return self._matcher.embed(texts)

    def _match(self, examples: Embedded, said: Embedded) -> tuple[float, bool]:
        best = self._matcher.best(examples, said)
        return best.semantic, (
            best.semantic >= MATCH_THRESHOLD or best.lexical >= LEXICAL_MATCH_THRESHOLD
        )
