"""From a persona's written appearance to what the face painter needs: colours, shapes.

Authors write hair and age cues in free words ("black, greying", "short, neat bob");
this reads the common words and falls back to plain choices, never to a caricature."""

import hashlib
import logging
from dataclasses import dataclass
from enum import StrEnum

from simpatient.avatar.draw import RGB, mix
from simpatient.content.persona import (
    Appearance,
    Clothing,
    FacialHair,
    Hair,
    Persona,
    Sex,
    SkinTone,
)

logger = logging.getLogger(__name__)

#: the Monk Skin Tone scale's published swatches, 1 (lightest) to 10
MONK: dict[SkinTone, RGB] = {
    SkinTone.monk_01: (246, 237, 228), SkinTone.monk_02: (243, 231, 219),
    SkinTone.monk_03: (247, 234, 208), SkinTone.monk_04: (234, 218, 186),
    SkinTone.monk_05: (215, 189, 150), SkinTone.monk_06: (160, 126, 86),
    SkinTone.monk_07: (130, 92, 67), SkinTone.monk_08: (96, 65, 52),
    SkinTone.monk_09: (58, 49, 42), SkinTone.monk_10: (41, 36, 32),
}  # fmt: skip
#: the swatches are flat paint; lit skin on camera is warmer and, for the lightest
#: tones, less white, so the painter starts from this mid tone and shades from there
_WARM: RGB = (205, 140, 110)
HAIR_COLOURS: dict[str, RGB] = {
    "black": (32, 27, 25), "dark brown": (58, 40, 30), "brown": (92, 62, 42),
    "auburn": (120, 56, 36), "red": (150, 70, 40), "ginger": (165, 85, 45),
    "blonde": (196, 160, 105), "blond": (196, 160, 105), "grey": (152, 150, 147),
    "gray": (152, 150, 147), "silver": (190, 190, 192), "white": (222, 220, 214),
}  # fmt: skip
IRIS = {"brown": (84, 52, 32), "dark": (50, 32, 22), "hazel": (112, 88, 50),
        "green": (86, 110, 70), "blue": (80, 110, 150), "grey": (110, 120, 128)}  # fmt: skip


class HairStyle(StrEnum):
    bald = "bald"
    cropped = "cropped"
    short = "short"
    swept_back = "swept_back"
    bob = "bob"
    long = "long"
    braids = "braids"
    tied = "tied"
    curly = "curly"


@dataclass(frozen=True, slots=True)
class Look:
    """Everything the painter reads: colours in RGB 0-255, shapes as small numbers."""

    skin: RGB
    lips: RGB
    hair: RGB
    brows: RGB
    beard: RGB
    grey_beard: bool  # salt and pepper: light strands through the beard
    iris: RGB
    style: HairStyle
    parted: bool
    thin_hair: bool
    facial_hair: FacialHair
    glasses: str  # "", "on" (over the eyes) or "up" (pushed up on the head)
    clothing: Clothing
    clothes: RGB
    female: bool
    dark: float  # skin darkness, 0 (Monk 1) to 1 (Monk 10)
    age: int
    lines: float  # depth of age lines, 0-1
    freckles: bool
    tired: bool
    hollow: bool
    seed: int


def default_appearance(persona: Persona) -> Appearance:
    """A plain look for a persona whose author wrote none (lint warns about it)."""
    grey = persona.age >= 60
    return Appearance(
        skin_tone=SkinTone.monk_05,
        hair=Hair(colour="grey" if grey else "dark brown", style="short"),
        facial_hair=FacialHair.none,
    )


