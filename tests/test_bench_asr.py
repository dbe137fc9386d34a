"""The speech-recognition benchmark's bookkeeping, on a one-utterance set with the fake
recogniser (the real figures come from `simpatient bench speech`)."""

import shutil
from pathlib import Path

import speech_data

from simpatient.settings import Settings
from simpatient.speech import bench_asr
from simpatient.speech.asr import create_asr
from simpatient.speech.asr_fake import FakeASRBackend


def test_bench_reports_wer_and_timings_for_both_paths(tmp_path: Path) -> None:
    shutil.copy(speech_data.SPEECH / "goforward.wav", tmp_path)
    (tmp_path / "ref.tsv").write_text("goforward\tgo forward ten meters\n")
    settings = Settings(asr={"backend": "fake"})
    fake = create_asr(settings.asr, Path("unused"))
    assert isinstance(fake, FakeASRBackend)
    fake.load()
    fake.script, fake.words_per_s = "Go forward 10 metres.", 10.0

    report = bench_asr.run(fake, settings, tmp_path, realtime=False)
    summary = report.summary()
    assert summary["utterances"] == 1
    assert summary["reference_words"] == 4
    # "metres" against "meters": one substitution in four words, on both paths.
    assert summary["wer_offline"] == summary["wer_streaming"] == 0.25
    assert summary["decode_s_offline"]["n"] == 1
    assert summary["partial_decode_s"]["n"] >= 1
    utterance = report.utterances[0]
    assert utterance.stream_text == "Go forward 10 metres."
    assert utterance.final_reused  # the pause partial covered the whole utterance
