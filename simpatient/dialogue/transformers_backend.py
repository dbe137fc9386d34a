"""Hugging Face transformers: the backend for local GPU deployments.

Loads a local model folder, a GGUF file (dequantised on load, so slow and large on a CPU:
fine for tests, not for conversation), or a hub id already in the local Hugging Face cache
(``simpatient models fetch`` puts it there; nothing is ever downloaded here).

The prompt is rendered and tokenised by the tokenizer's own chat template. Each session
keeps the :class:`~transformers.DynamicCache` of its last prompt and reply together with the
tokens it holds; a new prompt that starts with those tokens is evaluated only from the first
token that differs (the cache is cropped back to the common prefix). Keeping the persona
prompt and the history a stable prefix therefore makes every turn after the first cheap.
The caches live on the model's device, so the number kept is bounded (least recently used
first out).

Generation runs in a worker thread that feeds a :class:`~transformers.TextIteratorStreamer`;
the consuming thread reads it, cuts the text at the first stop string, and sets a flag that
stops the worker when it stops reading early. One lock serialises generation: one model, one
reply at a time.
"""

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import accelerate  # type: ignore[import-untyped]  # noqa: F401 - transformers needs it for GGUF and device_map
import torch
from jinja2 import TemplateError
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    DynamicCache,
    PreTrainedModel,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

from simpatient.dialogue.llm import ChatMessage, LLMBackend, Sampling, common_prefix
from simpatient.errors import BackendError, ModelError

logger = logging.getLogger(__name__)

#: Sessions whose caches are kept at once; a 7B model's cache is about 57 KB a token in bf16.
MAX_KEPT_SESSIONS = 16
#: Thread name of the generation worker (tests look for it).
WORKER_NAME = "simpatient-transformers-generate"
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


