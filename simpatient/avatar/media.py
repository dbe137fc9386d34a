"""Writing the avatar out: an MP4 with its audio (H.264 + AAC through PyAV) and contact
sheets of mouth shapes and expressions."""

import logging
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from simpatient.avatar.frames import Expression, FaceInput, Image, Mode, Speech, VideoFrame
from simpatient.avatar.geometry import REF_H, REF_W
from simpatient.avatar.renderer import AvatarRenderer
from simpatient.content.scenario import Emotion
from simpatient.speech.audio import WEBRTC_RATE, AudioChunk
from simpatient.speech.visemes import Viseme, VisemeName

logger = logging.getLogger(__name__)

AUDIO_RATE = WEBRTC_RATE


def write_mp4(path: Path, frames: Iterable[VideoFrame], audio: AudioChunk, fps: int) -> Path:
    """An MP4 (H.264 yuv420p, AAC 48 kHz mono) of ``frames`` and ``audio``, both starting
    at stream time 0: frame pts and audio sample positions keep their timing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        video = None
        sound = out.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        for frame in frames:
            if video is None:
                video = out.add_stream("libx264", rate=fps)
                video.width, video.height, video.pix_fmt = frame.width, frame.height, "yuv420p"
                video.options = {"preset": "veryfast", "crf": "20"}
                video.codec_context.time_base = Fraction(1, fps)
            picture = av.VideoFrame.from_ndarray(frame.image, format="rgb24")
            picture.pts = round(frame.pts * fps)
            out.mux(video.encode(picture))
        if video is not None:
            out.mux(video.encode(None))
        samples = audio.resampled(AUDIO_RATE).samples
        block = 1024
        for i in range(0, len(samples), block):
            piece = av.AudioFrame.from_ndarray(
                samples[None, i : i + block].astype(np.float32), format="fltp", layout="mono"
            )
            piece.sample_rate, piece.pts = AUDIO_RATE, i
            out.mux(sound.encode(piece))
        out.mux(sound.encode(None))
    return path


def _crop(image: Image, scale: float, offset: tuple[float, float], box: tuple[int, ...]) -> Image:
    x, y, w, h = (round(v * scale) for v in box)
    x0, y0 = x + round(offset[0]), y + round(offset[1])
    return image[y0 : y0 + h, x0 : x0 + w]


#: reference-frame boxes (x, y, width, height): eyes to chin, and the whole head
FACE_BOX, HEAD_BOX = (232, 165, 176, 176), (200, 70, 240, 290)


def contact_sheet(
    renderer: AvatarRenderer,
    emotions: Iterable[Emotion] = (Emotion.neutral, Emotion.sad, Emotion.angry, Emotion.shocked),
    cell_width: int = 96,
) -> Image:
    """Every viseme (columns) under a few expressions (rows), then all expressions at
    rest: face crops, labelled. Eyes open, head still, so only mouth and mood differ."""
    opts = renderer.options
    scale = min(opts.width / REF_W, opts.height / REF_H)
    offset = ((opts.width - REF_W * scale) / 2, (opts.height - REF_H * scale) / 2)

    def cell(expression: Expression, viseme: VisemeName, box: tuple[int, ...]) -> Image:
        audio = AudioChunk(np.zeros(16_000, np.float32), 16_000, 0.0)  # one silent second
        speech = Speech(audio, (Viseme(viseme, 0.0, 1.0),), 0.0)
        face = FaceInput(0.5, Mode.speaking, expression, speech)
        crop = _crop(renderer.render(face), scale, offset, box)
        width = cell_width * 2 if box is HEAD_BOX else cell_width
        height = round(crop.shape[0] * width / crop.shape[1])
        return np.asarray(cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA), np.uint8)

    rows = []
    for emotion in emotions:
        cells = [cell(Expression(emotion, 0.8), v, FACE_BOX) for v in VisemeName]
        rows.append(_label_row(cells, [v.value for v in VisemeName], emotion.value))
    moods = [cell(Expression(e, 0.9), VisemeName.sil, HEAD_BOX) for e in Emotion]
    rows.append(_label_row(moods, [e.value for e in Emotion], "at rest"))
    width = max(r.shape[1] for r in rows)
    return np.vstack(
        [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    )


def _label_row(cells: list[Image], labels: list[str], title: str) -> Image:
    strip = np.full((18, sum(c.shape[1] for c in cells), 3), 255, np.uint8)
    x = 0
    for c, text in zip(cells, labels, strict=True):
        cv2.putText(
            strip, text, (x + 4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (40, 40, 40), 1, cv2.LINE_AA
        )
        x += c.shape[1]
    body = np.hstack(cells)
    side = np.full((body.shape[0] + 18, 70, 3), 255, np.uint8)
    cv2.putText(
        side,
        title,
        (4, 18 + body.shape[0] // 2),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.42,
        (20, 20, 20),
        1,
        cv2.LINE_AA,
    )
    return np.hstack([side, np.vstack([strip, body])])


def save_png(path: Path, image: Image) -> Path:
    """``image`` (RGB) as a PNG at the highest compression."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return path
