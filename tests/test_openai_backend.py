"""The OpenAI-compatible HTTP backend, against a real llama.cpp server running SmolLM2 and,
for the failures a real server will not produce on demand, a scripted HTTP server.

All traffic stays on 127.0.0.1.
"""

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from servers import free_port

from simpatient.dialogue.llm import ChatMessage, Sampling
from simpatient.dialogue.openai_backend import API_KEY_ENV, BASE_URL_ENV, OpenAICompatBackend
from simpatient.errors import BackendError
from simpatient.settings import LLMSettings

STORY = [
    ChatMessage("system", "You are a helpful assistant."),
    ChatMessage("user", "Tell me a short story about a cat."),
]
GREEDY = Sampling(max_tokens=40, temperature=0.0, top_p=1.0)


Connect = Callable[..., OpenAICompatBackend]


@pytest.fixture
def connect() -> Iterator[Connect]:
    """Makes loaded backends for a base URL (small timeouts, fast backoff); closes them."""
    made: list[OpenAICompatBackend] = []

    def make(url: str, *, key: str | None = None, **timeouts: float) -> OpenAICompatBackend:
        options = LLMSettings(
            backend="openai",
            model="smollm2",
            threads=1,
            gpu_layers=0,
            base_url=url,
            api_key=key,
            **{
                "connect_timeout_s": 1.0,
                "first_token_timeout_s": 30.0,
                "chunk_timeout_s": 10.0,
                **timeouts,
            },
        )
        backend = OpenAICompatBackend(Path("unused"), options)
        backend.backoff_s = 0.01
        made.append(backend)
        backend.load()
        return backend

    yield make
    for backend in made:
        backend.close()


def test_streams_a_reply_in_pieces(llama_server: str, connect: Connect) -> None:
    pieces = list(connect(llama_server).stream(STORY, GREEDY, session="s"))
    assert len(pieces) >= 5
    assert all(isinstance(p, str) and p for p in pieces)
    assert len("".join(pieces).split()) >= 5


def test_respects_max_tokens(llama_server: str, connect: Connect) -> None:
    backend = connect(llama_server)
    short = list(backend.stream(STORY, Sampling(8, 0.0, 1.0), session="s"))
    long = list(backend.stream(STORY, Sampling(30, 0.0, 1.0), session="s"))
    # The server streams about one token per piece: the cap, not the story, ends the reply.
    assert 1 <= len(short) <= 8
    assert len(long) > 8
    assert len("".join(short)) < len("".join(long))


def test_stops_at_a_stop_string(llama_server: str, connect: Connect) -> None:
    backend = connect(llama_server)
    full = "".join(backend.stream(STORY, GREEDY, session="s"))
    # A word from the middle of the greedy reply: generating again must end just before it.
    words = [w.strip(".,!?\"'") for w in full.split()[3:]]
    stop = next(w for w in words if len(w) >= 4 and w.isalpha())
    sampling = Sampling(max_tokens=40, temperature=0.0, top_p=1.0, stop=(stop,))
    stopped = "".join(backend.stream(STORY, sampling, session="s"))
    assert stop not in stopped
    assert stopped == full[: full.index(stop)]


def test_prefill_reports_the_prompt_tokens(llama_server: str, connect: Connect) -> None:
    backend = connect(llama_server)
    persona = backend.prefill(STORY[:1], session="s")
    both = backend.prefill(STORY, session="s")
    assert 5 < persona < both < 100
    assert "".join(backend.stream(STORY, Sampling(8, 0.0, 1.0), session="s")).strip()


def test_prefill_beyond_the_context_is_not_retried(llama_server: str, connect: Connect) -> None:
    backend = connect(llama_server)
    too_long = [ChatMessage("system", "word " * 3000)]
    with pytest.raises(BackendError, match="HTTP 400") as e:
        backend.prefill(too_long, session="s")
    assert not e.value.retryable
    assert "context" in str(e.value)


def test_load_warns_when_the_model_is_not_listed(
    llama_server: str, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="simpatient.dialogue.openai_backend"):
        connect(llama_server)
    assert "does not list model 'smollm2'" in caplog.text
    assert "SmolLM2-135M-Instruct" in caplog.text


# --- a scripted server, for failures on demand -------------------------------------------

Action = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Stub:
    """Answers POSTs with the scripted actions in order, and records every request."""

    url: str = ""
    actions: list[Action] = field(default_factory=list)
    models: Action | None = None
    requests: list[Recorded] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _chunk(content: str | None = None, finish: str | None = None) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _event(payload: Any) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


def _headers(h: BaseHTTPRequestHandler, status: int = 200, *, chunked: bool = False) -> None:
    if chunked:
        h.protocol_version = "HTTP/1.1"
    h.send_response(status)
    h.send_header("Content-Type", "text/event-stream")
    h.send_header("Connection", "close")
    if chunked:
        h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    h.wfile.flush()


