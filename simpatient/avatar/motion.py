"""How the face moves: mouth poses from visemes (coarticulated), expressions, blinks,
breathing, head motion, gaze and listening nods.

Every function here is a pure function of the stream time and a seed, so a frame can be
rendered for any ``t`` (a dropped frame is simply never asked for) and runs repeat."""

import bisect
import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from simpatient.avatar.frames import Expression, FaceInput, Mode, Speech
from simpatient.content.scenario import Emotion
from simpatient.speech.visemes import VisemeName

Pose = npt.NDArray[np.float64]

#: open: jaw drop 0-1; width: mouth width relative to rest; round: lip rounding;
#: teeth: how much teeth show; tongue: tongue tip up behind (DD, nn) or out (TH, >1);
#: press: lips pressed together; tuck: lower lip under the upper teeth (FF)
MOUTH_KEYS = ("open", "width", "round", "teeth", "tongue", "press", "tuck")
V = VisemeName
_MOUTH: dict[VisemeName, tuple[float, ...]] = {
    V.sil: (0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    V.PP: (0.0, 0.96, 0.0, 0.0, 0.0, 1.0, 0.0),
    V.FF: (0.12, 1.0, 0.0, 0.8, 0.0, 0.0, 1.0),
    V.TH: (0.22, 1.0, 0.0, 0.7, 1.5, 0.0, 0.0),
    V.DD: (0.24, 1.02, 0.0, 0.8, 0.6, 0.0, 0.0),
    V.kk: (0.34, 1.0, 0.0, 0.5, 0.0, 0.0, 0.0),
    V.CH: (0.2, 0.86, 0.55, 1.0, 0.0, 0.0, 0.0),
    V.SS: (0.12, 1.1, 0.0, 1.0, 0.0, 0.0, 0.0),
    V.nn: (0.22, 1.0, 0.0, 0.6, 0.7, 0.0, 0.0),
    V.RR: (0.24, 0.88, 0.6, 0.4, 0.0, 0.0, 0.0),
    V.aa: (0.9, 1.02, 0.0, 0.55, 0.0, 0.0, 0.0),
    V.E: (0.55, 1.1, 0.0, 0.8, 0.0, 0.0, 0.0),
    V.ih: (0.32, 1.14, 0.0, 0.9, 0.0, 0.0, 0.0),
    V.oh: (0.62, 0.8, 0.85, 0.3, 0.0, 0.0, 0.0),
    V.ou: (0.3, 0.7, 1.0, 0.1, 0.0, 0.0, 0.0),
}
MOUTH_POSES: dict[VisemeName, Pose] = {k: np.array(v) for k, v in _MOUTH.items()}
#: how strongly a viseme holds its shape against its neighbours (lip closures must close)
_DOMINANCE = {V.PP: 4.0, V.FF: 3.0, V.TH: 1.5, V.CH: 1.5, V.SS: 1.3, V.ou: 1.5, V.oh: 1.3}
_WEAK = {V.DD: 0.6, V.kk: 0.6, V.nn: 0.6, V.RR: 0.8}
#: coarticulation: a shape's weight rises over about this long before its segment
#: (anticipation: lips close for /p/ before the sound stops) and fades this long after it
ANTICIPATE_S = 0.06
RELEASE_S = 0.04


def mouth_pose(speech: Speech | None, t: float) -> Pose:
    """The mouth at stream time ``t``: each viseme near ``t`` weighs in by a dominance
    that is full inside its segment and decays before (anticipation) and after it."""
    rest = MOUTH_POSES[V.sil]
    if speech is None or not speech.at - 0.2 <= t <= speech.end + 0.2:
        return rest
    local = t - speech.at
    timeline = speech.timeline()
    starts = [v.start for v in timeline]
    i = bisect.bisect_right(starts, local + 3 * ANTICIPATE_S)
    total, weight = np.zeros(len(MOUTH_KEYS)), 0.0
    for v in timeline[max(0, i - 8) : i]:
        if local < v.start:
            gap, tau = v.start - local, ANTICIPATE_S
        elif local > v.end:
            gap, tau = local - v.end, RELEASE_S
        else:
            gap, tau = 0.0, 1.0
        d = _DOMINANCE.get(v.name, _WEAK.get(v.name, 1.0)) * math.exp(-((gap / tau) ** 2))
        total += d * MOUTH_POSES[v.name]
        weight += d
    if local < 0 or local > speech.audio.duration:  # fade to rest around the utterance
        edge = -local if local < 0 else local - speech.audio.duration
        d = edge / 0.05  # rest outweighs the edge visemes within a few tens of ms
        total += d * rest
        weight += d
    return total / weight if weight > 0 else rest


#: brow_in: inner brow raise (negative: lowered); brow_out: outer brow raise;
#: squeeze: brows pulled together; lid: upper lid opening change; squint: lower lid raise;
#: corner: mouth corners up (+) or down (-); press: lips tight; open: jaw drop;
#: gaze_down; pitch: head down (deg); tilt (deg); tears; asym: one brow up (confused)
FACE_KEYS = (
    "brow_in", "brow_out", "squeeze", "lid", "squint", "corner",
    "press", "open", "gaze_down", "pitch", "tilt", "tears", "asym",
)  # fmt: skip
_FACE: dict[Emotion, dict[str, float]] = {
    Emotion.neutral: {},
    Emotion.anxious: {"brow_in": 0.8, "squeeze": 0.5, "lid": 0.2, "corner": -0.25, "press": 0.4},
    Emotion.sad: {
        "brow_in": 0.9, "brow_out": -0.4, "lid": -0.3, "corner": -0.7,
        "gaze_down": 0.5, "pitch": 3.0,
    },
    Emotion.tearful: {
        "brow_in": 1.0, "brow_out": -0.5, "lid": -0.35, "squint": 0.3, "corner": -0.8,
        "gaze_down": 0.4, "pitch": 4.0, "tears": 1.0, "press": 0.3,
    },
    Emotion.angry: {
        "brow_in": -1.0, "brow_out": 0.1, "squeeze": 1.0, "lid": 0.05, "squint": 0.5,
        "corner": -0.4, "press": 0.8, "pitch": 2.0,
    },
    Emotion.relieved: {"brow_in": 0.3, "lid": -0.2, "corner": 0.7, "tilt": 3.0},
    Emotion.confused: {"asym": 1.0, "squeeze": 0.4, "corner": -0.15, "tilt": 5.0, "squint": 0.2},
    Emotion.shocked: {
        "brow_in": 1.0, "brow_out": 1.0, "lid": 0.7, "open": 0.35, "pitch": -3.0,
    },
}  # fmt: skip
FACE_POSES: dict[Emotion, Pose] = {
    e: np.array([values.get(k, 0.0) for k in FACE_KEYS]) for e, values in _FACE.items()
}


def _expression_vector(expression: Expression) -> Pose:
    return FACE_POSES[expression.emotion] * expression.intensity


def face_pose(face: FaceInput) -> dict[str, float]:
    """The expression at ``face.t``, mid-way from the previous one while it changes."""
    k = face.blend * face.blend * (3 - 2 * face.blend)  # smoothstep: no jolt at either end
    pose = (1 - k) * _expression_vector(face.previous) + k * _expression_vector(face.expression)
    return dict(zip(FACE_KEYS, pose.tolist(), strict=True))


class Schedule:
    """Seeded random event times (blinks, nods, gaze shifts), generated lazily so any
    ``t`` can be asked in any order with the same answer."""

    def __init__(self, seed: int, stream: int, draw: Callable[[np.random.Generator], float]):
        self._rng = np.random.default_rng([seed, stream])
        self._draw = draw
        self.times: list[float] = [draw(self._rng)]

    def upto(self, t: float) -> list[float]:
        while self.times[-1] <= t + 1.0:
            self.times.append(self.times[-1] + self._draw(self._rng))
        return self.times[: bisect.bisect_right(self.times, t)]

    def last(self, t: float) -> tuple[int, float]:
        """Index and time of the latest event at or before ``t`` (-1, -inf: none yet)."""
        done = self.upto(t)
        return (len(done) - 1, done[-1]) if done else (-1, -math.inf)


def blink_interval(rng: np.random.Generator) -> float:
    """People blink 10-20 times a minute, at irregular intervals (lognormal, median 3.5 s)."""
    return float(np.clip(rng.lognormal(math.log(3.5), 0.5), 0.8, 12.0))


def blink_closure(schedule: Schedule, t: float) -> float:
    """How closed the eyes are at ``t``: a blink closes in 70 ms and reopens in 150 ms."""
    _, start = schedule.last(t)
    dt = t - start
    if dt < 0.07:
        return dt / 0.07
    if dt < 0.22:
        return 1.0 - (dt - 0.07) / 0.15
    return 0.0


def _wander(t: float, seed: int, freqs: tuple[float, ...]) -> float:
    """Smooth pseudo-random motion in [-1, 1]: a few incommensurate sines, seeded phases."""
    phases = np.random.default_rng([seed, 99]).uniform(0, 2 * math.pi, len(freqs))
    return sum(math.sin(2 * math.pi * f * t + p) for f, p in zip(freqs, phases, strict=True)) / len(
        freqs
    )


def breath(t: float) -> float:
    """Breathing, -1 to 1, about 15 breaths a minute."""
    return math.sin(2 * math.pi * 0.25 * t)


_MOTION = {Mode.idle: 1.0, Mode.listening: 0.7, Mode.speaking: 1.5}


def head_motion(face: FaceInput, seed: int, nods: Schedule) -> tuple[float, float, float]:
    """Head offset (dx, dy reference units) and roll (degrees): drift when idle, more
    while speaking, gentle nods while listening; eased over half a second when the mode
    changes, so an utterance starting never jolts the head."""
    t, mode = face.t, face.mode
    k = min(1.0, face.mode_age / 0.5)
    amp = _MOTION[face.previous_mode] + (_MOTION[mode] - _MOTION[face.previous_mode]) * k
    dx = 3.0 * amp * _wander(t, seed, (0.11, 0.23, 0.07))
    dy = 1.2 * breath(t) + 1.5 * amp * _wander(t, seed + 1, (0.13, 0.31))
    roll = 1.6 * amp * _wander(t, seed + 2, (0.09, 0.17, 0.29))
    if mode is Mode.listening:
        _, start = nods.last(t)
        dt = t - start
        if dt < 0.6:  # one nod: down and back up in 0.6 s
            dy += 6.0 * math.sin(math.pi * dt / 0.6)
    return dx, dy, roll


def gaze(t: float, mode: Mode, shifts: Schedule, seed: int) -> tuple[float, float]:
    """Where the eyes look (-1 to 1 each way, 0 = the camera, the learner): held on the
    learner while listening, glancing away now and then while speaking or idle."""
    if mode is Mode.listening:
        return 0.0, 0.0
    index, start = shifts.last(t)
    away = 0.8 if mode is Mode.idle else 0.45
    before, target = _glance(seed, index - 1, away), _glance(seed, index, away)
    k = min(1.0, (t - start) / 0.05)  # a saccade takes about 50 ms
    return before[0] + k * (target[0] - before[0]), before[1] + k * (target[1] - before[1])


def _glance(seed: int, index: int, away: float) -> tuple[float, float]:
    if index < 0:
        return 0.0, 0.0
    rng = np.random.default_rng([seed, 7, index])
    if rng.uniform() < 0.4:  # often the glance returns to the learner
        return 0.0, 0.0
    return float(rng.uniform(-away, away)), float(rng.uniform(-0.4, 0.3))
