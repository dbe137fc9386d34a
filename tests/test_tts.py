"""Speech synthesis logic without the real engines: phoneme maps and timelines, prosody,
voice choice per persona, the fallback chain, streaming off the event loop, and the
parts of the Coqui backend that run without Coqui."""

import asyncio
import importlib.util
import itertools
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from simpatient.content import CaseLibrary
from simpatient.content.persona import AgeBand, Pitch, Rate, Voice, VoiceGender
from simpatient.content.scenario import Emotion
from simpatient.dialogue.state import PatientState
from simpatient.errors import BackendError
from simpatient.settings import Settings, TTSSettings
from simpatient.speech.tts import (
    BACKENDS,
    FallbackVoice,
    Prosody,
    choose_voices,
    create_backend,
    open_voice,
    speak,
)
from simpatient.speech.tts.bench import bench_voices
from simpatient.speech.tts.coqui import INSTALL_HINT, model_folder, phones_from_tokens
from simpatient.speech.tts.fake import FakeBackend
from simpatient.speech.tts.phonemes import (
    Phone,
    cmu_viseme,
    ipa_viseme,
    phones_from_counts,
    phones_from_ends,
    timeline,
)
from simpatient.speech.tts.voices import Accent, accent_of
from simpatient.speech.visemes import Viseme, VisemeName

V = VisemeName


def check_timeline(visemes: tuple[Viseme, ...], duration: float) -> None:
    """Contiguous from 0 to the audio's end, every span positive, only known names."""
    assert visemes, "no visemes"
    assert visemes[0].start == 0.0
    assert visemes[-1].end == pytest.approx(duration, abs=1e-6)
    for a, b in itertools.pairwise(visemes):
        assert a.end == b.start
        assert a.name is not b.name  # repeats are merged
    assert all(v.end > v.start for v in visemes)
    assert all(isinstance(v.name, VisemeName) for v in visemes)


def fake(voice: str = "ok") -> FakeBackend:
    backend = create_backend(f"fake:{voice}", TTSSettings(), Path("/nonexistent"))
    assert isinstance(backend, FakeBackend)
    return backend


# --- phoneme maps and timelines -------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "viseme"),
    [("p", V.PP), ("m", V.PP), ("f", V.FF), ("ð", V.TH), ("t", V.DD), ("ɾ", V.DD),
     ("ɡ", V.kk), ("ŋ", V.kk), ("tʃ", V.CH), ("ʃ", V.CH), ("z", V.SS), ("l", V.nn),
     ("ɹ", V.RR), ("ɚ", V.RR), ("æ", V.aa), ("aɪ", V.aa), ("ɛ", V.E), ("ə", V.E),
     ("iː", V.ih), ("ˈiː", V.ih), ("oʊ", V.oh), ("ɔːɹ", V.oh), ("uː", V.ou), ("w", V.ou),
     ("n̩", V.nn), (".", V.sil), ("^", V.sil), ("", V.sil), ("☃", V.sil)],
)  # fmt: skip
def test_ipa_map(phone: str, viseme: VisemeName) -> None:
    assert ipa_viseme(phone) is viseme


@pytest.mark.parametrize(
    ("phone", "viseme"),
    [("pau", V.sil), ("b", V.PP), ("v", V.FF), ("dh", V.TH), ("dx", V.DD), ("hh", V.kk),
     ("jh", V.CH), ("s", V.SS), ("n", V.nn), ("er", V.RR), ("ay", V.aa), ("ax", V.E),
     ("iy", V.ih), ("ow", V.oh), ("uw", V.ou), ("aa1", V.aa), ("zz", V.sil)],
)  # fmt: skip
def test_cmu_map(phone: str, viseme: VisemeName) -> None:
    assert cmu_viseme(phone) is viseme


def test_every_viseme_is_reachable_from_both_alphabets() -> None:
    ipa = ["p", "f", "θ", "t", "k", "ʃ", "s", "n", "ɹ", "a", "ɛ", "i", "o", "u", "."]
    cmu = ["p", "f", "th", "t", "k", "sh", "s", "n", "r", "aa", "eh", "iy", "ow", "uw", "pau"]
    assert {ipa_viseme(p) for p in ipa} == set(VisemeName)
    assert {cmu_viseme(p) for p in cmu} == set(VisemeName)


def test_counts_fold_stress_into_the_next_phone_and_length_into_the_previous() -> None:
    # piper's alignment of "^ h ˈ i ː $": stress before the vowel, length after it.
    phones = phones_from_counts(
        ["^", "h", "ˈ", "i", "ː", " ", "$"], [10, 20, 5, 30, 15, 10, 10], 100
    )
    assert [(p.name, p.start, p.end) for p in phones] == [
        ("^", 0.0, 0.1),
        ("h", 0.1, 0.3),
        ("i", 0.3, 0.9),  # 5 (stress) + 30 + 15 (length) + 10 (word gap) samples
        ("$", 0.9, 1.0),
    ]


