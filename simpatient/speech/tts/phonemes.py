"""Phoneme alphabets onto the 15 visemes, and the timeline every backend returns.

Two alphabets cover every engine here, so each map is written once:

- **IPA as espeak-ng writes it**: piper (its voices are trained on espeak-ng phonemes),
  espeak-ng itself and Coqui's VITS models (phonemised by espeak-ng as well).
- **The CMU US phone set** ("radio" phones: ``aa``, ``dh``, ``pau``...): festival's and
  flite's US voices.

A backend turns its engine's phone timings into :class:`Phone` spans; :func:`timeline`
makes the contiguous viseme timeline the avatar plays.
"""

import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from simpatient.speech.visemes import Viseme, VisemeName

V = VisemeName

#: espeak-ng IPA (single symbols; diphthongs and r-coloured vowels are looked up by their
#: first symbol, which is the mouth shape the avatar should reach first).
IPA_VISEMES: Mapping[str, VisemeName] = {
    **dict.fromkeys(["p", "b", "m"], V.PP),
    **dict.fromkeys(["f", "v"], V.FF),
    **dict.fromkeys(["θ", "ð"], V.TH),
    **dict.fromkeys(["t", "d", "ɾ", "ʔ"], V.DD),
    **dict.fromkeys(["k", "ɡ", "g", "ŋ", "x", "h"], V.kk),
    **dict.fromkeys(["ʃ", "ʒ", "tʃ", "dʒ", "ç"], V.CH),
    **dict.fromkeys(["s", "z"], V.SS),
    **dict.fromkeys(["n", "l", "ɫ", "ɲ"], V.nn),
    **dict.fromkeys(["ɹ", "r", "ɚ", "ɝ", "ɻ"], V.RR),
    **dict.fromkeys(["a", "ɑ", "æ", "ʌ", "ɐ", "ᵻa"], V.aa),
    **dict.fromkeys(["e", "ɛ", "ɜ", "ə"], V.E),
    **dict.fromkeys(["i", "ɪ", "ɨ", "ᵻ", "j", "y"], V.ih),
    **dict.fromkeys(["o", "ɔ", "ɒ"], V.oh),
    **dict.fromkeys(["u", "ʊ", "w", "ʍ", "ɯ"], V.ou),
}

#: Symbols that change the phone next to them rather than being a phone of their own:
#: stress marks belong to the phone after them, length marks to the one before.
IPA_STRESS = frozenset("ˈˌ")
IPA_LENGTH = frozenset("ːˑ")
#: Pauses and the sentence markers piper puts around an utterance (^ and $).
IPA_PAUSES = frozenset(".,;:!?—…-^$_\"'()")

#: The CMU US phone set as festival and flite name it.
CMU_VISEMES: Mapping[str, VisemeName] = {
    **dict.fromkeys(["pau", "h#", "brth", "sil"], V.sil),
    **dict.fromkeys(["p", "b", "m"], V.PP),
    **dict.fromkeys(["f", "v"], V.FF),
    **dict.fromkeys(["th", "dh"], V.TH),
    **dict.fromkeys(["t", "d", "dx"], V.DD),
    **dict.fromkeys(["k", "g", "ng", "hh"], V.kk),
    **dict.fromkeys(["ch", "jh", "sh", "zh"], V.CH),
    **dict.fromkeys(["s", "z"], V.SS),
    **dict.fromkeys(["n", "l", "en", "el"], V.nn),
    **dict.fromkeys(["r", "er", "axr"], V.RR),
    **dict.fromkeys(["aa", "ae", "ah", "aw", "ay"], V.aa),
    **dict.fromkeys(["eh", "ey", "ax"], V.E),
    **dict.fromkeys(["ih", "iy", "y"], V.ih),
    **dict.fromkeys(["ao", "ow", "oy"], V.oh),
    **dict.fromkeys(["uh", "uw", "w"], V.ou),
}

#: Visemes with the jaw open: the louder stretches of speech.
OPEN_VISEMES = frozenset({V.aa, V.E, V.ih, V.oh, V.ou})


