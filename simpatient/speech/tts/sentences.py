"""Cut text into the pieces the voice speaks one at a time: sentences, and a first clause.

Synthesis streams piece by piece, so the first piece decides when the patient starts
talking: it may end at a comma once it has a few words. A full stop after a title or an
abbreviation ("Dr. Lee", "e.g.") or inside a number ("2.5") does not end a sentence, and
in a stream a stop at the very end of what has arrived is not trusted until the next
character shows it is followed by a space.
"""

import re

_END = re.compile(r"[.!?…]+[\"')\]]*(?=\s)")
_CLAUSE = re.compile(r"(?:[,;:]|\s[—–-])(?=\s)")
_NO_END_AFTER = frozenset(
    [
        "dr",
        "mr",
        "mrs",
        "ms",
        "st",
        "prof",
        "mt",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "approx",
        "no",
        "fig",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
    ]
)
#: A piece longer than this is cut at its last clause boundary before the limit, so one
#: long sentence does not hold back the voice.
MAX_WORDS = 30


def _is_sentence_end(text: str, match: re.Match[str]) -> bool:
    before = text[: match.start()].split()
    if not before:
        return False
    last = before[-1].lower().rstrip(".")
    return match.group(0)[0] != "." or last not in _NO_END_AFTER


def _cut_long(piece: str) -> list[str]:
    words = piece.split()
    if len(words) <= MAX_WORDS:
        return [piece]
    head = " ".join(words[:MAX_WORDS])
    cuts = list(_CLAUSE.finditer(head))
    if not cuts:
        return [head, *_cut_long(" ".join(words[MAX_WORDS:]))]
    cut = cuts[-1]
    return [piece[: cut.end()].strip(), *_cut_long(piece[cut.end() :].strip())]


class Splitter:
    """Feed streamed text with :meth:`push`; take complete pieces as they appear, and the
    rest with :meth:`flush` at the end of the stream.

    ``first_clause_words``: the first piece may end at a comma, semicolon, colon or dash
    once it has that many words (0: whole sentences only)."""

    def __init__(self, first_clause_words: int = 4) -> None:
        self.first_clause_words = first_clause_words
        self._buffer = ""
        self._started = False

    def push(self, text: str) -> list[str]:
        """The pieces that ``text`` completed."""
        self._buffer += text
        pieces: list[str] = []
        while (piece := self._next()) is not None:
            pieces.extend(_cut_long(piece))
        return pieces

    def flush(self) -> list[str]:
        """Whatever is left, as pieces."""
        rest, self._buffer = " ".join(self._buffer.split()), ""
        return _cut_long(rest) if rest else []

    def _next(self) -> str | None:
        end = next(
            (m for m in _END.finditer(self._buffer) if _is_sentence_end(self._buffer, m)), None
        )
        cut = end.end() if end is not None else None
        if not self._started and self.first_clause_words:
            limit = cut if cut is not None else len(self._buffer)
            for m in _CLAUSE.finditer(self._buffer, 0, limit + 1):
                if m.end() <= limit and len(self._buffer[: m.start()].split()) >= (
                    self.first_clause_words
                ):
                    cut = m.end()
                    break
        if cut is None:
            return None
        piece, self._buffer = self._buffer[:cut].strip(), self._buffer[cut:]
        if not piece:
            return None
        self._started = True
        return " ".join(piece.split())


def split(text: str, first_clause_words: int = 0) -> list[str]:
    """``text`` as the pieces :class:`Splitter` would stream."""
    splitter = Splitter(first_clause_words)
    return splitter.push(text) + splitter.flush()
