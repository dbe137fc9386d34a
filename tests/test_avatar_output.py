"""The avatar's output files: the preview MP4 plays with audio, and lip sync measured
from encoded clips alone is inside ITU-R BT.1359, and fails when the picture is shifted."""

from pathlib import Path

import av
import numpy as np
import pytest

from simpatient.avatar import RenderOptions, sync
from simpatient.avatar.bench import speak_lines
from simpatient.avatar.cpu import CPURenderer
from simpatient.avatar.preview import render_clip, save_clip
from simpatient.cli import main
from simpatient.content import CaseLibrary
from simpatient.settings import Settings
from simpatient.speech.tts import Utterance

LINES = [
    "I have been so tired lately, and the stairs leave me out of breath.",
    "What happens now? Will I need more tests?",
]


@pytest.fixture(scope="module")
def renderer(library: CaseLibrary) -> CPURenderer:
    r = CPURenderer(library.personas["jamal-washington"], RenderOptions())
    r.load()
    return r


@pytest.fixture(scope="module")
def utterances(library: CaseLibrary) -> list[Utterance]:
    """Real speech from the TTS stage (piper, or the next engine of the chain)."""
    return speak_lines(library.personas["jamal-washington"], Settings.load(), LINES)


def test_preview_writes_a_playable_mp4_with_audio_and_a_contact_sheet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["avatar", "preview", "jamal-history-fatigue", "Hello doctor.", "--out", str(tmp_path)]
    )
    assert code == 0
    video = tmp_path / "jamal-history-fatigue.mp4"
    assert str(video) in capsys.readouterr().out
    with av.open(str(video)) as container:
        v, a = container.streams.video[0], container.streams.audio[0]
        assert (v.codec_context.width, v.codec_context.height) == (640, 480)
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    with av.open(str(video)) as container:
        sound = np.concatenate([f.to_ndarray().ravel() for f in container.decode(audio=0)])
    seconds = len(sound) / a.codec_context.sample_rate
    assert len(frames) == pytest.approx(seconds * 25, abs=2)
    assert np.abs(sound).max() > 0.05  # the voice is there
    assert np.abs(frames[len(frames) // 2].astype(int) - frames[0]).max() > 30  # it moves
    sheet = tmp_path / "jamal-washington-sheet.png"
    assert sheet.exists()
    assert sheet.stat().st_size < 500_000


def _offsets(
    renderer: CPURenderer, utterances: list[Utterance], folder: Path, delay: float
) -> sync.SyncResult:
    """Render, encode and measure each utterance with the picture ``delay`` seconds late."""
    results = []
    for i, u in enumerate(utterances):
        clip = render_clip(renderer, u.audio, u.visemes, video_delay_s=delay)
        results.append(sync.measure(save_clip(clip, folder / f"{i}.mp4", 25)))
    return sync.pooled(results)


@pytest.fixture(scope="module")
def aligned(
    renderer: CPURenderer, utterances: list[Utterance], tmp_path_factory: pytest.TempPathFactory
) -> sync.SyncResult:
    return _offsets(renderer, utterances, tmp_path_factory.mktemp("aligned"), 0.0)


def test_lip_sync_at_the_output_is_inside_the_itu_window(aligned: sync.SyncResult) -> None:
    assert aligned.within_itu, aligned
    assert aligned.correlation > 0.2


@pytest.mark.parametrize("delay", [0.2, -0.2])
def test_the_sync_check_fails_on_a_shifted_picture(
    renderer: CPURenderer,
    utterances: list[Utterance],
    aligned: sync.SyncResult,
    tmp_path: Path,
    delay: float,
) -> None:
    shifted = _offsets(renderer, utterances, tmp_path, delay)
    assert not shifted.within_itu, shifted
    assert shifted.offset_ms - aligned.offset_ms == pytest.approx(delay * 1000, abs=40)
