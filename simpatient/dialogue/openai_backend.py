"""An OpenAI-compatible chat server over HTTP: vLLM, the llama.cpp server, Ollama, hosted APIs.

``options.model`` is the model name the server serves; ``options.base_url`` and
``options.api_key`` (``SIMPATIENT_LLM__BASE_URL``, ``SIMPATIENT_LLM__API_KEY``) say where
and as whom. The model path is unused.

Replies stream as server-sent events from ``POST {base_url}/chat/completions``. A worker
thread reads the HTTP stream so that two deadlines can be kept: the first token must arrive
within ``first_token_timeout_s`` of the request (the server evaluates the prompt first),
and each later chunk within ``chunk_timeout_s`` of the one before. A failure before the
first token (connection refused, a timeout, HTTP 5xx or 429) is retried with exponential
backoff; once text has been yielded the caller has already spoken it, so a failure raises a
retryable :class:`BackendError` instead of silently starting the reply again. Closing the
reply early (the learner interrupts) closes the connection, which stops the generation on
servers that watch for it (vLLM, the llama.cpp server).

The server keeps no session state for us: servers with prefix caching (vLLM's automatic
prefix caching, the llama.cpp server's ``cache_prompt``) reuse the prompt's longest cached
prefix, so :meth:`~OpenAICompatBackend.prefill` sends the persona with ``max_tokens=1`` to
have it cached before the learner speaks.
"""

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, TypeVar

import httpx

from simpatient.dialogue.llm import ChatMessage, LLMBackend, Sampling
from simpatient.errors import BackendError
from simpatient.settings import LLMSettings

logger = logging.getLogger(__name__)

BASE_URL_ENV = "SIMPATIENT_LLM__BASE_URL"
API_KEY_ENV = "SIMPATIENT_LLM__API_KEY"
DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"

_T = TypeVar("_T")


class _End(Enum):
    DONE = "[DONE]"  # the server said the stream is complete
    EOF = "eof"  # the connection ended without saying so


_Item = dict[str, Any] | BackendError | _End


