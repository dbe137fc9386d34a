"""The transformers backend, for real: SmolLM2-135M-Instruct from its GGUF file on the CPU
(transformers dequantises it on load, about 20 s, once for the module)."""

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

for _package in ("torch", "transformers", "accelerate", "gguf"):
    pytest.importorskip(_package, reason="install the transformers backend's packages")

import torch  # noqa: E402

from simpatient.dialogue.llm import ChatMessage, Sampling  # noqa: E402
from simpatient.dialogue.transformers_backend import (  # noqa: E402
    WORKER_NAME,
    StopCutter,
    TransformersBackend,
    _pick_device,
)
from simpatient.errors import BackendError, ModelError  # noqa: E402
from simpatient.settings import LLMSettings  # noqa: E402

pytestmark = pytest.mark.llm

SYSTEM = ChatMessage(
    "system",
    "You are Maggie, a 58-year-old patient waiting for your scan results. "
    "Answer in one or two sentences.",
)
OTHER_SYSTEM = ChatMessage(
    "system", "You are Tom, a 30-year-old man with a sprained ankle. Keep answers short."
)
GREEDY = Sampling(max_tokens=24, temperature=0.0, top_p=1.0)


def _settings(model: str, **overrides: Any) -> LLMSettings:
    values: dict[str, Any] = {
        "backend": "transformers",
        "model": model,
        "threads": 1,  # 2 threads on a 2-core machine shared with anything else run 10x slower
        "gpu_layers": 0,
    }
    return LLMSettings(**(values | overrides))


@pytest.fixture(scope="module")
def backend(smollm2_gguf: Path) -> TransformersBackend:
    loaded = TransformersBackend(smollm2_gguf, _settings(str(smollm2_gguf)))
    loaded.load()
    return loaded


@pytest.fixture
def forward_calls(
    backend: TransformersBackend, monkeypatch: pytest.MonkeyPatch
) -> Callable[[Callable[[int], None]], list[int]]:
    """Install a hook run before every forward pass of the model; returns the call log."""

    def install(hook: Callable[[int], None]) -> list[int]:
        calls: list[int] = []
        original = backend._model.forward

        def forward(*args: Any, **kwargs: Any) -> Any:
            calls.append(len(calls) + 1)
            hook(len(calls))
            return original(*args, **kwargs)

        monkeypatch.setattr(backend._model, "forward", forward)
        return calls

    return install


def _chat(user: str, system: ChatMessage = SYSTEM) -> list[ChatMessage]:
    return [system, ChatMessage("user", user)]


def _reply(
    backend: TransformersBackend,
    messages: list[ChatMessage],
    session: str,
    sampling: Sampling = GREEDY,
) -> str:
    return "".join(backend.stream(messages, sampling, session=session))


def _workers_alive() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == WORKER_NAME and t.is_alive()]


def test_streams_the_reply_in_several_pieces(backend: TransformersBackend) -> None:
    pieces = list(backend.stream(_chat("How are you feeling today?"), GREEDY, session="pieces"))
    assert len(pieces) >= 3
    assert all(pieces)
    assert any(c.isalpha() for c in "".join(pieces))
    assert not _workers_alive()


def test_max_tokens_caps_the_reply(backend: TransformersBackend) -> None:
    chat = _chat("Tell me about your family.")
    short = _reply(backend, chat, "cap-short", Sampling(max_tokens=6, temperature=0, top_p=1))
    longer = _reply(backend, chat, "cap-long", Sampling(max_tokens=30, temperature=0, top_p=1))
    assert short.strip()
    assert len(short.split()) <= 6  # every word takes at least one token
    assert longer.startswith(short)  # greedy: the same reply, cut
    assert len(longer) > len(short)


def test_a_seed_repeats_a_sampled_reply(backend: TransformersBackend) -> None:
    sampled = Sampling(max_tokens=20, temperature=1.0, top_p=0.95, seed=7)
    chat = _chat("What did you have for breakfast?")
    assert _reply(backend, chat, "seed-a", sampled) == _reply(backend, chat, "seed-b", sampled)


@pytest.mark.parametrize(
    ("pieces", "stops", "expected"),
    [
        (["Hello Wo", "rld! Bye"], ("World",), "Hello "),
        (["I am ", "fine<", "|im", "_end|> and more"], ("<|im_end|>",), "I am fine"),
        (["no stop ", "here <", "|"], ("<|im_end|>",), "no stop here <|"),  # held, then flushed
        (["Doctor: hi ", "Patient: no"], ("Patient:", "Doctor:"), ""),
        (["a b c ", "d e f"], ("e", "c "), "a b "),  # the earliest stop wins
        (["plain text"], (), "plain text"),
    ],
)
def test_stop_cutter_never_lets_a_stop_string_through(
    pieces: list[str], stops: tuple[str, ...], expected: str
) -> None:
    cutter = StopCutter(stops)
    out = [cutter.feed(p) for p in pieces]
    out.append(cutter.flush())
    assert "".join(out) == expected
    # What was emitted before the stop was seen is never more than the final text.
    assert all(expected.startswith("".join(out[: i + 1])) for i in range(len(out)))


