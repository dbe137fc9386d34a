"""Persona: who the patient is, reusable across scenarios."""

from enum import StrEnum

from pydantic import Field

from simpatient.content.base import CaseModel, Slug, Text


class Sex(StrEnum):
    female = "female"
    male = "male"
    intersex = "intersex"
    unspecified = "unspecified"


class HealthLiteracy(StrEnum):
    low = "low"
    moderate = "moderate"
    high = "high"


class FaithPractice(StrEnum):
    not_religious = "not_religious"
    nominal = "nominal"
    practising = "practising"
    devout = "devout"


class TrustInDoctors(StrEnum):
    low = "low"
    moderate = "moderate"
    high = "high"


class Amount(StrEnum):
    """A three-step scale for communication traits."""

    low = "low"
    moderate = "moderate"
    high = "high"


class AgeBand(StrEnum):
    young_adult = "young_adult"  # 18-29
    adult = "adult"  # 30-49
    middle_aged = "middle_aged"  # 50-64
    older = "older"  # 65-79
    elderly = "elderly"  # 80+


class VoiceGender(StrEnum):
    female = "female"
    male = "male"
    neutral = "neutral"


class Rate(StrEnum):
    slow = "slow"
    normal = "normal"
    fast = "fast"


class Pitch(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class SkinTone(StrEnum):
    """Monk Skin Tone scale, 1 (lightest) to 10 (darkest), as words for authors."""

    monk_01 = "monk_01"
    monk_02 = "monk_02"
    monk_03 = "monk_03"
    monk_04 = "monk_04"
    monk_05 = "monk_05"
    monk_06 = "monk_06"
    monk_07 = "monk_07"
    monk_08 = "monk_08"
    monk_09 = "monk_09"
    monk_10 = "monk_10"


class FacialHair(StrEnum):
    none = "none"
    stubble = "stubble"
    moustache = "moustache"
    beard = "beard"
    goatee = "goatee"


class Clothing(StrEnum):
    hospital_gown = "hospital_gown"
    casual = "casual"
    smart = "smart"
    work_uniform = "work_uniform"
    religious_dress = "religious_dress"


class Culture(CaseModel):
    background: Text
    languages: list[Text] = Field(min_length=1)
    preferred_language: Text
    interpreter_needed: bool = False


class Social(CaseModel):
    living_situation: Text
    family: Text
    support: Text | None = None


class Faith(CaseModel):
    tradition: Text | None = None  # None: no faith tradition
    practice: FaithPractice
    notes: Text | None = None


class Beliefs(CaseModel):
    faith: Faith
    attitude_to_medicine: Text
    trust_in_doctors: TrustInDoctors
    values: list[Text] = Field(default_factory=list)


class Communication(CaseModel):
    verbosity: Amount
    directness: Amount
    humour: Amount
    deflection: Amount
    question_asking: Amount
    style_notes: Text | None = None


class Voice(CaseModel):
    """Engine-neutral voice description; the speech stage maps it to a real voice."""

    gender: VoiceGender
    age_band: AgeBand
    accent: Text
    rate: Rate = Rate.normal
    pitch: Pitch = Pitch.medium


class Hair(CaseModel):
    colour: Text
    style: Text


class Appearance(CaseModel):
    """What the avatar stage draws."""

    skin_tone: SkinTone
    hair: Hair
    age_cues: list[Text] = Field(default_factory=list)
    facial_hair: FacialHair = FacialHair.none
    glasses: bool = False
    clothing: Clothing = Clothing.hospital_gown


class Persona(CaseModel):
    id: Slug
    name: Text
    preferred_name: Text | None = None
    age: int = Field(ge=0, le=120)
    sex: Sex
    gender_identity: Text
    pronouns: Text
    culture: Culture
    health_literacy: HealthLiteracy
    occupation: Text
    social: Social
    beliefs: Beliefs
    communication: Communication
    history: list[Text] = Field(default_factory=list)
    voice: Voice
    appearance: Appearance | None = None  # None: the avatar draws a plain default (lint warns)

    @property
    def called(self) -> str:
        """The name the patient goes by in conversation."""
        return self.preferred_name or self.name.split()[0]
