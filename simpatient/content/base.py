"""Shared building blocks for everything an educator writes."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

#: Ids are lowercase slugs so they read well in file names, URLs and logs.
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
#: Free text that must say something.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
#: A 0..1 level (trust, understanding, intensity).
Level = Annotated[float, Field(ge=0.0, le=1.0)]


class CaseModel(BaseModel):
    """Base of every authored model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
