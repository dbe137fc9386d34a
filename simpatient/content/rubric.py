"""Rubric skeleton: items a session is assessed on.

The evaluator deepens this format (scales, anchors, exemplar phrasings); scenarios already
reference rubrics by id so every case names how it is meant to be assessed.
"""

from pydantic import Field, model_validator

from simpatient.content.base import CaseModel, Slug, Text
from simpatient.content.scenario import ConversationType


class Anchors(CaseModel):
    """What each level of the 0-2 scale looks like for this item."""

    not_done: Text
    partly: Text
    done: Text


class RubricItem(CaseModel):
    id: Slug
    title: Text
    behaviour: Text
    #: Learner phrasings that show the behaviour; the tier-1 evaluator matches each
    #: learner turn against them.
    exemplars: list[Text] = Field(default_factory=list)
    #: Phrasings that show the opposite (e.g. a closed question where an open one is asked for).
    counter_exemplars: list[Text] = Field(default_factory=list)
    anchors: Anchors | None = None
    evidence_required: bool = True


class Rubric(CaseModel):
    id: Slug
    title: Text
    instrument: Text
    applies_to: list[ConversationType] = Field(min_length=1)
    items: list[RubricItem] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_items(self) -> "Rubric":
        ids = [i.id for i in self.items]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate item id(s): {', '.join(dupes)}")
        return self