def test_a_stop_string_ends_the_real_reply_before_it(backend: TransformersBackend) -> None:
    chat = _chat("How did you sleep last night?")
    full = _reply(backend, chat, "stop-full", Sampling(max_tokens=30, temperature=0, top_p=1))
    space = full.index(" ", len(full) // 2)
    stop = full[space - 3 : space + 3]  # spans two streamed pieces
    cut = _reply(
        backend, chat, "stop-cut", Sampling(max_tokens=30, temperature=0, top_p=1, stop=(stop,))
    )
    assert cut == full[: full.index(stop)]
    assert stop not in cut


def test_the_next_turn_evaluates_only_the_new_tokens(backend: TransformersBackend) -> None:
    first = _chat("How are you feeling today?")
    reply = _reply(backend, first, "turns")
    whole_first = backend.last_prompt_tokens
    second = [*first, ChatMessage("assistant", reply), ChatMessage("user", "Any pain?")]
    cached = _reply(backend, second, "turns")
    evaluated = backend.last_prompt_tokens

    fresh = _reply(backend, second, "turns-fresh")
    whole_second = backend.last_prompt_tokens
    assert whole_second > whole_first > evaluated
    assert evaluated < 20  # the end of the reply and the new user turn
    assert cached == fresh  # the cache changes the cost, not the (greedy) reply


def test_a_changed_history_is_evaluated_from_the_first_difference(
    backend: TransformersBackend,
) -> None:
    _reply(backend, _chat("Are you in pain right now?"), "edit")
    edited = _chat("Have you eaten anything today?")
    reply = _reply(backend, edited, "edit")  # the cache is cropped back to the system turn
    evaluated = backend.last_prompt_tokens
    assert reply == _reply(backend, edited, "edit-fresh")
    assert evaluated < 20 < backend.last_prompt_tokens


def test_interleaved_sessions_keep_their_own_cache(backend: TransformersBackend) -> None:
    histories = {"maggie": _chat("How are you?"), "tom": _chat("What happened?", OTHER_SYSTEM)}
    full: dict[str, int] = {}
    for name, chat in histories.items():
        chat.append(ChatMessage("assistant", _reply(backend, chat, name)))
        full[name] = backend.last_prompt_tokens
        chat.append(ChatMessage("user", "Tell me more."))
    for name, chat in histories.items():
        _reply(backend, chat, name)
        assert backend.last_prompt_tokens < 20 < full[name]


def test_prefill_and_release(backend: TransformersBackend) -> None:
    prefilled = backend.prefill([SYSTEM], session="prefill")
    chat = _chat("Did the doctor call?")
    on_prefill = _reply(backend, chat, "prefill")
    after_prefill = backend.last_prompt_tokens
    backend.release("prefill")
    assert _reply(backend, chat, "prefill") == on_prefill
    assert after_prefill < 20 < prefilled < backend.last_prompt_tokens
    assert backend.prefill([SYSTEM], session="prefill") == 1  # all but the last token kept


def test_stopping_early_ends_the_generation_thread(
    backend: TransformersBackend, forward_calls: Callable[[Callable[[int], None]], list[int]]
) -> None:
    calls = forward_calls(lambda n: None)
    chat = _chat("Tell me the long story of your life, from childhood on.")
    sampling = Sampling(max_tokens=60, temperature=0, top_p=1)
    _reply(backend, chat, "early-full", sampling)
    assert len(calls) == 60  # left alone, it runs to the cap

    calls.clear()
    for piece in backend.stream(chat, sampling, session="early"):
        assert piece
        assert _workers_alive()
        break  # the abandoned generator is closed, which must stop the worker
    deadline = time.monotonic() + 2.0
    while _workers_alive() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _workers_alive()
    stopped_at = len(calls)
    assert stopped_at < 20
    time.sleep(0.3)
    assert len(calls) == stopped_at  # nothing runs on in the background
    assert _reply(backend, _chat("Hello?"), "early-after")  # and the lock was released


def test_an_error_inside_generation_surfaces_as_backend_error(
    backend: TransformersBackend, forward_calls: Callable[[Callable[[int], None]], list[int]]
) -> None:
    def boom(n: int) -> None:
        if n == 4:
            raise RuntimeError("simulated device failure")

    calls = forward_calls(boom)
    chat = _chat("How are you feeling today?")
    received: list[str] = []
    with pytest.raises(BackendError, match="simulated device failure") as raised:
        received.extend(backend.stream(chat, GREEDY, session="boom"))
    assert raised.value.retryable
    assert len(calls) == 4
    assert "".join(received).strip() in _reply(backend, chat, "boom-reference")
    assert not _workers_alive()
    whole_prompt = backend.last_prompt_tokens
    _reply(backend, chat, "boom")  # the failed session's cache was dropped: from scratch
    assert backend.last_prompt_tokens == whole_prompt


def test_a_conversation_longer_than_the_context_is_refused(
    backend: TransformersBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backend, "options", _settings("x", context=512))
    with pytest.raises(BackendError, match="SIMPATIENT_LLM__CONTEXT"):
        _reply(backend, _chat("pain " * 600), "too-long")


def test_a_missing_model_path_is_a_model_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(ModelError, match=str(missing)):
        TransformersBackend(missing, _settings(str(missing))).load()


def test_a_hub_id_loads_only_from_the_local_cache(tmp_path: Path) -> None:
    hub_id = "simpatient-tests/not-a-cached-model"
    started = time.monotonic()
    with pytest.raises(ModelError, match=f"(?s){hub_id}.*simpatient models fetch"):
        TransformersBackend(tmp_path / hub_id, _settings(hub_id)).load()
    assert time.monotonic() - started < 10  # no download attempt to wait for


def test_a_gpu_setting_without_cuda_falls_back_to_the_cpu(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        device = _pick_device(-1)
    if torch.cuda.is_available():
        assert device.type == "cuda"
    else:
        assert device.type == "cpu"
        assert "running on the CPU" in caplog.text
    assert _pick_device(0).type == "cpu"
