"""Turn a model's raw text stream into clean, speakable sentences.

The speech stage needs whole sentences as early as possible, and nothing in them that a
voice cannot say: speaker tags, quotes around the reply, actions in asterisks or
brackets, markdown.
"""

import re
from collections.abc import Iterable, Iterator

#: A sentence ends at . ! ? (or an ellipsis) followed by whitespace.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:—–])\s+")
_STAGE_DIRECTION = re.compile(r"\*[^*]*\*|\[[^\]]*\]|\((?:[a-z][^)]*)\)")
_MARKUP = re.compile(r"[*#_`>|]+|^\s*[-•]\s+", re.MULTILINE)


def speaker_tag(name: str) -> re.Pattern[str]:
    """Matches a leading ``Maggie:`` or ``Maggie says:`` the model may echo."""
    return re.compile(rf"^\s*{re.escape(name)}(?:\s+says)?\s*:\s*", re.IGNORECASE)


def clean(text: str, tag: re.Pattern[str] | None = None) -> str:
    if tag is not None:
        text = tag.sub("", text)
    text = _STAGE_DIRECTION.sub(" ", text)
    text = _MARKUP.sub("", text)
    text = " ".join(text.split())
    return text.strip(' "“”')


def sentences(
    pieces: Iterable[str], tag: re.Pattern[str] | None = None, first_clause_words: int = 0
) -> Iterator[str]:
    """Yield cleaned sentences from streamed text pieces as soon as each is complete.

    With ``first_clause_words``, the first chunk may end at a comma, semicolon or dash
    once it has that many words, so the voice can start before the first sentence ends.
    A trailing fragment (the reply was cut by the token cap) is dropped when a complete
    sentence came before it, so the patient never stops mid-word.
    """
    buffer = ""
    said = False
    for piece in pieces:
        buffer += piece
        if not said and first_clause_words and _SENTENCE_END.search(buffer) is None:
            clause = next(
                (
                    m
                    for m in _CLAUSE_END.finditer(buffer)
                    if len(buffer[: m.start()].split()) >= first_clause_words
                ),
                None,
            )
            if clause is not None:
                sentence = clean(buffer[: clause.start()], tag)
                buffer = buffer[clause.end() :]
                if sentence:
                    said = True
                    yield sentence
        while (match := _SENTENCE_END.search(buffer)) is not None:
            sentence = clean(buffer[: match.start()], None if said else tag)
            buffer = buffer[match.end() :]
            if sentence:
                said = True
                yield sentence
    tail = clean(buffer, None if said else tag)
    if tail and (not said or tail[-1] in ".!?…"):
        yield tail
