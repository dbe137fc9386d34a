"""The CPU face: frame size and clock, mouth shapes and expressions measured from the
pixels, blinks, bad input, and frame pacing that drops frames instead of drifting."""

import asyncio
import itertools
import logging
from pathlib import Path

import numpy as np
import pytest
from content_fixtures import PERSONA_YAML, warnings, write_case

from simpatient.avatar import AvatarStream, Expression, FaceInput, Mode, RenderOptions, Speech
from simpatient.avatar.cpu import CPURenderer
from simpatient.avatar.frames import Image, parse_visemes
from simpatient.avatar.motion import MOUTH_POSES, mouth_pose
from simpatient.avatar.renderer import AvatarRenderer
from simpatient.content import CaseLibrary, check_paths
from simpatient.content.scenario import Emotion
from simpatient.speech.audio import AudioChunk
from simpatient.speech.visemes import Viseme, VisemeName

RATE = 16_000
#: the mouth and the eyes in a 640x480 frame (y0, y1, x0, x1), with room for head motion
MOUTH = (245, 330, 260, 380)
LEFT_EYE = (185, 225, 255, 305)


@pytest.fixture(scope="module")
def renderer(library: CaseLibrary) -> CPURenderer:
    r = CPURenderer(library.personas["jamal-washington"], RenderOptions(seed=3))
    r.load()
    return r


def speech_of(viseme: VisemeName, seconds: float = 1.0) -> Speech:
    audio = AudioChunk(np.zeros(round(RATE * seconds), np.float32), RATE, 0.0)
    return Speech(audio, (Viseme(viseme, 0.0, seconds),), 0.0)


NEUTRAL = Expression()


def face(viseme: VisemeName = VisemeName.sil, expression: Expression = NEUTRAL) -> FaceInput:
    return FaceInput(0.5, Mode.speaking, expression, speech_of(viseme))


def openings(renderer: CPURenderer, visemes: list[VisemeName]) -> dict[VisemeName, int]:
    """Per viseme, the pixels of the mouth region that turned much darker than with the
    lips at rest: the open inside of the mouth (a beard's dark hairs do not count)."""
    y0, y1, x0, x1 = MOUTH

    def luma(v: VisemeName) -> np.ndarray:
        return renderer.render(face(v))[y0:y1, x0:x1].mean(axis=2)

    rest = luma(VisemeName.sil)
    return {v: int((luma(v) < rest - 40).sum()) for v in visemes}


def test_frames_have_the_size_and_the_audio_clock(renderer: CPURenderer) -> None:
    stream = AvatarStream(renderer, start=1000.0)
    frames = [stream.frame(i) for i in (0, 1, 25, 26)]
    assert all(f.image.shape == (480, 640, 3) and f.image.dtype == np.uint8 for f in frames)
    assert [f.pts for f in frames] == [0.0, 0.04, 1.0, 1.04]
    assert frames[2].time == pytest.approx(1001.0)  # comparable with AudioChunk.start


def test_a_smaller_picture_is_configurable(library: CaseLibrary) -> None:
    small = CPURenderer(library.personas["grace-mensah"], RenderOptions(width=320, height=240))
    small.load()
    assert small.render(face()).shape == (240, 320, 3)


def test_visemes_open_the_mouth_differently(renderer: CPURenderer) -> None:
    o = openings(renderer, list(VisemeName))
    assert o[VisemeName.sil] == o[VisemeName.PP] == 0  # lips together: nothing dark inside
    assert o[VisemeName.aa] > o[VisemeName.oh] > o[VisemeName.E] > o[VisemeName.ih] > 0
    assert o[VisemeName.kk] > o[VisemeName.DD] > 0
    # many shapes differ by their opening alone (FF, TH, CH, SS also by teeth and tongue)
    assert len({round(v / 25) for v in o.values()}) >= 6, o


def test_coarticulation_blends_and_anticipates() -> None:
    audio = AudioChunk(np.zeros(RATE, np.float32), RATE, 0.0)
    speech = Speech(audio, (Viseme(VisemeName.aa, 0.0, 0.3), Viseme(VisemeName.PP, 0.3, 0.4)), 0.0)
    mid_vowel, before_close, closure = (mouth_pose(speech, t)[0] for t in (0.15, 0.27, 0.35))
    assert mid_vowel > 0.8
    assert closure < 0.1  # a lip closure is reached
    assert closure < before_close < mid_vowel  # the lips start closing before the /p/