def test_timeline_covers_the_audio_and_merges_repeats() -> None:
    phones = phones_from_ends([("pau", 0.1), ("m", 0.2), ("b", 0.3), ("aa", 0.5), ("pau", 0.6)])
    visemes = timeline(phones, cmu_viseme, 0.6)
    check_timeline(visemes, 0.6)
    assert [v.name for v in visemes] == [V.sil, V.PP, V.aa, V.sil]
    assert visemes[1] == Viseme(V.PP, 0.1, 0.3)


def test_timeline_scales_engine_times_that_disagree_with_the_audio() -> None:
    phones = phones_from_ends([("pau", 0.2), ("aa", 1.0), ("pau", 1.2)])
    visemes = timeline(phones, cmu_viseme, 0.6)  # the engine claimed 1.2 s
    check_timeline(visemes, 0.6)
    assert visemes[1] == Viseme(V.aa, pytest.approx(0.1), pytest.approx(0.5))


def test_timeline_stretches_a_short_tail_and_handles_empty_audio() -> None:
    visemes = timeline([Phone("_", 0.0, 0.2), Phone("a", 0.2, 0.99)], ipa_viseme, 1.0)
    assert visemes == (Viseme(V.sil, 0.0, 0.2), Viseme(V.aa, 0.2, 1.0))
    assert timeline([], ipa_viseme, 0.0) == ()
    assert timeline([], ipa_viseme, 0.3) == (Viseme(V.sil, 0.0, 0.3),)


# --- prosody ------------------------------------------------------------------------


def _voice(**kw: object) -> Voice:
    fields: dict[str, object] = {
        "gender": "male",
        "age_band": "adult",
        "accent": "General American",
    }
    return Voice.model_validate(fields | kw)


def test_prosody_follows_the_persona_and_the_patient_state() -> None:
    plain = Prosody.for_patient(_voice())
    assert plain == Prosody(1.0, 0.0, 1.0)
    slow_low_old = Prosody.for_patient(
        _voice(rate=Rate.slow, pitch=Pitch.low, age_band=AgeBand.elderly)
    )
    assert slow_low_old.rate < 0.85
    assert slow_low_old.pitch < 0
    sad = Prosody.for_patient(_voice(), PatientState(Emotion.sad, 0.9, 0.5, 0.5))
    tearful = Prosody.for_patient(_voice(), PatientState(Emotion.tearful, 1.0, 0.5, 0.5))
    anxious = Prosody.for_patient(_voice(), PatientState(Emotion.anxious, 0.9, 0.5, 0.5))
    slightly = Prosody.for_patient(_voice(), PatientState(Emotion.anxious, 0.2, 0.5, 0.5))
    assert sad.rate < 1.0
    assert sad.pitch < 0
    assert sad.pause > 1.0
    assert tearful.rate < sad.rate
    assert tearful.pause > sad.pause
    assert anxious.rate > 1.0
    assert anxious.pitch > 0
    assert anxious.pause < 1.0
    assert 1.0 < slightly.rate < anxious.rate


def test_fake_rate_and_pitch_change_the_audio() -> None:
    backend = fake()
    backend.load()
    base = backend.synthesize("Hello there.")
    slow = backend.synthesize("Hello there.", Prosody(rate=0.8))
    assert slow.audio.duration == pytest.approx(base.audio.duration / 0.8, rel=0.02)
    check_timeline(slow.visemes, slow.audio.duration)


# --- voices per persona -------------------------------------------------------------


@pytest.mark.parametrize(
    ("accent", "family"),
    [("General American (West Coast)", Accent.us), ("Boston, New England American", Accent.us),
     ("Chicago African-American English", Accent.us), ("Glaswegian Scottish", Accent.scottish),
     ("Received Pronunciation", Accent.british), ("Ghanaian English", Accent.other),
     ("Mexican Spanish (Jalisco); Spanish-accented English", Accent.other)],
)  # fmt: skip
def test_accent_families(accent: str, family: Accent) -> None:
    assert accent_of(accent) is family


