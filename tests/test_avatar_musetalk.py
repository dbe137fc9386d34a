"""The MuseTalk adapter: everything around the network runs here (base video, face crop,
masks, paste-back, audio windows, fallback); the network itself needs a GPU and weights."""

import json
import logging
import os
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from simpatient.avatar import RenderOptions, create_renderer
from simpatient.avatar.bench import speak_lines
from simpatient.avatar.cpu import CPURenderer
from simpatient.avatar.frames import Expression, FaceInput, Mode, Speech
from simpatient.avatar.musetalk import (
    AUDIO_PAD,
    CROP,
    MuseTalkRenderer,
    audio_window,
    blend_mask,
    check_model,
    face_crop,
    load_base,
    masked,
    paste_back,
    ping_pong,
)
from simpatient.content import CaseLibrary
from simpatient.errors import ModelError
from simpatient.settings import Settings


def write_base_video(folder: Path, persona_id: str, frames: int = 6) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with av.open(str(folder / f"{persona_id}.mp4"), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(frames):
            image = np.full((240, 320, 3), 40 * i, np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode(None))
    (folder / f"{persona_id}.json").write_text(json.dumps({"box": [100, 40, 220, 200]}))


def test_without_weights_the_cpu_face_stands_in(
    library: CaseLibrary, caplog: pytest.LogCaptureFixture
) -> None:
    persona = library.personas["grace-mensah"]
    with caplog.at_level(logging.WARNING):
        renderer = create_renderer("musetalk", persona, RenderOptions(width=320, height=240))
    assert isinstance(renderer, CPURenderer)
    assert "no MuseTalk model set" in caplog.text
    assert renderer.render(FaceInput(0.0, Mode.idle, Expression())).shape == (240, 320, 3)


def test_a_partial_model_folder_names_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "sd-vae").mkdir()
    with pytest.raises(ModelError, match=r"musetalkV15/unet\.pth"):
        check_model(tmp_path)


def test_the_base_video_is_read_resized_with_its_face_box(tmp_path: Path) -> None:
    write_base_video(tmp_path, "p")
    frames, box = load_base(tmp_path, "p", (640, 480))
    assert len(frames) == 6
    assert frames[0].shape == (480, 640, 3)
    assert box == (200, 80, 440, 400)
    with pytest.raises(ModelError, match="no base video"):
        load_base(tmp_path, "someone-else", (640, 480))


def test_face_crop_mask_and_paste_back() -> None:
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[100:300, 200:400] = 120
    box = (200, 100, 400, 300)
    crop = face_crop(frame, box)
    assert crop.shape == (CROP, CROP, 3)
    assert (masked(crop)[CROP // 2 :] == 0).all()
    assert (masked(crop)[: CROP // 2] == 120).all()
    generated = np.full((CROP, CROP, 3), 250, np.uint8)
    out = paste_back(frame, generated, box)
    assert (out[:100] == 0).all()  # outside the box: untouched
    assert (out[:, :200] == 0).all()
    assert out[110, 300].max() == 120  # the upper face is the original
    assert out[260, 300].min() > 240  # the mouth region is the generated face
    m = blend_mask((200, 200))
    assert m[5, 100] < 0.01
    assert 0.95 < m[150, 100] <= 1.0
    assert 0.05 < m[88, 100] < 0.95  # feathered, no seam


def test_audio_windows_follow_the_video_frame() -> None:
    features = np.arange(100, dtype=np.float32)[:, None, None] * np.ones((1, 5, 384), np.float32)
    first = audio_window(features, 0, 25)
    assert first.shape == ((2 * AUDIO_PAD + 1) * 2 * 5, 384)
    assert first[0, 0] == 0  # edge-padded before the start
    tenth = audio_window(features, 10, 25)
    assert tenth.reshape(10, 5, 384)[:, 0, 0].tolist() == list(range(16, 26))


def test_a_short_base_video_loops_back_and_forth() -> None:
    assert [ping_pong(k / 25, 25, 4) for k in range(8)] == [0, 1, 2, 3, 2, 1, 0, 1]


def test_real_inference(tmp_path: Path, library: CaseLibrary) -> None:
    model = os.environ.get("SIMPATIENT_AVATAR__MUSETALK_MODEL")
    base = os.environ.get("SIMPATIENT_AVATAR__MUSETALK_BASE_VIDEO")
    if not torch.cuda.is_available() or not model or not base:
        pytest.skip(
            "needs a CUDA GPU, MuseTalk 1.5 weights (SIMPATIENT_AVATAR__MUSETALK_MODEL) and a "
            "base video folder (SIMPATIENT_AVATAR__MUSETALK_BASE_VIDEO); the project's CPU "
            "machines have none of them"
        )
    persona = library.personas["grace-mensah"]
    renderer = MuseTalkRenderer(persona, RenderOptions(), Path(model), Path(base))
    renderer.load()
    idle = renderer.render(FaceInput(0.0, Mode.idle, Expression()))
    [utterance] = speak_lines(persona, Settings.load(), ["Is it serious, doctor?"])
    speech = Speech(utterance.audio, utterance.visemes, 0.0)
    talking = renderer.render(FaceInput(0.3, Mode.speaking, Expression(), speech))
    assert idle.shape == talking.shape == (480, 640, 3)
    assert np.abs(talking.astype(int) - idle).max() > 20  # the mouth was redrawn
