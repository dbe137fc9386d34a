"""Speech recognition: the guards, the registry, the thread rule, the CUDA fallback, and
the embedded Whisper base on real speech, silence, noise and clipped audio."""

import asyncio
import logging
import threading
from pathlib import Path

import numpy as np
import pytest
import speech_data

from simpatient.content import CaseLibrary
from simpatient.errors import BackendError
from simpatient.settings import ASRSettings, Settings
from simpatient.speech.asr import (
    ASRBackend,
    DecodedSegment,
    VocabularyHints,
    create_asr,
)
from simpatient.speech.asr_fake import FakeASRBackend
from simpatient.speech.audio import ASR_RATE, AudioChunk
from simpatient.speech.hints import hints_from_case
from simpatient.speech.wer import wer

#: The issue's bar for the embedded default on this set (Whisper base measured 4.2 %).
MAX_WER = 0.06


def _options(**overrides: object) -> ASRSettings:
    return Settings(asr=overrides).asr


def _fake(**overrides: object) -> FakeASRBackend:
    backend = create_asr(_options(backend="fake", **overrides), Path("unused"))
    assert isinstance(backend, FakeASRBackend)
    backend.load()
    return backend


def _seconds(s: float) -> AudioChunk:
    return AudioChunk(np.zeros(int(s * ASR_RATE), np.float32), ASR_RATE, 5.0)


# -- guards, on decoder output written by hand -------------------------------------------


def _guard(*segments: DecodedSegment, duration: float = 3.0) -> tuple[str, float, tuple[str, ...]]:
    return _fake()._guard(segments, duration)


def _seg(text: str, **kw: float) -> DecodedSegment:
    values = {"avg_logprob": -0.2, "no_speech_prob": 0.05, "compression_ratio": 1.3, **kw}
    return DecodedSegment(text, len(text.split()) + 1, **values)  # type: ignore[arg-type]


def test_guards_keep_good_text_with_its_confidence() -> None:
    text, confidence, dropped = _guard(_seg("How are you feeling today?"))
    assert text == "How are you feeling today?"
    assert dropped == ()
    assert confidence == pytest.approx(np.exp(-0.2))


@pytest.mark.parametrize(
    ("segment", "reason"),
    [
        (_seg("you", no_speech_prob=0.9, avg_logprob=-1.5), "no speech"),
        (_seg("the the the the the the the the", compression_ratio=3.1), "repetition"),
        (_seg("Thanks for watching!"), "known hallucination"),
        (_seg("Glossary: Maggie, FOLFOX."), "known hallucination"),
    ],
)
def test_guards_drop_what_whisper_invents(segment: DecodedSegment, reason: str) -> None:
    text, _confidence, dropped = _guard(_seg("Hello."), segment)
    assert text == "Hello."
    assert len(dropped) == 1
    assert dropped[0].startswith(reason)


def test_guards_drop_more_words_than_the_audio_can_hold() -> None:
    text, confidence, dropped = _guard(_seg("one two three four five six seven"), duration=0.6)
    assert (text, confidence) == ("", 0.0)
    assert "too many words" in dropped[0]


def test_too_short_audio_is_not_decoded() -> None:
    fake = _fake()
    assert fake.transcribe(_seconds(0.05)).empty
    assert fake.threads == []


def test_hints_reach_the_decoder_as_a_glossary(library: CaseLibrary) -> None:
    hints = hints_from_case(library.cases["maggie-recurrence-bbn"])
    assert {"Margaret O'Connell", "Maggie", "Siobhan", "FOLFOX", "CEA"} <= set(hints.terms)
    assert "chemotherapy" in hints.terms
    prompt = hints.prompt()
    assert prompt is not None
    assert len(prompt) <= hints.max_chars
    fake = _fake()
    fake.transcribe(_seconds(1.0), hints)
    assert fake.prompts == [prompt]
    assert VocabularyHints().prompt() is None


def test_profiles_choose_the_device_and_a_variable_overrides_one_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cpu, gpu = Settings().asr, Settings(profile="gpu").asr
    assert (cpu.device, cpu.compute_type, cpu.model) == ("cpu", "int8", "whisper-base")
    assert (gpu.device, gpu.compute_type) == ("cuda", "float16")
    monkeypatch.setenv("SIMPATIENT_ASR__BEAM_SIZE", "3")
    monkeypatch.setenv("SIMPATIENT_VAD__CONFIRM_MS", "300")
    settings = Settings()
    assert (settings.asr.beam_size, settings.asr.compute_type) == (3, "int8")
    assert settings.vad.confirm_ms == 300