def test_every_persona_gets_a_voice_of_its_gender(library: CaseLibrary) -> None:
    options = TTSSettings()
    chosen = {pid: choose_voices(p.voice, options) for pid, p in library.personas.items()}
    assert len(chosen) >= 5
    for pid, chain in chosen.items():
        persona = library.personas[pid]
        assert chain[-1].startswith("espeak:") or any(n.startswith("espeak:") for n in chain)
        if persona.voice.gender is VoiceGender.male:
            assert chain[0] == "piper:piper-en_US-joe-medium", pid
        elif persona.voice.gender is VoiceGender.female:
            assert chain[0] == "festival:cmu_us_slt_arctic_hts", pid
            assert chain[1] == "flite:slt", pid
        assert all(n.partition(":")[0] in options.engines for n in chain)


def test_scottish_forced_and_gpu_choices() -> None:
    scot = _voice(accent="Scottish (Edinburgh)")
    assert choose_voices(scot, TTSSettings(engines=["flite", "espeak"]))[0] == "flite:awb"
    forced = choose_voices(_voice(), TTSSettings(voice="flite:rms"))
    assert forced[0] == "flite:rms"
    assert forced.count("flite:rms") == 1
    gpu = Settings(profile="gpu").tts
    assert choose_voices(_voice(gender="female"), gpu)[0].startswith("coqui:")


# --- fallback -----------------------------------------------------------------------


def test_fallback_skips_a_voice_that_fails_to_load(caplog: pytest.LogCaptureFixture) -> None:
    chain = FallbackVoice(["fake:fail-load", "nosuch:engine", "fake:ok"], TTSSettings(), Path("."))
    with caplog.at_level(logging.WARNING):
        chain.load()
    assert chain.name == "fake:ok"
    assert "fake:fail-load is unavailable" in caplog.text
    assert "unknown TTS engine 'nosuch'" in caplog.text


def test_fallback_takes_over_mid_reply(caplog: pytest.LogCaptureFixture) -> None:
    chain = FallbackVoice(["fake:fail-synth", "fake:ok"], TTSSettings(), Path("."))
    chain.load()
    with caplog.at_level(logging.WARNING):
        utterance = chain.synthesize("Still here.")
    assert utterance.voice == "fake:ok"
    assert utterance.text == "Still here."
    assert "fake:fail-synth failed on 'Still here.'" in caplog.text


def test_fallback_with_nothing_left_raises() -> None:
    chain = FallbackVoice(["fake:fail-load", "fake:fail-synth"], TTSSettings(), Path("."))
    chain.load()
    with pytest.raises(BackendError, match="no TTS voice could be loaded"):
        chain.synthesize("Hello.")


def test_open_voice_for_a_persona_is_not_loaded_until_asked(library: CaseLibrary) -> None:
    persona = next(iter(library.personas.values()))
    chain = open_voice(persona.voice, TTSSettings(), Path("."))
    assert chain.current is None


def test_unknown_engine_and_registry() -> None:
    assert {"piper", "festival", "flite", "espeak", "coqui", "fake"} <= set(BACKENDS)
    with pytest.raises(BackendError, match="unknown TTS engine 'nope'"):
        create_backend("nope:x", TTSSettings(), Path("."))


# --- streaming off the event loop -----------------------------------------------------


def test_synthesis_refuses_to_run_on_the_event_loop() -> None:
    backend = fake()
    backend.load()

    async def on_loop() -> None:
        backend.synthesize("Hello.")

    with pytest.raises(RuntimeError, match="on the event loop"):
        asyncio.run(on_loop())


def test_speak_runs_synthesis_in_worker_threads_and_keeps_order() -> None:
    backend = fake("slow")
    backend.load()

    async def main() -> tuple[list[str], int]:
        loop_thread = threading.get_ident()
        ticks = 0

        async def ticker() -> None:  # advances only while the loop is free
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        texts = [u.text async for u in speak(backend, ["One two.", "Three four.", "Five."])]
        task.cancel()
        assert loop_thread not in backend.threads
        return texts, ticks

    texts, ticks = asyncio.run(main())
    assert texts == ["One two.", "Three four.", "Five."]
    # Three 0.2 s syntheses: the loop kept ticking meanwhile (about 0 if it were blocked).
    assert ticks >= 30


async def _chunks(text: str, size: int = 3) -> AsyncIterator[str]:
    for i in range(0, len(text), size):
        await asyncio.sleep(0)
        yield text[i : i + size]


def test_speak_a_stream_first_clause_early_with_pauses() -> None:
    backend = fake()
    backend.load()
    reply = "Well, I suppose you are right, doctor. It was 2.5 mg. Thank you"

    async def main() -> list[tuple[str, float, tuple[Viseme, ...]]]:
        return [
            (u.text, u.audio.duration, u.visemes)
            async for u in speak(backend, _chunks(reply), Prosody(pause=2.0))
        ]

    out = asyncio.run(main())
    assert [t for t, _, _ in out] == [
        "Well, I suppose you are right,",
        "doctor.",
        "It was 2.5 mg.",
        "Thank you",
    ]
    for _, duration, visemes in out:
        check_timeline(visemes, duration)
        assert visemes[-1].name is V.sil
    # a sentence ends with 0.12 s x pause 2.0 of silence, a clause with a third of it
    assert out[1][2][-1].end - out[1][2][-1].start >= 0.24
    assert 0.08 <= out[0][2][-1].end - out[0][2][-1].start < 0.24


