"""Rubric skeleton: items a session is assessed on.

The evaluator deepens this format (scales, anchors, exemplar phrasings); scenarios already
reference rubrics by id so every case names how it is meant to be assessed.
"""

from pydantic import Field, model_validator

from simpatient.content.base import CaseModel, Slug, Text
from simpatient.content.scenario import ConversationType


class RubricItem(CaseModel):
    id: Slug
    title: Text
    behaviour: Text


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