def test_expressions_differ_measurably(renderer: CPURenderer) -> None:
    rest = {e: renderer.render(face(expression=Expression(e, 1.0))).astype(float) for e in Emotion}
    region = (slice(150, 340), slice(220, 420))
    for a in Emotion:
        for b in Emotion:
            if a < b:
                diff = np.abs(rest[a][region] - rest[b][region]).mean()
                assert diff > 0.4, (a, b, diff)
    none = renderer.render(face(expression=Expression(Emotion.angry, 0.0)))
    assert np.array_equal(none, rest[Emotion.neutral].astype(np.uint8))


def test_intensity_scales_an_expression(renderer: CPURenderer) -> None:
    neutral = renderer.render(face()).astype(float)
    diffs = [
        np.abs(renderer.render(face(expression=Expression(Emotion.sad, k))) - neutral).mean()
        for k in (0.3, 1.0)
    ]
    assert 0 < diffs[0] < diffs[1]


def test_blinks_happen_at_natural_intervals(renderer: CPURenderer) -> None:
    stream = AvatarStream(renderer, start=0.0)
    y0, y1, x0, x1 = LEFT_EYE
    frames = range(0, 375, 2)  # 15 s; a blink keeps the eye shut for about 3 frames
    white = [int((stream.frame(i).image[y0:y1, x0:x1].min(axis=2) > 170).sum()) for i in frames]
    closed = [k for k, w in enumerate(white) if w < max(white) * 0.2]
    blinks = [k for k in closed if k - 1 not in closed]
    assert 2 <= len(blinks) <= 7, white  # 8-28 a minute
    assert np.diff(blinks).std() > 1  # not a metronome


def test_unknown_labels_are_neutral_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        expression = Expression.parse("furious", 0.9)
        [viseme] = parse_visemes([("zz", 0.0, 0.1)])
    assert expression.emotion is Emotion.neutral
    assert viseme.name is VisemeName.sil
    assert "furious" in caplog.text
    assert "zz" in caplog.text


def test_a_timeline_is_fitted_to_its_audio() -> None:
    audio = AudioChunk(np.zeros(RATE, np.float32), RATE, 0.0)  # one second
    long = Speech(audio, (Viseme(VisemeName.aa, 0.0, 0.8), Viseme(VisemeName.E, 0.8, 1.6)), 0.0)
    assert long.timeline()[-1].end == 1.0
    assert all(v.start < 1.0 for v in long.timeline())
    short = Speech(audio, (Viseme(VisemeName.aa, 0.0, 0.4),), 0.0)
    assert short.timeline()[-1] == Viseme(VisemeName.sil, 0.4, 1.0)
    assert mouth_pose(short, 0.7) == pytest.approx(MOUTH_POSES[VisemeName.sil], abs=0.01)


def test_a_persona_without_appearance_gets_a_default_and_a_warning(
    tmp_path: Path, library: CaseLibrary
) -> None:
    persona = PERSONA_YAML[: PERSONA_YAML.index("appearance:")]
    write_case(tmp_path, persona=persona)
    checked = check_paths([tmp_path])
    assert any("no appearance" in p.message for p in warnings(checked.problems))
    bare = library.personas["hector-ramirez"].model_copy(update={"appearance": None})
    r = CPURenderer(bare, RenderOptions(width=320, height=240))
    r.load()
    assert r.render(face()).shape == (240, 320, 3)


class SlowRenderer(AvatarRenderer):
    """Takes 100 ms (2.5 frame periods) of the fake clock per picture."""

    def __init__(self, clock: list[float]) -> None:
        super().__init__(None, RenderOptions(width=8, height=8))  # type: ignore[arg-type]
        self.clock = clock

    def load(self) -> None:
        pass

    def render(self, face: FaceInput) -> Image:
        self.clock[0] += 0.1
        return np.zeros((8, 8, 3), np.uint8)


def test_a_slow_renderer_drops_frames_and_never_drifts() -> None:
    clock = [50.0]

    async def sleep(seconds: float) -> None:
        clock[0] += seconds

    async def run() -> list[tuple[int, float]]:
        stream = AvatarStream(SlowRenderer(clock), start=50.0)
        out = []
        async for frame in stream.frames(clock=lambda: clock[0], sleep=sleep):
            out.append((frame.index, frame.pts))
            if len(out) == 20:
                assert stream.dropped > 20
                return out
        return out

    frames = asyncio.run(run())
    indices = [i for i, _ in frames]
    assert all(b - a >= 2 for a, b in itertools.pairwise(indices))  # skipped
    assert all(pts == pytest.approx(i / 25) for i, pts in frames)  # on the grid
    assert clock[0] - 50.0 - frames[-1][1] < 0.15  # the last frame is about now: no drift