def look_for(persona: Persona) -> Look:
    """The :class:`Look` of a persona (its appearance, or a default one)."""
    appearance = persona.appearance or default_appearance(persona)
    seed = int(hashlib.sha256(persona.id.encode()).hexdigest()[:8], 16)
    swatch = MONK[appearance.skin_tone]
    level = list(MONK).index(appearance.skin_tone) / 9
    skin = mix(swatch, _WARM, 0.28 - 0.2 * level)
    cues = " ".join(appearance.age_cues).lower()
    hair = _hair_colour(appearance.hair.colour)
    female = persona.sex is Sex.female
    # dark skin: lips a lighter, pinker brown than the skin around them
    lips = mix(skin, (150, 60, 65) if level < 0.6 else (128, 64, 68), 0.35 if female else 0.28)
    if "pale" in cues:
        lips = mix(lips, skin, 0.25)
    # brows stay darker than grey hair, and dark brows need contrast on dark skin
    brows = mix(hair, (26, 20, 18), 0.6 if sum(hair) > 400 else 0.45)
    grey_beard = "grey in" in cues or "grey beard" in cues
    return Look(
        skin=skin,
        lips=lips,
        hair=hair,
        brows=brows,
        beard=hair,
        grey_beard=grey_beard,
        iris=_iris(level, seed),
        style=_style(appearance.hair, female),
        parted="part" in appearance.hair.style.lower(),
        thin_hair="thin" in appearance.hair.style.lower() or persona.age >= 75,
        facial_hair=appearance.facial_hair,
        glasses=("up" if "pushed up" in cues else "on") if appearance.glasses else "",
        clothing=appearance.clothing,
        clothes=_clothes(appearance.clothing, seed),
        female=female,
        dark=level,
        age=persona.age,
        lines=min(1.0, max(0.0, (persona.age - 30) / 45 + (0.2 if "lines" in cues else 0))),
        freckles="freckle" in cues,
        tired="tired" in cues or "dark circles" in cues,
        hollow="hollow" in cues,
        seed=seed,
    )


def _hair_colour(text: str) -> RGB:
    words = text.lower()
    found = sorted((words.find(k), k) for k in HAIR_COLOURS if k in words)
    # "dark brown" also matches "brown": keep the longest name at each position
    names = [k for i, k in found if not any(j <= i and k in o and k != o for j, o in found)]
    if not names:
        logger.warning("hair colour %r not understood; drawn dark brown", text)
        return HAIR_COLOURS["dark brown"]
    colour = HAIR_COLOURS[names[0]]
    for other in names[1:]:
        colour = mix(colour, HAIR_COLOURS[other], 0.3)
    if "greying" in words or "graying" in words:
        colour = mix(colour, HAIR_COLOURS["grey"], 0.2)
    return colour


def _style(hair: Hair, female: bool) -> HairStyle:
    s = hair.style.lower()
    for words, style in (
        (("bald", "shaved"), HairStyle.bald),
        (("braid", "locs", "dreadlock"), HairStyle.braids),
        (("bob",), HairStyle.bob),
        (("crop", "buzz", "close"), HairStyle.cropped),
        (("combed back", "straight back", "slicked"), HairStyle.swept_back),
        (("bun", "ponytail", "tied"), HairStyle.tied),
        (("curl", "afro"), HairStyle.curly),
        (("long", "shoulder"), HairStyle.long),
        (("short",), HairStyle.short),
    ):
        if any(w in s for w in words):
            return style
    return HairStyle.bob if female else HairStyle.short


def _iris(level: float, seed: int) -> RGB:
    if level >= 0.45:
        return IRIS["dark"] if seed % 2 else IRIS["brown"]
    return list(IRIS.values())[seed % len(IRIS)]


def _clothes(clothing: Clothing, seed: int) -> RGB:
    if clothing is Clothing.hospital_gown:
        return (150, 178, 200)
    palette = {
        Clothing.smart: [(70, 80, 105), (95, 60, 70), (60, 90, 85)],
        Clothing.casual: [(120, 110, 95), (80, 105, 120), (130, 80, 70)],
        Clothing.work_uniform: [(55, 70, 95), (80, 82, 70)],
        Clothing.religious_dress: [(60, 50, 70), (40, 60, 75)],
    }[clothing]
    return palette[seed % len(palette)]