# -- registry and threads ------------------------------------------------------------------


def test_unknown_backend_names_the_known_ones() -> None:
    with pytest.raises(BackendError, match="fake, faster_whisper"):
        create_asr(_options(backend="nope"), Path("unused"))


def test_decoding_refuses_the_event_loop_thread() -> None:
    fake = _fake()

    async def on_the_loop() -> None:
        fake.transcribe(_seconds(1.0))

    with pytest.raises(RuntimeError, match="event loop"):
        asyncio.run(on_the_loop())
    assert fake.threads == []


def test_recognize_decodes_in_a_worker_thread() -> None:
    fake = _fake()

    async def main() -> int:
        await fake.recognize(_seconds(2.0))
        return threading.get_ident()

    loop_thread = asyncio.run(main())
    assert fake.threads
    assert loop_thread not in fake.threads


# -- the embedded Whisper base ------------------------------------------------------------


@pytest.fixture(scope="module")
def whisper() -> ASRBackend:
    return speech_data.load_whisper()


def test_cuda_falls_back_to_the_cpu_where_there_is_none(caplog: pytest.LogCaptureFixture) -> None:
    import ctranslate2

    if ctranslate2.get_cuda_device_count() > 0:
        pytest.skip("this machine has CUDA: the fallback path cannot be reached")
    backend = create_asr(_options(device="cuda", compute_type="float16"), Settings().models_dir)
    with caplog.at_level(logging.WARNING):
        backend.load()
    assert (backend.device, backend.compute_type) == ("cpu", "int8")  # type: ignore[attr-defined]
    assert "CUDA is not available" in caplog.text
    text = backend.transcribe(speech_data.clip("goforward")).text
    assert wer([("go forward ten meters", text)]).errors == 0


def test_loads_on_cuda_when_there_is_one() -> None:
    import ctranslate2

    if ctranslate2.get_cuda_device_count() == 0:
        pytest.skip("no CUDA device on this machine (the CPU fallback is tested above)")
    backend = create_asr(_options(device="cuda", compute_type="float16"), Settings().models_dir)
    backend.load()
    assert backend.device == "cuda"  # type: ignore[attr-defined]
    assert (
        wer(
            [("go forward ten meters", backend.transcribe(speech_data.clip("goforward")).text)]
        ).errors
        == 0
    )


def test_offline_wer_on_real_speech(whisper: ASRBackend) -> None:
    refs = speech_data.references()
    results = {name: whisper.transcribe(speech_data.clip(name)) for name in refs}
    score = wer((ref, results[name].text) for name, ref in refs.items())
    assert score.words == 96
    assert score.rate <= MAX_WER, {n: r.text for n, r in results.items()}
    assert all(0.3 < r.confidence <= 1.0 for r in results.values())
    assert all(r.final and r.decode_s > 0 for r in results.values())


def test_hints_do_not_cost_accuracy(whisper: ASRBackend, library: CaseLibrary) -> None:
    hints = hints_from_case(library.cases["maggie-recurrence-bbn"])
    refs = {k: v for k, v in speech_data.references().items() if k.endswith(("0870", "0920"))}
    score = wer(
        (ref, whisper.transcribe(speech_data.clip(n), hints).text) for n, ref in refs.items()
    )
    assert score.rate <= MAX_WER


@pytest.mark.parametrize("kind", ["silence", "white noise", "mains hum", "breath-like noise"])
def test_no_words_from_silence_or_noise(whisper: ASRBackend, kind: str) -> None:
    rng = np.random.default_rng(7)
    n = 3 * ASR_RATE
    samples = {
        "silence": np.zeros(n),
        "white noise": rng.standard_normal(n) * 0.1,
        "mains hum": 0.3 * np.sin(2 * np.pi * 50 * np.arange(n) / ASR_RATE),
        "breath-like noise": np.convolve(rng.standard_normal(n), np.ones(40) / 40, "same") * 0.3,
    }[kind]
    result = whisper.transcribe(AudioChunk(samples.astype(np.float32), ASR_RATE, 0.0))
    assert result.empty
    assert result.confidence == 0.0


def test_clipped_speech_is_still_recognised(whisper: ASRBackend) -> None:
    name = "sense_and_sensibility_01_austen_64kb-0880"
    audio = speech_data.clip(name)
    clipped = np.clip(audio.samples * 10, -1, 1)
    assert np.mean(np.abs(clipped) >= 1) > 0.03  # a few per cent of samples clipped
    result = whisper.transcribe(AudioChunk(clipped, ASR_RATE, 0.0))
    assert wer([(speech_data.references()[name], result.text)]).rate == 0.0