class OpenAICompatBackend(LLMBackend):
    """Streams chat completions from an OpenAI-compatible server (registry name ``openai``).

    Timeouts and retries come from the settings; the backoff is an attribute (tests
    shorten it).
    """

    local_weights = False

    def __init__(self, model_path: Path, options: LLMSettings) -> None:
        super().__init__(model_path, options)
        self.base_url = options.base_url
        self.connect_timeout_s = options.connect_timeout_s
        self.first_token_timeout_s = options.first_token_timeout_s
        self.chunk_timeout_s = options.chunk_timeout_s
        self.retries = options.retries
        self.backoff_s = 0.5
        self._client: httpx.Client | None = None
        self._local = threading.local()  # last_prompt_tokens of the calling thread

    def load(self) -> None:
        """Open a pooled connection to the server and check that it answers ``GET /models``."""
        base_url = self.options.base_url.strip().rstrip("/")
        try:
            scheme = httpx.URL(base_url).scheme
        except httpx.InvalidURL as e:
            scheme = f"invalid ({e})"
        if scheme not in ("http", "https"):
            raise BackendError(
                f"{BASE_URL_ENV}='{base_url}' is not an http(s) URL; "
                f"set it to the server's API root, e.g. {DEFAULT_BASE_URL}"
            )
        self.base_url = base_url
        key = self.options.api_key
        api_key = key.get_secret_value().strip() if key is not None else ""
        self.close()
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
            timeout=httpx.Timeout(
                max(self.first_token_timeout_s, self.chunk_timeout_s),
                connect=self.connect_timeout_s,
            ),
        )
        models = self._with_retries(lambda: self._request("GET", "/models"))
        served = [m.get("id") for m in models.get("data") or [] if isinstance(m, dict)]
        if self.options.model not in served:
            # Single-model servers (the llama.cpp ones) answer to any name; others will say.
            logger.warning(
                "the server at %s does not list model '%s' (it lists: %s)",
                self.base_url,
                self.options.model,
                ", ".join(str(s) for s in served[:10]) or "nothing",
            )

    def close(self) -> None:
        """Close the connection pool (a later :meth:`load` opens a new one)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def prefill(self, messages: Sequence[ChatMessage], *, session: str) -> int:
        body = {
            "model": self.options.model,
            "messages": _as_dicts(messages),
            "max_tokens": 1,
            "temperature": 0.0,
            "stream": False,
        }
        answer = self._with_retries(lambda: self._request("POST", "/chat/completions", body))
        usage = answer.get("usage")
        tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        return tokens if isinstance(tokens, int) else 0

    def complete_json(
        self,
        messages: Sequence[ChatMessage],
        sampling: Sampling,
        schema: dict[str, Any],
        style: str = "json_schema",
    ) -> str:
        """One whole reply constrained to the JSON ``schema`` by the server's guided
        decoding; its text. ``style`` is how the server takes the schema: OpenAI and vLLM
        use ``json_schema``; llama-cpp-python's server uses ``json_object`` with a
        ``schema``."""
        response_format: dict[str, Any] = (
            {"type": "json_object", "schema": schema}
            if style == "json_object"
            else {"type": "json_schema", "json_schema": {"name": "verdict", "schema": schema}}
        )
        body = {**self._body(messages, sampling), "response_format": response_format}
        answer = self._with_retries(lambda: self._request("POST", "/chat/completions", body))
        try:
            return str(answer["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError) as e:
            raise BackendError(f"the judge's answer has no message: {answer!r:.200}") from e

    def stream(
        self, messages: Sequence[ChatMessage], sampling: Sampling, *, session: str
    ) -> Iterator[str]:
        body = {
            **self._body(messages, sampling),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        self._local.prompt_tokens = 0

        def start() -> tuple[str | None, Iterator[str]]:
            pieces = self._stream_once(body)
            return next(pieces, None), pieces

        first, rest = self._with_retries(start)
        if first is None:
            return
        yield first
        try:
            yield from rest
        except BackendError as e:
            raise BackendError(f"{e} (the reply broke off part-way)", retryable=True) from e

    def _body(self, messages: Sequence[ChatMessage], sampling: Sampling) -> dict[str, Any]:
        """A chat completion request; ``stop`` and ``seed`` only when set."""
        body: dict[str, Any] = {
            "model": self.options.model,
            "messages": _as_dicts(messages),
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "stream": False,
        }
        if sampling.stop:
            body["stop"] = list(sampling.stop)
        if sampling.seed is not None:
            body["seed"] = sampling.seed
        return body

    @property
    def last_prompt_tokens(self) -> int:
        """Prompt tokens the server evaluated for this thread's last reply, less those it
        reports as cached; known once the reply has ended, and 0 if the server does not
        report usage."""
        return int(getattr(self._local, "prompt_tokens", 0))

    def _with_retries(self, call: Callable[[], _T]) -> _T:
        """``call()``, tried again with backoff while it fails with a retryable error."""
        for attempt in range(self.retries + 1):
            try:
                return call()
            except BackendError as e:
                if not e.retryable:
                    raise
                if attempt == self.retries:
                    raise BackendError(f"{e} (tried {attempt + 1} times)", retryable=True) from e
                delay = self.backoff_s * 2**attempt
                logger.warning("%s; retry %d of %d in %.1f s", e, attempt + 1, self.retries, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _http(self) -> httpx.Client:
        if self._client is None:
            raise BackendError("the openai backend is not loaded; call load() first")
        return self._client

    def _request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        url = self.base_url + path
        try:
            response = self._http().request(method, url, json=body)
        except httpx.HTTPError as e:
            raise self._transport_error(url, e) from e
        if response.is_error:
            raise self._status_error(url, response)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise BackendError(
                f"{url} did not answer with a JSON object; is {self.base_url} the API root "
                "of an OpenAI-compatible server?"
            )
        return answer

    def _stream_once(self, body: dict[str, Any]) -> Iterator[str]:
        """One streamed request: its text pieces, read from a worker thread under the
        first-token and between-chunk deadlines."""
        url = f"{self.base_url}/chat/completions"
        items: queue.Queue[_Item] = queue.Queue()
        stop = threading.Event()
        worker = threading.Thread(
            target=self._pump, args=(url, body, items, stop), name="openai-stream", daemon=True
        )
        deadline = time.monotonic() + self.first_token_timeout_s
        started = finished = False
        worker.start()
        try:
            while True:
                wait = self.chunk_timeout_s if started else deadline - time.monotonic()
                try:
                    item = items.get(timeout=max(wait, 0.0))
                except queue.Empty:
                    what = "next chunk" if started else "first token"
                    limit = self.chunk_timeout_s if started else self.first_token_timeout_s
                    raise BackendError(
                        f"no {what} from {url} within {limit:g} s", retryable=True
                    ) from None
                if isinstance(item, BackendError):
                    raise item
                if item is _End.DONE or (item is _End.EOF and finished):
                    return
                if item is _End.EOF:
                    raise BackendError(
                        f"{url} closed the stream before the reply was complete", retryable=True
                    )
                assert isinstance(item, dict)
                text, done = self._read_chunk(url, item)
                finished = finished or done
                if text:
                    started = True
                    yield text
        finally:
            stop.set()  # the worker closes the connection at its next line

    def _pump(
        self, url: str, body: dict[str, Any], items: queue.Queue[_Item], stop: threading.Event
    ) -> None:
        """Worker thread: POST ``body`` and queue the stream's events, then an end marker
        or the error that ended it."""
        try:
            with self._http().stream("POST", url, json=body) as response:
                if response.is_error:
                    response.read()
                    items.put(self._status_error(url, response))
                    return
                for data in _sse_data(response.iter_lines()):
                    if stop.is_set():
                        return
                    if data.strip() == _End.DONE.value:
                        items.put(_End.DONE)
                        return
                    items.put(_parse_event(url, data))
            items.put(_End.EOF)
        except httpx.HTTPError as e:
            items.put(self._transport_error(url, e))
        except Exception as e:  # the reader must always hear why the stream ended
            logger.exception("reading the stream from %s failed", url)
            items.put(BackendError(f"reading the stream from {url} failed: {e!r}"))

    def _read_chunk(self, url: str, event: dict[str, Any]) -> tuple[str, bool]:
        """The text in one streamed chunk, and whether it said why the reply finished."""
        if "error" in event:
            raise _error_event(url, event["error"])
        tokens = _evaluated_prompt_tokens(event)
        if tokens is not None:
            self._local.prompt_tokens = tokens
        try:
            choices = event.get("choices") or []
            if not choices:
                return "", False  # e.g. the closing usage chunk
            content = choices[0].get("delta", {}).get("content")
            finished = choices[0].get("finish_reason") is not None
        except (AttributeError, IndexError, KeyError, TypeError):
            raise BackendError(f"{url} sent a malformed chunk: {event!r:.300}") from None
        return (content if isinstance(content, str) else ""), finished

    def _transport_error(self, url: str, e: httpx.HTTPError) -> BackendError:
        if isinstance(e, httpx.UnsupportedProtocol):
            return BackendError(f"cannot request {url}: {e}")
        if isinstance(e, httpx.ConnectError | httpx.ConnectTimeout):
            return BackendError(
                f"cannot connect to the LLM server at {self.base_url} ({e}); is it running? "
                f"(set its address in {BASE_URL_ENV})",
                retryable=True,
            )
        if isinstance(e, httpx.TimeoutException):
            return BackendError(f"{url} timed out ({type(e).__name__})", retryable=True)
        return BackendError(f"the connection to {url} failed: {e}", retryable=True)

    def _status_error(self, url: str, response: httpx.Response) -> BackendError:
        status = response.status_code
        hint = ""
        if status in (401, 403):
            hint = f"; check the API key in {API_KEY_ENV}"
        elif status == 404:
            hint = (
                f"; is model '{self.options.model}' served there (SIMPATIENT_LLM__MODEL), "
                "and does the base URL end in /v1?"
            )
        return BackendError(
            f"{url} answered HTTP {status}: {_server_message(response)}{hint}",
            retryable=status == 429 or status >= 500,
        )


def _as_dicts(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _sse_data(lines: Iterator[str]) -> Iterator[str]:
    """The data of each server-sent event (its ``data:`` lines joined); comments such as
    keep-alive pings and other fields are skipped."""
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value.removeprefix(" "))
    if data:
        yield "\n".join(data)


def _parse_event(url: str, data: str) -> dict[str, Any] | BackendError:
    try:
        event = json.loads(data)
    except ValueError:
        event = None
    if not isinstance(event, dict):
        return BackendError(f"{url} sent an event that is not a JSON object: {data:.300}")
    return event


def _error_event(url: str, error: Any) -> BackendError:
    """An error the server reported inside the stream; a 4xx code other than 429 is final."""
    message = error.get("message", error) if isinstance(error, dict) else error
    code = error.get("code") if isinstance(error, dict) else None
    final = isinstance(code, int) and 400 <= code < 500 and code != 429
    return BackendError(f"{url} reported an error: {message}", retryable=not final)


def _evaluated_prompt_tokens(event: dict[str, Any]) -> int | None:
    """Prompt tokens evaluated (not served from the cache), if this chunk reports them:
    the llama.cpp server's ``timings.prompt_n``, else ``usage`` less its cached tokens."""
    timings = event.get("timings")
    if isinstance(timings, dict) and isinstance(timings.get("prompt_n"), int):
        return int(timings["prompt_n"])
    usage = event.get("usage")
    if not isinstance(usage, dict) or not isinstance(usage.get("prompt_tokens"), int):
        return None
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return int(usage["prompt_tokens"]) - (cached if isinstance(cached, int) else 0)


def _server_message(response: httpx.Response) -> str:
    """The message in an error answer: OpenAI's ``{"error": {"message": ...}}``, Ollama's
    ``{"error": "..."}``, ``{"message": ...}`` or ``{"detail": ...}``, else the raw text."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        error = answer.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        for found in (error, answer.get("message"), answer.get("detail")):
            if found:
                return str(found)
    return response.text.strip()[:500] or response.reason_phrase
