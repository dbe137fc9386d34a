"""llama.cpp (GGUF through llama-cpp-python): the embedded CPU default.

The prompt is rendered with the model's own chat template, and llama-cpp-python keeps the
tokens it last evaluated: a new prompt that starts with them is evaluated only from the
first token that differs. Keeping the persona prompt and the history a stable prefix
therefore makes every turn after the first cheap; :meth:`prefill` pays for the persona
when the session opens, before the learner speaks.
"""

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from llama_cpp import Llama
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from simpatient.dialogue.llm import ChatMessage, LLMBackend, Sampling
from simpatient.errors import BackendError, ModelError

logger = logging.getLogger(__name__)


class LlamaCppBackend(LLMBackend):
    _llama: Llama
    _format: Jinja2ChatFormatter
    _prefix: Jinja2ChatFormatter
    _evaluated = 0

    def load(self) -> None:
        try:
            self._llama = Llama(
                model_path=str(self.model_path),
                n_ctx=self.options.context,
                n_threads=self.options.threads,
                n_threads_batch=self.options.threads,
                n_gpu_layers=self.options.gpu_layers,
                verbose=False,
            )
        except ValueError as e:  # llama-cpp-python's way of saying the file did not load
            raise ModelError(
                f"llama.cpp could not load {self.model_path} ({e}); "
                "check it with: simpatient models verify"
            ) from e
        template = self._llama.metadata.get("tokenizer.chat_template")
        if not template:
            raise ModelError(f"{self.model_path} has no chat template; use an instruct model")
        eos, bos = (
            self._token_text(self._llama.token_eos()),
            self._token_text(self._llama.token_bos()),
        )
        self._format = Jinja2ChatFormatter(template, eos, bos, add_generation_prompt=True)
        self._prefix = Jinja2ChatFormatter(template, eos, bos, add_generation_prompt=False)

    def prefill(self, messages: Sequence[ChatMessage]) -> int:
        prompt = self._prefix(messages=_as_dicts(messages)).prompt
        tokens = self._tokenize(prompt)
        self._llama.reset()  # type: ignore[no-untyped-call]
        self._llama.eval(tokens)
        return len(tokens)

    def stream(self, messages: Sequence[ChatMessage], sampling: Sampling) -> Iterator[str]:
        prompt = self._format(messages=_as_dicts(messages)).prompt
        tokens = self._tokenize(prompt)
        self._evaluated = len(tokens) - _common_prefix(self._llama.eval_tokens, tokens)
        if len(tokens) + sampling.max_tokens > self.options.context:
            raise BackendError(
                f"the conversation ({len(tokens)} tokens) no longer fits the model's context "
                f"of {self.options.context}; raise SIMPATIENT_LLM__CONTEXT"
            )
        chunks: Any = self._llama.create_completion(
            tokens,
            max_tokens=sampling.max_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            seed=sampling.seed,
            stop=list(sampling.stop),
            stream=True,
        )
        try:
            for chunk in chunks:
                text = chunk["choices"][0]["text"]
                if text:
                    yield text
        except RuntimeError as e:
            raise BackendError(f"llama.cpp failed while generating: {e}", retryable=True) from e

    @property
    def last_prompt_tokens(self) -> int:
        return self._evaluated

    def _tokenize(self, prompt: str) -> list[int]:
        # Special tokens (<|im_start|> ...) in the rendered template must map to their ids.
        return self._llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def _token_text(self, token: int) -> str:
        return "" if token < 0 else self._llama.detokenize([token], special=True).decode()


def _as_dicts(messages: Sequence[ChatMessage]) -> list[Any]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _common_prefix(evaluated: Sequence[int], tokens: Sequence[int]) -> int:
    n = 0
    for a, b in zip(evaluated, tokens, strict=False):
        if a != b:
            break
        n += 1
    return n