def reply(*pieces: str, usage: dict[str, Any] | None = None, ping: bool = True) -> Action:
    """A complete stream: a role chunk, the pieces, a finish chunk, usage, [DONE]."""

    def act(h: BaseHTTPRequestHandler) -> None:
        _headers(h)
        h.wfile.write(_event({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}))
        if ping:
            h.wfile.write(b": ping\n\n")
        for piece in pieces:
            h.wfile.write(_event(_chunk(piece)))
        h.wfile.write(_event(_chunk(finish="stop")))
        if usage is not None:
            h.wfile.write(_event({"choices": [], "usage": usage}))
        h.wfile.write(b"data: [DONE]\n\n")

    return act


def answer(status: int, payload: Any) -> Action:
    def act(h: BaseHTTPRequestHandler) -> None:
        body = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return act


def cut_off(mode: str) -> Action:
    """One piece, then the connection ends: cleanly ("eof") or mid-chunk ("chunked")."""

    def act(h: BaseHTTPRequestHandler) -> None:
        _headers(h, chunked=mode == "chunked")
        data = _event(_chunk("Hello"))
        h.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n" if mode == "chunked" else data)
        h.wfile.flush()
        h.close_connection = True

    return act


def stall(seconds: float, *pieces: str) -> Action:
    """A role chunk and the pieces, then silence."""

    def act(h: BaseHTTPRequestHandler) -> None:
        _headers(h)
        h.wfile.write(_event({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}))
        for piece in pieces:
            h.wfile.write(_event(_chunk(piece)))
        h.wfile.flush()
        time.sleep(seconds)

    return act


