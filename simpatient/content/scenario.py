"""Scenario: a persona in a clinical situation at a stage of care."""

from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from simpatient.content.base import CaseModel, Level, Slug, Text


class ConversationType(StrEnum):
    breaking_bad_news = "breaking_bad_news"
    goals_of_care = "goals_of_care"
    end_of_life = "end_of_life"
    error_disclosure = "error_disclosure"
    history_taking = "history_taking"
    other = "other"


class Visibility(StrEnum):
    known = "known"  # the patient knows it and shares it openly
    guarded = "guarded"  # the patient knows it but says it only once the learner earns it
    unknown = "unknown"  # the patient does not know it; never in the patient's prompt


class Emotion(StrEnum):
    """The patient's emotion labels; the avatar has an expression for each."""

    neutral = "neutral"
    anxious = "anxious"
    sad = "sad"
    tearful = "tearful"
    angry = "angry"
    relieved = "relieved"
    confused = "confused"
    shocked = "shocked"


class Unlock(CaseModel):
    condition: Text
    example_phrases: list[Text] = Field(default_factory=list)


class Fact(CaseModel):
    id: Slug
    statement: Text
    visibility: Visibility
    unlock: Unlock | None = None

    @model_validator(mode="after")
    def _unlock_only_when_guarded(self) -> "Fact":
        if self.unlock is not None and self.visibility is not Visibility.guarded:
            raise ValueError("only a guarded fact has an unlock condition")
        return self


class Understanding(CaseModel):
    believes: Text
    expects: Text
    hopes: Text | None = None
    fears: Text | None = None


class EmotionLevel(CaseModel):
    label: Emotion
    intensity: Level


class TriggerEffect(CaseModel):
    emotion: Emotion | None = None
    intensity: float = Field(default=0.0, ge=-1.0, le=1.0)
    trust: float = Field(default=0.0, ge=-1.0, le=1.0)
    understanding: float = Field(default=0.0, ge=-1.0, le=1.0)


class Trigger(CaseModel):
    id: Slug
    when: Text
    examples: list[Text] = Field(default_factory=list)
    effect: TriggerEffect


class Emotional(CaseModel):
    start: EmotionLevel
    trust: Level
    understanding: Level
    triggers: list[Trigger] = Field(default_factory=list)


class Learner(CaseModel):
    role: Text
    speaker_label: Text = "Doctor"  # how the patient's prompt names the learner
    brief: Text
    objectives: list[Text] = Field(min_length=1)


class Scenario(CaseModel):
    id: Slug
    title: Text
    conversation_type: ConversationType
    stage_of_care: Text
    setting: Text
    persona: Slug
    persona_overrides: dict[str, Any] = Field(default_factory=dict)
    facts: list[Fact] = Field(min_length=1)
    understanding: Understanding
    emotional: Emotional
    learner: Learner
    rubrics: list[Slug] = Field(min_length=1)
    time_limit_minutes: int = Field(ge=1, le=120)
    opening_line: Text

    @model_validator(mode="after")
    def _unique_ids(self) -> "Scenario":
        for kind, ids in (
            ("fact", [f.id for f in self.facts]),
            ("trigger", [t.id for t in self.emotional.triggers]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} id(s): {', '.join(dupes)}")
        return self
