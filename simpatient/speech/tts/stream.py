"""Speak streamed text piece by piece, synthesising off the event loop.

:func:`speak` is what the turn orchestration calls with the dialogue's reply: the text
arrives as an async stream while the LLM is still writing, each piece (the first clause,
then sentences) is synthesised in a worker thread as soon as it is complete, and the
utterances come out in order as they are ready. Text keeps arriving while a piece is
being synthesised. Closing the iterator (barge-in) stops the synthesis of further pieces;
a piece already in the worker thread finishes there and is dropped.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Iterable

from simpatient.speech.tts.base import NEUTRAL, Prosody, Speaker, Utterance
from simpatient.speech.tts.sentences import Splitter, split

logger = logging.getLogger(__name__)

#: Words the first piece needs before it may end at a comma (as the dialogue does).
FIRST_CLAUSE_WORDS = 4
_DONE = object()


async def _pieces(source: Iterable[str] | AsyncIterable[str]) -> AsyncIterator[str]:
    if isinstance(source, AsyncIterable):
        splitter = Splitter(FIRST_CLAUSE_WORDS)
        async for chunk in source:
            for piece in splitter.push(chunk):
                yield piece
        for piece in splitter.flush():
            yield piece
    else:
        # A list of sentences: each is kept apart (only overlong ones are cut).
        for i, text in enumerate(source):
            for piece in split(text, FIRST_CLAUSE_WORDS if i == 0 else 0):
                yield piece


def _ends_sentence(piece: str) -> bool:
    return piece.rstrip("\"')]").endswith((".", "!", "?", "…"))


async def speak(
    backend: Speaker,
    text: str | Iterable[str] | AsyncIterable[str],
    prosody: Prosody = NEUTRAL,
    *,
    sentence_pause_s: float = 0.12,
) -> AsyncGenerator[Utterance, None]:
    """Utterances for ``text`` (a string, a list of sentences, or an async stream of text
    chunks), in order, each as soon as it is synthesised.

    Synthesis runs in a worker thread (:func:`asyncio.to_thread`), never on the loop.
    Each sentence ends with ``sentence_pause_s * prosody.pause`` of silence; a clause
    cut at a comma gets a third of it."""
    source: Iterable[str] | AsyncIterable[str] = [text] if isinstance(text, str) else text
    queue: asyncio.Queue[object] = asyncio.Queue()

    async def read() -> None:
        try:
            async for piece in _pieces(source):
                await queue.put(piece)
        finally:
            await queue.put(_DONE)

    reader = asyncio.create_task(read())
    try:
        while (piece := await queue.get()) is not _DONE:
            assert isinstance(piece, str)
            utterance = await asyncio.to_thread(backend.synthesize, piece, prosody)
            pause = sentence_pause_s * prosody.pause
            yield utterance.with_silence(pause if _ends_sentence(piece) else pause / 3)
        await reader  # re-raise a failure of the text stream
    finally:
        if not reader.done():
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
