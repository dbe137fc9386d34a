"""llama.cpp (GGUF through llama-cpp-python): the embedded CPU default.

The prompt is rendered with the model's own chat template, and llama-cpp-python keeps the
tokens it last evaluated: a new prompt that starts with them is evaluated only from the
first token that differs. Keeping the persona prompt and the history a stable prefix
therefore makes every turn after the first cheap; :meth:`prefill` pays for the persona
when the session opens, before the learner speaks.

One model serves every session in the process. The model's context holds one session's
cache at a time; when another session takes a turn, the outgoing session's cache is saved
(a copy of its KV state, tens of MB) and the incoming one's restored, so no session pays
for another's prompt. Generation is serialised by a lock: on a CPU, two at once would only
share the same cores.
"""

import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from llama_cpp import Llama, LlamaState
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from simpatient.dialogue.llm import ChatMessage, LLMBackend, Sampling, common_prefix
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
        eos = self._token_text(self._llama.token_eos())
        bos = self._token_text(self._llama.token_bos())
        self._format = Jinja2ChatFormatter(template, eos, bos, add_generation_prompt=True)
        self._prefix = Jinja2ChatFormatter(template, eos, bos, add_generation_prompt=False)
        self._lock = threading.Lock()
        self._states: dict[str, LlamaState] = {}
        self._active: str | None = None

    def prefill(self, messages: Sequence[ChatMessage], *, session: str) -> int:
        tokens = self._tokenize(self._prefix(messages=_as_dicts(messages)).prompt)
        with self._lock:
            self._switch_to(session)
            self._llama.reset()  # type: ignore[no-untyped-call]
            self._llama.eval(tokens)
        return len(tokens)

    def stream(
        self, messages: Sequence[ChatMessage], sampling: Sampling, *, session: str
    ) -> Iterator[str]:
        tokens = self._tokenize(self._format(messages=_as_dicts(messages)).prompt)
        if len(tokens) + sampling.max_tokens > self.options.context:
            raise BackendError(
                f"the conversation ({len(tokens)} tokens) no longer fits the model's context "
                f"of {self.options.context}; raise SIMPATIENT_LLM__CONTEXT"
            )
        with self._lock:
            self._switch_to(session)
            self._evaluated = len(tokens) - common_prefix(self._llama.eval_tokens, tokens)
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

    def release(self, session: str) -> None:
        with self._lock:
            self._states.pop(session, None)
            if self._active == session:
                self._active = None

    @property
    def last_prompt_tokens(self) -> int:
        return self._evaluated

    def _switch_to(self, session: str) -> None:
        """Make ``session``'s cache the live one (call with the lock held)."""
        if self._active == session:
            return
        if self._active is not None:
            self._states[self._active] = self._llama.save_state()
        state = self._states.pop(session, None)
        if state is not None:
            self._llama.load_state(state)
        else:
            self._llama.reset()  # type: ignore[no-untyped-call]
        self._active = session

    def _tokenize(self, prompt: str) -> list[int]:
        # Special tokens (<|im_start|> ...) in the rendered template must map to their ids.
        return self._llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)

    def _token_text(self, token: int) -> str:
        return "" if token < 0 else self._llama.detokenize([token], special=True).decode()


def _as_dicts(messages: Sequence[ChatMessage]) -> list[Any]:
    return [{"role": m.role, "content": m.content} for m in messages]
