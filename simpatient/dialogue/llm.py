"""The LLM interface every backend implements, and the registry that picks one by name.

Backends are imported lazily by name, so an optional dependency (llama-cpp-python,
transformers, an HTTP client) is needed only when its backend is chosen.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

from simpatient.errors import ModelError
from simpatient.models import locate
from simpatient.registry import backend_class
from simpatient.settings import LLMSettings

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Sampling:
    max_tokens: int
    temperature: float
    top_p: float
    seed: int | None = None
    stop: tuple[str, ...] = field(default_factory=tuple)


class LLMBackend(ABC):
    """A chat model that streams text. Blocking: async callers run it in a worker thread.

    Construction only records options; :meth:`load` does the heavy work, once per process,
    and every session shares the loaded model. ``session`` names the conversation a call
    belongs to, so a backend can keep per-session state (a KV cache) between turns.
    """

    #: Whether ``options.model`` names weights on this machine (a catalogue name or a path)
    #: rather than a model a server serves.
    local_weights: ClassVar[bool] = True
    #: Whether ``options.model`` may also be a hub id ("org/name") already in the local
    #: hub cache (``simpatient models fetch`` puts it there; nothing downloads at run time).
    accepts_hub_ids: ClassVar[bool] = False

    def __init__(self, model_path: Path, options: LLMSettings) -> None:
        self.model_path = model_path
        self.options = options

    @abstractmethod
    def load(self) -> None:
        """Load the weights; call once before anything else."""

    @abstractmethod
    def prefill(self, messages: Sequence[ChatMessage], *, session: str) -> int:
        """Process a stable conversation prefix ahead of time so the next reply starts
        fast; returns the number of prompt tokens evaluated."""

    @abstractmethod
    def stream(
        self, messages: Sequence[ChatMessage], sampling: Sampling, *, session: str
    ) -> Iterator[str]:
        """Generate the assistant's next message, yielding text as it is produced.

        Raises :class:`BackendError` (``retryable`` when trying again may help)."""

    def release(self, session: str) -> None:  # noqa: B027 - optional hook
        """Forget what was kept for ``session``; called when the session ends."""

    @property
    def last_prompt_tokens(self) -> int:
        """Prompt tokens the last :meth:`stream` call had to evaluate (cache misses)."""
        return 0


def common_prefix(kept: Sequence[int], tokens: Sequence[int]) -> int:
    """How many leading tokens two sequences share: what a prompt cache can reuse."""
    n = 0
    for a, b in zip(kept, tokens, strict=False):
        if a != b:
            break
        n += 1
    return n


BACKENDS: dict[str, str] = {
    "llama_cpp": "simpatient.dialogue.llama_cpp_backend:LlamaCppBackend",
    "openai": "simpatient.dialogue.openai_backend:OpenAICompatBackend",
    "transformers": "simpatient.dialogue.transformers_backend:TransformersBackend",
    "scripted": "simpatient.dialogue.scripted_backend:ScriptedBackend",
}


def create_backend(options: LLMSettings, models_dir: Path) -> LLMBackend:
    """The backend named in ``options.backend``, constructed but not loaded; its weights
    are located in ``models_dir`` (without loading them)."""
    backend_cls: type[LLMBackend] = backend_class("LLM backend", options.backend, BACKENDS)
    return backend_cls(_model_path(backend_cls, options.model, models_dir), options)


def _model_path(backend_cls: type[LLMBackend], model: str, models_dir: Path) -> Path:
    if not backend_cls.local_weights:
        return Path(model)
    try:
        return locate(model, models_dir)
    except ModelError:
        if backend_cls.accepts_hub_ids and model.count("/") == 1:
            return Path(model)
        raise