def test_closing_speak_stops_further_synthesis() -> None:
    """Barge-in: the consumer stops after the first utterance; nothing more is made."""
    backend = fake("slow")
    backend.load()

    async def main() -> None:
        stream = speak(backend, ["One.", "Two.", "Three.", "Four."])
        async for _ in stream:
            break
        await stream.aclose()
        await asyncio.sleep(0.5)

    asyncio.run(main())
    assert len(backend.threads) <= 2


def test_speak_reports_a_failing_text_stream() -> None:
    backend = fake()
    backend.load()

    async def broken() -> AsyncIterator[str]:
        yield "Hello there. "
        raise ValueError("LLM went away")

    async def main() -> list[str]:
        return [u.text async for u in speak(backend, broken())]

    with pytest.raises(ValueError, match="LLM went away"):
        asyncio.run(main())


# --- Coqui (GPU deployments) ---------------------------------------------------------


def test_coqui_tokens_to_phones_with_blanks() -> None:
    tokens = ["<BLNK>", "h", "<BLNK>", "ˈ", "<BLNK>", "a", "<BLNK>", "ɪ", "<BLNK>"]
    frames = [2, 3, 1, 1, 0, 6, 1, 3, 4]
    phones = phones_from_tokens(tokens, frames, hop_length=256, rate=22050)
    names = [p.name for p in phones]
    assert names == ["_", "h", "a", "ɪ"]
    assert phones[-1].end == pytest.approx(sum(frames) * 256 / 22050)
    visemes = timeline(phones, ipa_viseme, sum(frames) * 256 / 22050)
    assert [v.name for v in visemes] == [V.sil, V.kk, V.aa, V.ih]
    check_timeline(visemes, sum(frames) * 256 / 22050)


def test_coqui_model_folder(tmp_path: Path) -> None:
    assert (
        model_folder("tts_models/en/vctk/vits", tmp_path) == tmp_path / "tts_models--en--vctk--vits"
    )
    assert model_folder(str(tmp_path), Path("/x")) == tmp_path


@pytest.mark.skipif(
    importlib.util.find_spec("TTS") is not None, reason="Coqui TTS is installed here"
)
def test_coqui_missing_says_how_to_install() -> None:
    backend = create_backend("coqui:p311", TTSSettings(), Path("."))
    with pytest.raises(BackendError, match="pip install coqui-tts") as info:
        backend.load()
    assert INSTALL_HINT in str(info.value)


def test_coqui_falls_back_to_a_local_voice(caplog: pytest.LogCaptureFixture) -> None:
    chain = FallbackVoice(["coqui:p311", "fake:ok"], TTSSettings(), Path("."))
    with caplog.at_level(logging.WARNING):
        chain.load()
    assert chain.name == "fake:ok"
    assert "coqui:p311 is unavailable" in caplog.text


def test_coqui_synthesis() -> None:
    if importlib.util.find_spec("TTS") is None:
        pytest.skip(
            "Coqui TTS is not installed: it needs a torchaudio matching torch, and PyPI has "
            "none for the CPU torch 2.13 pinned here; run this on a GPU host with coqui-tts"
        )
    backend = create_backend("coqui:p311", TTSSettings(device="cuda"), Path("."))
    backend.load()
    utterance = backend.synthesize("I have been feeling very tired.")
    check_timeline(utterance.visemes, utterance.audio.duration)


def test_bench_voices_reports_each_voice_and_skips_missing_ones() -> None:
    figures = bench_voices(["fake:ok", "fake:fail-load"], TTSSettings(), Path("."))
    assert [f.voice for f in figures] == ["fake:ok"]
    f = figures[0]
    assert 0 < f.first_audio_p50_s <= f.first_audio_max_s < 1.0
    assert 0 < f.rtf_p50 < 1.0
    assert f.audio_s > 5.0
    assert set(f.as_dict()) == {
        "voice",
        "load_s",
        "first_audio_p50_s",
        "first_audio_max_s",
        "rtf_p50",
        "audio_s",
    }


def test_empty_text_gives_empty_audio() -> None:
    backend = fake()
    backend.load()
    utterance = backend.synthesize("  ")
    assert utterance.audio.duration == 0.0
    assert utterance.visemes == ()
