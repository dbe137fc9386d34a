"""Lip sync measured at the output: from an encoded video file alone.

The mouth is found where the picture changes most in the lower middle of the frame;
its opening is the area of dark pixels there (the inside of an open mouth is the
darkest thing on a face). That curve is cross-correlated with the decoded audio's
loudness envelope; the lag of the best match is the offset. Nothing here reads the
renderer's inputs, so a renderer, an encoder or a muxer that shifts the picture fails.

Sign: positive means the audio is *ahead* of the picture (ITU-R BT.1359 notices +45 ms),
negative that it lags behind (noticed at -125 ms)."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

logger = logging.getLogger(__name__)

#: ITU-R BT.1359-1 detectability thresholds, milliseconds
AUDIO_AHEAD_MS, AUDIO_BEHIND_MS = 45.0, -125.0
HOP_S = 0.005  # the grid both curves are compared on
MAX_LAG_S = 0.4
LAGS = np.arange(-MAX_LAG_S, MAX_LAG_S + 1e-9, HOP_S)

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SyncResult:
    """Offset of one clip (or pooled over clips) and how well the curves matched."""

    offset_ms: float
    correlation: float
    clips: int = 1
    #: correlation at each lag of :data:`LAGS`, kept for pooling clips
    scores: Floats = field(default_factory=lambda: np.zeros(0), repr=False)

    @property
    def within_itu(self) -> bool:
        """Inside the window where viewers do not notice the offset."""
        return AUDIO_BEHIND_MS <= self.offset_ms <= AUDIO_AHEAD_MS


@dataclass(frozen=True, slots=True)
class Decoded:
    """Luma frames with their presentation times, and mono audio from time ``audio_start``."""

    frames: npt.NDArray[np.uint8]
    times: Floats
    audio: npt.NDArray[np.float32]
    rate: int
    audio_start: float


def decode(path: Path) -> Decoded:
    """Every frame's luma and the whole audio track, on the file's own timestamps."""
    with av.open(str(path)) as container:
        frames, times = [], []
        for frame in container.decode(video=0):
            frames.append(frame.to_ndarray(format="gray"))
            times.append(float(frame.time or 0.0))
    with av.open(str(path)) as container:
        pieces, starts, rate = [], [], 48_000
        for piece in container.decode(audio=0):
            rate = piece.sample_rate
            pieces.append(piece.to_ndarray().astype(np.float32).mean(axis=0))
            starts.append(float(piece.time or 0.0))
    if not frames or not pieces:
        raise ValueError(f"{path} lacks a video or an audio track")
    first = starts[0]
    audio = np.zeros(round((starts[-1] - first) * rate) + len(pieces[-1]), np.float32)
    for start, samples in zip(starts, pieces, strict=True):
        i = round((start - first) * rate)
        audio[i : i + len(samples)] = samples
    return Decoded(np.stack(frames), np.array(times), audio, rate, first)


def mouth_box(frames: npt.NDArray[np.uint8]) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) of the region that changes most in the lower middle of the
    frame, sized like a mouth: the lips and jaw move more than any edge of a head."""
    n, h, w = frames.shape
    std = frames[:: max(1, n // 200)].astype(np.float32).std(axis=0)
    bw, bh = w // 8 | 1, h // 14 | 1
    energy = cv2.boxFilter(std, -1, (bw, bh))
    y_lo, y_hi, x_lo, x_hi = h // 2, h * 5 // 6, w // 4, w * 3 // 4  # below the eyes (blinks)
    sub = energy[y_lo:y_hi, x_lo:x_hi]
    y, x = np.unravel_index(int(np.argmax(sub)), sub.shape)
    cy, cx = y + y_lo, x + x_lo
    return cy - h // 14, cy + h // 14, cx - w // 10, cx + w // 10


def mouth_opening(frames: npt.NDArray[np.uint8], box: tuple[int, int, int, int]) -> Floats:
    """Per frame, the dark area inside ``box``: darker than a threshold set between the
    darkest pixels seen there (the open mouth) and the typical ones (skin)."""
    y0, y1, x0, x1 = box
    region = frames[:, y0:y1, x0:x1].astype(np.float32)
    low, typical = np.percentile(region, 0.5), np.median(region)
    threshold = low + 0.4 * (typical - low)
    return np.asarray((region < threshold).sum(axis=(1, 2)), np.float64)


def envelope(audio: npt.NDArray[np.float32], rate: int) -> Floats:
    """Loudness every :data:`HOP_S`: RMS over 20 ms windows."""
    hop, win = round(rate * HOP_S), round(rate * 0.02)
    power = np.convolve(audio.astype(np.float64) ** 2, np.ones(win) / win, mode="same")
    return np.sqrt(power[::hop])


def offset(decoded: Decoded) -> SyncResult:
    """The lag that best aligns the mouth's opening with the audio's loudness."""
    opening = mouth_opening(decoded.frames, mouth_box(decoded.frames))
    env = envelope(decoded.audio, decoded.rate)
    grid = decoded.audio_start + np.arange(len(env)) * HOP_S
    scores = np.array([_corr(np.interp(grid + lag, decoded.times, opening), env) for lag in LAGS])
    return _peak(scores)


def _peak(scores: Floats, clips: int = 1) -> SyncResult:
    k = int(np.argmax(scores))
    lag = float(LAGS[k])
    if 0 < k < len(scores) - 1:  # parabolic peak between grid points
        a, b, c = scores[k - 1], scores[k], scores[k + 1]
        if a - 2 * b + c < 0:
            lag += float(0.5 * (a - c) / (a - 2 * b + c)) * HOP_S
    return SyncResult(lag * 1000, float(scores[k]), clips, scores)


def _corr(a: Floats, b: Floats) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else 0.0


def measure(path: Path) -> SyncResult:
    """The A/V offset of one encoded clip."""
    result = offset(decode(path))
    logger.info("%s: offset %+.0f ms (r=%.2f)", path.name, result.offset_ms, result.correlation)
    return result


def pooled(results: Sequence[SyncResult]) -> SyncResult:
    """Over many clips: the peak of their mean correlation curve, so one clip that
    matched badly (a short or flat one) cannot drag the figure to the edge of the search."""
    return _peak(np.mean([r.scores for r in results], axis=0), len(results))