@dataclass(frozen=True, slots=True)
class Phone:
    """One phone of an engine's alphabet and where it sits in the audio (seconds)."""

    name: str
    start: float
    end: float


def ipa_viseme(phone: str) -> VisemeName:
    """The viseme of one espeak-ng IPA phone (or cluster such as ``aɪ``, ``ɔːɹ``, ``tʃ``).

    Unknown symbols map to ``sil`` rather than failing: a mouth at rest for one phone is
    better than a reply that cannot be spoken."""
    bare = "".join(
        ch
        for ch in unicodedata.normalize("NFD", phone)
        if ch not in IPA_STRESS and ch not in IPA_LENGTH and not unicodedata.combining(ch)
    ).strip()
    if not bare or all(ch in IPA_PAUSES for ch in bare):
        return V.sil
    for size in (2, 1):
        if bare[:size] in IPA_VISEMES:
            return IPA_VISEMES[bare[:size]]
    return V.sil


def cmu_viseme(phone: str) -> VisemeName:
    """The viseme of one CMU US phone (festival, flite); stress digits are ignored."""
    return CMU_VISEMES.get(phone.lower().rstrip("012"), V.sil)


def phones_from_ends(ends: Iterable[tuple[str, float]]) -> list[Phone]:
    """Phones from (name, end time) pairs, the form festival and flite print."""
    phones, start = [], 0.0
    for name, end in ends:
        phones.append(Phone(name, start, end))
        start = end
    return phones


def phones_from_counts(names: Sequence[str], samples: Sequence[int], rate: int) -> list[Phone]:
    """Phones from per-phone sample counts, the form VITS duration outputs take (piper,
    Coqui). Stress marks are folded into the phone after them, length marks and word
    gaps into the phone before, so that the mouth holds its shape across them."""
    phones: list[Phone] = []
    position = 0
    carried = 0  # samples of stress marks waiting for the phone they belong to
    for name, count in zip(names, samples, strict=True):
        if name in IPA_STRESS:
            carried += count
            continue
        end = position + carried + count
        if phones and (name in IPA_LENGTH or name == " "):
            last = phones[-1]
            phones[-1] = Phone(last.name, last.start, end / rate)
        else:
            phones.append(Phone(name, position / rate, end / rate))
        position, carried = end, 0
    if carried and phones:
        last = phones[-1]
        phones[-1] = Phone(last.name, last.start, (position + carried) / rate)
    return phones


def timeline(
    phones: Sequence[Phone], to_viseme: Callable[[str], VisemeName], duration: float
) -> tuple[Viseme, ...]:
    """The contiguous viseme timeline covering ``[0, duration]`` exactly.

    Engine timings are made consistent with the audio: when the phones end more than 2 %
    away from the audio's end (flite's diphone voices report durations before their
    waveform is joined), every time is scaled onto the audio; otherwise the last viseme is
    stretched to the end. No phones at all give one silence. Repeats are merged.
    ``to_viseme`` is the alphabet's mapping: :func:`ipa_viseme` or :func:`cmu_viseme`.
    """
    if duration <= 0:
        return ()
    spans = [p for p in phones if p.end > p.start]
    scale = 1.0
    if spans and abs(spans[-1].end - duration) > 0.02 * duration:
        scale = duration / spans[-1].end
    out: list[Viseme] = []
    cursor = 0.0
    for phone in spans:
        name = to_viseme(phone.name)
        end = min(phone.end * scale, duration)
        if end <= cursor:
            continue
        if out and out[-1].name is name:
            out[-1] = Viseme(name, out[-1].start, end)
        else:
            out.append(Viseme(name, cursor, end))
        cursor = end
    if cursor < duration:  # at most 2 % short after the scaling above
        if out:
            out[-1] = Viseme(out[-1].name, out[-1].start, duration)
        else:
            out.append(Viseme(V.sil, 0.0, duration))
    return tuple(out)
