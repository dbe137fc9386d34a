"""A scripted LLM for fast tests of the logic around the model (never a feature's proof).

It answers with the lines it was given, word by word, and can be told to fail part-way
through a reply, the way a real backend can.
"""

from collections.abc import Iterator, Sequence
from pathlib import Path

from simpatient.dialogue.llm import ChatMessage, LLMBackend, Sampling
from simpatient.errors import BackendError
from simpatient.settings import LLMSettings


class ScriptedBackend(LLMBackend):
    def __init__(self, model_path: Path, options: LLMSettings) -> None:
        super().__init__(model_path, options)
        self.replies: list[str] = []
        self.failing_calls = 0  # how many of the next replies fail ...
        self.fail_after_words = 0  # ... after this many words
        self.prompts: list[list[ChatMessage]] = []

    def load(self) -> None:
        """Nothing to load."""

    def prefill(self, messages: Sequence[ChatMessage], *, session: str) -> int:
        return sum(len(m.content.split()) for m in messages)

    def stream(
        self, messages: Sequence[ChatMessage], sampling: Sampling, *, session: str
    ) -> Iterator[str]:
        self.prompts.append(list(messages))
        fail = self.failing_calls > 0
        self.failing_calls -= fail
        words = self.replies.pop(0).split(" ") if self.replies else []
        for i, word in enumerate(words[: sampling.max_tokens]):
            if fail and i >= self.fail_after_words:
                raise BackendError("scripted failure", retryable=True)
            yield word if i == 0 else " " + word
        if fail:
            raise BackendError("scripted failure", retryable=True)