@pytest.fixture
def stub() -> Iterator[Stub]:
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = json.loads(raw) if raw else None
            state.requests.append(Recorded(self.command, self.path, dict(self.headers), body))

        def do_GET(self) -> None:
            self._record()
            (state.models or answer(200, {"object": "list", "data": [{"id": "smollm2"}]}))(self)

        def do_POST(self) -> None:
            self._record()
            action = state.actions.pop(0) if state.actions else answer(500, {"error": "no script"})
            with contextlib.suppress(OSError):  # the client gave up first
                action(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    state.server = server
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield state
    state.stop()


def drain(pieces: Iterator[str], into: list[str]) -> None:
    """Collect ``pieces`` until they end or fail, keeping what came before a failure."""
    for piece in pieces:
        into.append(piece)


def posts(stub: Stub) -> list[Recorded]:
    return [r for r in stub.requests if r.method == "POST"]


def test_sends_the_sampling_options_and_key(stub: Stub, connect: Connect) -> None:
    usage = {
        "prompt_tokens": 50,
        "completion_tokens": 3,
        "prompt_tokens_details": {"cached_tokens": 40},
    }
    stub.actions = [reply("Hello", " there", ".", usage=usage), reply("Hi")]
    backend = connect(stub.url, key="sekrit")
    sampling = Sampling(12, 0.3, 0.8, seed=42, stop=("\n\n", "Doctor:"))
    assert list(backend.stream(STORY, sampling, session="s")) == ["Hello", " there", "."]
    assert backend.last_prompt_tokens == 10  # 50 prompt tokens, 40 of them cached
    assert list(backend.stream(STORY, Sampling(5, 0.7, 0.9), session="s")) == ["Hi"]
    assert backend.last_prompt_tokens == 0  # this stream reported no usage

    first, second = posts(stub)
    assert first.path == "/v1/chat/completions"
    assert first.headers["Authorization"] == "Bearer sekrit"
    assert first.body == {
        "model": "smollm2",
        "messages": [{"role": m.role, "content": m.content} for m in STORY],
        "max_tokens": 12,
        "temperature": 0.3,
        "top_p": 0.8,
        "stream": True,
        "stream_options": {"include_usage": True},
        "stop": ["\n\n", "Doctor:"],
        "seed": 42,
    }
    assert "seed" not in second.body
    assert "stop" not in second.body
    assert stub.requests[0].method == "GET"
    assert stub.requests[0].path == "/v1/models"


def test_a_server_that_went_away_fails_retryably_after_retries(
    stub: Stub, connect: Connect
) -> None:
    backend = connect(stub.url, connect_timeout_s=0.5)
    stub.stop()  # the port is closed now: connection refused
    start = time.monotonic()
    with pytest.raises(BackendError, match="cannot connect") as e:
        list(backend.stream(STORY, GREEDY, session="s"))
    assert e.value.retryable
    assert stub.url in str(e.value)
    assert "tried 3 times" in str(e.value)
    assert time.monotonic() - start < 3


def test_load_names_the_url_of_a_server_that_is_not_running(connect: Connect) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    start = time.monotonic()
    with pytest.raises(BackendError, match="cannot connect to the LLM server") as e:
        connect(url, connect_timeout_s=0.5)
    assert url in str(e.value)
    assert BASE_URL_ENV in str(e.value)
    assert time.monotonic() - start < 3


def test_load_rejects_a_url_that_is_not_http(connect: Connect) -> None:
    with pytest.raises(BackendError, match=BASE_URL_ENV) as e:
        connect("127.0.0.1:8000/v1")
    assert not e.value.retryable


def test_load_reports_a_refused_key(stub: Stub, connect: Connect) -> None:
    stub.models = answer(401, {"error": {"message": "Incorrect API key provided"}})
    with pytest.raises(BackendError, match="Incorrect API key provided") as e:
        connect(stub.url, key="wrong")
    assert not e.value.retryable
    assert API_KEY_ENV in str(e.value)
    assert f"{stub.url}/models" in str(e.value)


@pytest.mark.parametrize("status", [500, 503, 429])
def test_retries_server_errors_before_the_first_token(
    stub: Stub, connect: Connect, status: int
) -> None:
    stub.actions = [answer(status, {"error": {"message": "busy"}}), reply("Fine", " now")]
    backend = connect(stub.url)
    assert "".join(backend.stream(STORY, GREEDY, session="s")) == "Fine now"
    assert len(posts(stub)) == 2


def test_a_client_error_is_not_retried(stub: Stub, connect: Connect) -> None:
    message = "'temperature' must be between 0 and 2"
    stub.actions = [answer(400, {"error": {"message": message, "type": "invalid_request_error"}})]
    backend = connect(stub.url)
    with pytest.raises(BackendError, match="HTTP 400") as e:
        list(backend.stream(STORY, GREEDY, session="s"))
    assert not e.value.retryable
    assert message in str(e.value)
    assert len(posts(stub)) == 1


def test_a_missing_model_says_so(stub: Stub, connect: Connect) -> None:
    stub.actions = [answer(404, {"error": "model 'smollm2' not found"})]  # Ollama's shape
    backend = connect(stub.url)
    with pytest.raises(BackendError, match="model 'smollm2' not found") as e:
        list(backend.stream(STORY, GREEDY, session="s"))
    assert not e.value.retryable
    assert "SIMPATIENT_LLM__MODEL" in str(e.value)


@pytest.mark.parametrize("mode", ["eof", "chunked"])
def test_a_reply_cut_off_after_text_fails_without_retrying(
    stub: Stub, connect: Connect, mode: str
) -> None:
    stub.actions = [cut_off(mode), reply("never", " sent")]
    backend = connect(stub.url)
    received: list[str] = []
    with pytest.raises(BackendError, match="broke off") as e:
        drain(backend.stream(STORY, GREEDY, session="s"), received)
    assert received == ["Hello"]
    assert e.value.retryable
    assert len(posts(stub)) == 1


def test_a_silent_server_is_retried_then_fails(stub: Stub, connect: Connect) -> None:
    stub.actions = [stall(2.0) for _ in range(3)]
    backend = connect(stub.url, first_token_timeout_s=0.3)
    start = time.monotonic()
    with pytest.raises(BackendError, match="no first token") as e:
        list(backend.stream(STORY, GREEDY, session="s"))
    assert e.value.retryable
    assert len(posts(stub)) == 3
    assert time.monotonic() - start < 2


def test_a_stall_after_the_first_token_fails_without_retrying(stub: Stub, connect: Connect) -> None:
    stub.actions = [stall(2.0, "Hello"), reply("never")]
    backend = connect(stub.url, chunk_timeout_s=0.3)
    received: list[str] = []
    start = time.monotonic()
    with pytest.raises(BackendError, match="no next chunk") as e:
        drain(backend.stream(STORY, GREEDY, session="s"), received)
    assert received == ["Hello"]
    assert e.value.retryable
    assert len(posts(stub)) == 1
    assert time.monotonic() - start < 1.5


def test_closing_a_reply_early_does_not_wait_for_the_server(stub: Stub, connect: Connect) -> None:
    stub.actions = [stall(3.0, "Hello")]
    replies = connect(stub.url).stream(STORY, GREEDY, session="s")
    assert isinstance(replies, Generator)
    assert next(replies) == "Hello"
    start = time.monotonic()
    replies.close()  # the learner interrupted
    assert time.monotonic() - start < 0.5


def test_prefill_is_retried_and_counts_prompt_tokens(stub: Stub, connect: Connect) -> None:
    ok = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "I"}}]}
    stub.actions = [
        answer(502, {"detail": "bad gateway"}),
        answer(200, {**ok, "usage": {"prompt_tokens": 123}}),
    ]
    backend = connect(stub.url)
    assert backend.prefill(STORY[:1], session="s") == 123
    retried = posts(stub)
    assert len(retried) == 2
    assert retried[1].body["max_tokens"] == 1
    assert retried[1].body["stream"] is False
    stub.actions = [answer(200, ok)]
    assert backend.prefill(STORY[:1], session="s") == 0  # no usage reported
