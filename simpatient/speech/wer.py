"""Word error rate with a stated normalisation, so figures are comparable across runs.

Normalisation (both reference and hypothesis): lowercase; "mr"/"mrs"/"dr" spelled out;
digits written as words ("10" -> "ten", "3.4" -> "three point four"); hyphens split
words ("ill-disposed" -> "ill disposed"); every other punctuation mark removed,
apostrophes inside words kept ("don't")."""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from simpatient.speech.tts.normalise import cardinal

_ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
]  # fmt: skip
_TITLES = {"mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint"}


def number_words(n: int) -> str:
    """An integer in words, without hyphens ("forty two")."""
    return cardinal(n).replace("-", " ")


def _number(match: re.Match[str]) -> str:
    whole, _, frac = match.group(0).replace(",", "").partition(".")
    words = number_words(int(whole))
    if frac:
        words += " point " + " ".join(_ONES[int(d)] for d in frac)
    return f" {words} "


def normalise(text: str) -> list[str]:
    """The words of ``text`` after the normalisation above."""
    text = text.lower().replace("-", " ")
    text = re.sub(r"\d[\d,]*(?:\.\d+)?", _number, text)
    text = re.sub(r"[^\w\s']|(?<!\w)'|'(?!\w)", " ", text)
    return [_TITLES.get(w, w) for w in text.split()]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


@dataclass(frozen=True, slots=True)
class WER:
    """Errors over reference words, pooled over a set of utterances."""

    errors: int
    words: int

    @property
    def rate(self) -> float:
        return self.errors / self.words if self.words else 0.0


def wer(pairs: Iterable[tuple[str, str]]) -> WER:
    """Pooled WER over (reference, hypothesis) pairs."""
    errors = words = 0
    for ref, hyp in pairs:
        r = normalise(ref)
        errors += edit_distance(r, normalise(hyp))
        words += len(r)
    return WER(errors, words)