class TransformersBackend(LLMBackend):
    accepts_hub_ids = True
    _model: PreTrainedModel
    _tokenizer: Any  # a PreTrainedTokenizerBase; its call signatures are too loose to type
    _device: torch.device
    _evaluated = 0

    def load(self) -> None:
        source, extra = self._source()
        self._device = _pick_device(self.options.gpu_layers)
        dtype = _dtype_for(self._device)
        if self._device.type == "cpu":
            torch.set_num_threads(self.options.threads)  # process-wide, like any torch user
        start = time.monotonic()
        try:
            self._tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True, **extra)
            self._model = AutoModelForCausalLM.from_pretrained(
                source, local_files_only=True, dtype=dtype, device_map=self._device.type, **extra
            )
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            hint = (
                "nothing is downloaded at run time: fetch it first with: simpatient models fetch"
                if source == self.options.model and not self.model_path.exists()
                else "check it with: simpatient models verify"
            )
            raise ModelError(
                f"transformers could not load {source} ({type(e).__name__}: {e}); {hint}"
            ) from e
        if not self._tokenizer.chat_template:
            raise ModelError(f"{source} has no chat template; use an instruct model")
        self._pad_id = self._tokenizer.pad_token_id
        if self._pad_id is None:
            self._pad_id = self._tokenizer.eos_token_id
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        logger.info(
            "transformers loaded %s on %s (%s) in %.1f s",
            source,
            self._device,
            dtype,
            time.monotonic() - start,
        )

    def prefill(self, messages: Sequence[ChatMessage], *, session: str) -> int:
        tokens = self._tokenize(messages, generation_prompt=False)
        with self._lock:
            cache, reused = self._take(session, tokens)
            ids = torch.tensor([tokens[reused:]], device=self._device)
            try:
                with torch.no_grad():
                    self._model(input_ids=ids, past_key_values=cache, use_cache=True)
            except RuntimeError as e:
                raise BackendError(f"transformers failed while prefilling: {e}") from e
            self._keep(session, _Kept(tokens, cache))
        return len(tokens) - reused

    def stream(
        self, messages: Sequence[ChatMessage], sampling: Sampling, *, session: str
    ) -> Iterator[str]:
        tokens = self._tokenize(messages, generation_prompt=True)
        if len(tokens) + sampling.max_tokens > self.options.context:
            raise BackendError(
                f"the conversation ({len(tokens)} tokens) no longer fits the model's context "
                f"of {self.options.context}; raise SIMPATIENT_LLM__CONTEXT"
            )
        with self._lock:
            yield from self._generate(tokens, sampling, session)

    def release(self, session: str) -> None:
        with self._lock:
            self._kept.pop(session, None)

    @property
    def last_prompt_tokens(self) -> int:
        return self._evaluated

    def _generate(self, tokens: list[int], sampling: Sampling, session: str) -> Iterator[str]:
        """Stream one reply (call with the lock held)."""
        cache, reused = self._take(session, tokens)
        self._evaluated = len(tokens) - reused
        streamer = TextIteratorStreamer(self._tokenizer, skip_prompt=True, skip_special_tokens=True)
        run = _Run(streamer)
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        worker = threading.Thread(
            target=self._model_generate,
            args=(run, self._generate_kwargs(tokens, cache, sampling, run)),
            name=WORKER_NAME,
            daemon=True,
        )
        worker.start()
        cutter = StopCutter(sampling.stop)
        try:
            for piece in streamer:
                text = cutter.feed(piece)
                if text:
                    yield text
                if cutter.stopped:
                    break
        finally:  # also when the consumer stops reading: stop the worker before unlocking
            run.cancel.set()
            worker.join()
            if run.sequence is not None:
                self._keep(session, _Kept(run.sequence[: cache.get_seq_length()], cache))
        if run.error is not None:
            raise BackendError(
                f"transformers failed while generating: {run.error}", retryable=True
            ) from run.error
        tail = cutter.flush()
        if tail:
            yield tail

    def _generate_kwargs(
        self, tokens: list[int], cache: DynamicCache, sampling: Sampling, run: "_Run"
    ) -> dict[str, Any]:
        ids = torch.tensor([tokens], device=self._device)
        kwargs: dict[str, Any] = {
            "input_ids": ids,
            "attention_mask": torch.ones_like(ids),
            "past_key_values": cache,
            "max_new_tokens": sampling.max_tokens,
            "pad_token_id": self._pad_id,
            "streamer": run.streamer,
            "stopping_criteria": StoppingCriteriaList([_Cancelled(run.cancel)]),
        }
        if sampling.temperature > 0:
            kwargs |= {"do_sample": True, "temperature": sampling.temperature}
            kwargs["top_p"] = sampling.top_p
        else:
            kwargs |= {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
        return kwargs

    def _model_generate(self, run: "_Run", kwargs: dict[str, Any]) -> None:
        """The worker thread: generate, and always end the stream, even on an error."""
        try:
            output = self._model.generate(**kwargs)  # type: ignore[operator]
            run.sequence = output[0].tolist()
        except Exception as e:  # surfaced in the consuming thread
            logger.debug("generation failed", exc_info=True)
            run.error = e
        finally:
            run.streamer.text_queue.put(run.streamer.stop_signal)

    def _take(self, session: str, tokens: list[int]) -> tuple[DynamicCache, int]:
        """The session's cache cropped to its common prefix with ``tokens``, and that prefix's
        length; at least the last token is always left to evaluate."""
        kept = self._kept.pop(session, None)
        if kept is not None:
            common = min(common_prefix(kept.tokens, tokens), len(tokens) - 1)
            if common > 0 and _crop(kept.cache, common):
                return kept.cache, common
        return DynamicCache(config=self._model.config), 0

    def _keep(self, session: str, kept: "_Kept") -> None:
        self._kept[session] = kept
        while len(self._kept) > MAX_KEPT_SESSIONS:
            dropped, _ = self._kept.popitem(last=False)
            logger.info("dropped the prompt cache of session %s (least recently used)", dropped)

    def _tokenize(self, messages: Sequence[ChatMessage], *, generation_prompt: bool) -> list[int]:
        chat = [{"role": m.role, "content": m.content} for m in messages]
        try:
            encoded = self._tokenizer.apply_chat_template(
                chat, add_generation_prompt=generation_prompt, tokenize=True, return_dict=True
            )
        except TemplateError as e:
            raise BackendError(f"the model's chat template rejected the conversation: {e}") from e
        return [int(t) for t in encoded["input_ids"]]

    def _source(self) -> tuple[str, dict[str, Any]]:
        """What to pass to ``from_pretrained``: a folder (and GGUF file name) or a hub id."""
        path = self.model_path.expanduser()
        if path.is_file():
            if path.suffix != ".gguf":
                raise ModelError(f"{path} is a file but not a .gguf; give a GGUF or a model folder")
            return str(path.parent), {"gguf_file": path.name}
        if path.is_dir():
            return str(path), {}
        model = self.options.model
        if _HUB_ID.fullmatch(model) and not model.startswith((".", "~")):
            return model, {}  # from the local hub cache only
        raise ModelError(
            f"model {path} does not exist; give a model folder, a .gguf file or a fetched hub id"
        )


@dataclass
class _Kept:
    """What a session keeps between turns: the cache and the tokens it holds."""

    tokens: list[int]
    cache: DynamicCache


@dataclass
class _Run:
    """One generation, shared by the consuming thread and the worker."""

    streamer: TextIteratorStreamer
    cancel: threading.Event = field(default_factory=threading.Event)
    sequence: list[int] | None = None  # prompt + reply, once generate returns
    error: Exception | None = None


class _Cancelled(StoppingCriteria):
    """Stops generation once the consumer has stopped reading."""

    def __init__(self, cancel: threading.Event) -> None:
        self._cancel = cancel

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        stop = self._cancel.is_set()
        return torch.full(  # type: ignore[return-value]
            (input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device
        )


class StopCutter:
    """Cuts streamed text before the first stop string.

    Text that could be the start of a stop string is held back until the next piece shows
    whether it is one, so nothing after (or of) a stop string is ever returned.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._held = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """The part of ``text`` (after what was held back) that is safe to emit now."""
        if self.stopped:
            return ""
        buffer = self._held + text
        found = [i for i in (buffer.find(s) for s in self._stops) if i >= 0]
        if found:
            self.stopped = True
            self._held = ""
            return buffer[: min(found)]
        hold = max((_partial_suffix(buffer, s) for s in self._stops), default=0)
        self._held = buffer[len(buffer) - hold :]
        return buffer[: len(buffer) - hold]

    def flush(self) -> str:
        """What is still held back, once the stream has ended without a stop string."""
        held, self._held = self._held, ""
        return "" if self.stopped else held


def _partial_suffix(text: str, stop: str) -> int:
    """Length of the longest end of ``text`` that is a proper start of ``stop``."""
    for n in range(min(len(stop) - 1, len(text)), 0, -1):
        if text.endswith(stop[:n]):
            return n
    return 0


def _crop(cache: DynamicCache, length: int) -> bool:
    """Crop ``cache`` to its first ``length`` tokens; False if the cache cannot be cropped
    (sliding-window layers past their window)."""
    extra = cache.get_seq_length() - length
    try:
        if extra > 0:
            cache.crop(-extra)  # this transformers takes the number of tokens to remove
    except (RuntimeError, ValueError) as e:
        logger.debug("cannot reuse the prompt cache: %s", e)
        return False
    return cache.get_seq_length() == length


def _pick_device(gpu_layers: int) -> torch.device:
    if gpu_layers == 0:
        return torch.device("cpu")
    if torch.cuda.is_available():
        return torch.device("cuda")
    logger.warning("gpu_layers is %d but torch sees no CUDA device; running on the CPU", gpu_layers)
    return torch.device("cpu")


def _dtype_for(device: torch.device) -> torch.dtype:
    if device.type != "cuda":
        return torch.float32
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
