"""One patient in one conversation: the prompt, the history and the reply stream.

The history is kept exactly as the model produced it so that each new prompt extends the
previous one token for token and the backend's cache is reused.
"""

import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from simpatient.content import Case
from simpatient.dialogue.llm import ChatMessage, LLMBackend, Sampling
from simpatient.dialogue.prompt import learner_message, opening_exchange, system_prompt
from simpatient.dialogue.spoken import sentences, speaker_tag
from simpatient.settings import LLMSettings

logger = logging.getLogger(__name__)


@dataclass
class ReplyTimings:
    """Seconds from the learner's turn being submitted, on the monotonic clock."""

    first_token_s: float | None = None
    first_sentence_s: float | None = None
    total_s: float = 0.0
    prompt_tokens: int = 0  # prompt tokens the backend had to evaluate (cache misses)
    pieces: int = 0

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "first_token_s": self.first_token_s,
            "first_sentence_s": self.first_sentence_s,
            "total_s": self.total_s,
            "prompt_tokens": self.prompt_tokens,
            "pieces": self.pieces,
        }


class Reply:
    """A reply being generated: iterate for sentences (once), then read ``text`` and
    ``timings``."""

    def __init__(self, conversation: "PatientConversation", prompt: list[ChatMessage]) -> None:
        self._conversation = conversation
        self._prompt = prompt
        self.sentences: list[str] = []
        self.timings = ReplyTimings()

    def __iter__(self) -> Iterator[str]:
        return self._conversation._generate(self._prompt, self)

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


class PatientConversation:
    def __init__(self, case: Case, backend: LLMBackend, options: LLMSettings) -> None:
        self.case = case
        self.backend = backend
        label = case.scenario.learner.speaker_label
        self.sampling = Sampling(
            max_tokens=options.max_reply_tokens,
            temperature=options.temperature,
            top_p=options.top_p,
            seed=options.seed,
            stop=(f"{label} says", f"\n{label}:", "\n\n"),
        )
        self.emotion = case.scenario.emotional.start
        self.unlocked: set[str] = set()
        self.messages = [
            ChatMessage("system", system_prompt(case, self.emotion, self.unlocked)),
            *opening_exchange(case),
        ]
        self._tag = speaker_tag(case.persona.called)
        self.key = uuid.uuid4().hex  # names this conversation's cache in the backend

    def close(self) -> None:
        """Let the backend drop this conversation's cache."""
        self.backend.release(self.key)

    @property
    def opening_line(self) -> str:
        return self.case.scenario.opening_line

    def prefill(self) -> int:
        """Evaluate the persona prompt now, before the learner speaks."""
        return self.backend.prefill(self.messages, session=self.key)

    def reply(self, learner_text: str) -> Reply:
        """Start the patient's reply to ``learner_text``; the history is updated once the
        returned :class:`Reply` has been iterated to the end."""
        return Reply(self, [*self.messages, learner_message(self.case, learner_text)])

    def _generate(self, prompt: list[ChatMessage], reply: Reply) -> Iterator[str]:
        start = time.monotonic()
        raw: list[str] = []

        def pieces() -> Iterator[str]:
            for piece in self.backend.stream(prompt, self.sampling, session=self.key):
                if reply.timings.first_token_s is None:
                    reply.timings.first_token_s = time.monotonic() - start
                    reply.timings.prompt_tokens = self.backend.last_prompt_tokens
                raw.append(piece)
                yield piece

        for sentence in sentences(pieces(), self._tag):
            if reply.timings.first_sentence_s is None:
                reply.timings.first_sentence_s = time.monotonic() - start
            reply.sentences.append(sentence)
            yield sentence
        reply.timings.total_s = time.monotonic() - start
        reply.timings.pieces = len(raw)
        # Keep the raw text, not the cleaned one: the next prompt then extends what the
        # backend evaluated and its cache is reused.
        self.messages = [*prompt, ChatMessage("assistant", "".join(raw).strip())]
