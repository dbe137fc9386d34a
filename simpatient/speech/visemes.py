"""The viseme set every TTS backend emits and the avatar renders.

The 15 visemes of the Oculus / MPEG-4 style set. Each TTS backend maps its own phoneme
alphabet onto these names (the maps live with the backends); the avatar draws one mouth
shape per name. A timeline is a list of :class:`Viseme` on the pipeline clock's offsets
from the start of the utterance's audio."""

from dataclasses import dataclass
from enum import StrEnum


class VisemeName(StrEnum):
    sil = "sil"  # silence, mouth at rest
    PP = "PP"  # p, b, m
    FF = "FF"  # f, v
    TH = "TH"  # th (thin, this)
    DD = "DD"  # t, d
    kk = "kk"  # k, g, ng
    CH = "CH"  # ch, j, sh, zh
    SS = "SS"  # s, z
    nn = "nn"  # n, l
    RR = "RR"  # r
    aa = "aa"  # a (father, cat)
    E = "E"  # e (bed, bird)
    ih = "ih"  # i (sit, see)
    oh = "oh"  # o (go, thought)
    ou = "ou"  # u, w (boot, wet)


@dataclass(frozen=True, slots=True)
class Viseme:
    """One mouth shape from ``start`` to ``end`` seconds after the utterance's first sample."""

    name: VisemeName
    start: float
    end: float
