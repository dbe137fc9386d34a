"""Drawing on float canvases with OpenCV: anti-aliased shapes as soft masks, blended.

Shapes are given in *reference units* (a 640x480 frame); a canvas maps them onto its own
pixels with a scale and an origin, so the same face code draws a whole supersampled
layer once at load or a small region of it on every frame."""

import math

import cv2
import numpy as np
import numpy.typing as npt

Points = npt.NDArray[np.float64]
Mask = npt.NDArray[np.float32]
RGB = tuple[float, float, float]

_SHIFT = 4  # fixed-point bits: shapes land on sub-pixel positions


class Canvas:
    """RGB float32 pixels with an alpha plane over a region of the reference frame."""

    def __init__(
        self, x0: float, y0: float, width: float, height: float, scale: float, fill: RGB
    ) -> None:
        self.x0, self.y0, self.scale = x0, y0, scale
        self.w, self.h = round(width * scale), round(height * scale)
        self.rgb = np.empty((self.h, self.w, 3), np.float32)
        self.rgb[:] = fill
        self.alpha = np.zeros((self.h, self.w), np.float32)

    def _px(self, points: Points) -> npt.NDArray[np.int32]:
        p = shifted(points, -self.x0, -self.y0) * self.scale
        return np.round(p * (1 << _SHIFT)).astype(np.int32)

    def mask(self, *polys: Points, blur: float = 0.0) -> Mask:
        """Coverage (0-1) of the filled polygons; ``blur`` (reference units) softens it."""
        m = np.zeros((self.h, self.w), np.uint8)
        cv2.fillPoly(m, [self._px(p) for p in polys], 255, cv2.LINE_AA, _SHIFT)
        return self._soft(m, blur)

    def stroke(self, line: Points, width: float, blur: float = 0.0) -> Mask:
        """Coverage of a polyline drawn ``width`` reference units thick."""
        m = np.zeros((self.h, self.w), np.uint8)
        thickness = max(1, round(width * self.scale))
        cv2.polylines(m, [self._px(line)], False, 255, thickness, cv2.LINE_AA, _SHIFT)
        return self._soft(m, blur)

    def marks(self, lines: list[Points], width: float, blur: float = 0.0) -> Mask:
        """Coverage of many polylines at once (strands, stubble): one mask, one blur."""
        m = np.zeros((self.h, self.w), np.uint8)
        thickness = max(1, round(width * self.scale))
        cv2.polylines(m, [self._px(p) for p in lines], False, 255, thickness, cv2.LINE_AA, _SHIFT)
        return self._soft(m, blur)

    def spots(self, centres: Points, radius: float, blur: float = 0.0) -> Mask:
        """Coverage of many small discs (freckles, a fabric print)."""
        m = np.zeros((self.h, self.w), np.uint8)
        r = max(1, round(radius * self.scale))
        for x, y in self._px(np.asarray(centres)):
            cv2.circle(m, (int(x), int(y)), r << _SHIFT, 255, -1, cv2.LINE_AA, _SHIFT)
        return self._soft(m, blur)

    def ellipse(
        self, center: tuple[float, float], axes: tuple[float, float], blur: float = 0.0
    ) -> Mask:
        """Coverage of an ellipse with ``axes`` half-widths."""
        cx, cy = center
        ax, ay = axes
        t = np.linspace(0, 2 * math.pi, 48, endpoint=False)
        return self.mask(np.stack([cx + ax * np.cos(t), cy + ay * np.sin(t)], 1), blur=blur)

    def _soft(self, m: npt.NDArray[np.uint8], blur: float) -> Mask:
        out = m.astype(np.float32) * (1 / 255)
        if blur * self.scale > 0.8:  # below a pixel, anti-aliasing already softens enough
            out = np.asarray(cv2.GaussianBlur(out, (0, 0), blur * self.scale), np.float32)
        return out

    def paint(self, mask: Mask, colour: RGB, opacity: float = 1.0) -> None:
        """Lay ``colour`` where ``mask`` covers; the covered area becomes opaque."""
        box = _extent(mask)
        if box is None:
            return
        m = mask[box] * opacity
        rgb = self.rgb[box]
        rgb += (np.asarray(colour, np.float32) - rgb) * m[..., None]
        self.alpha[box] += (1 - self.alpha[box]) * m

    def tint(self, mask: Mask, factor: RGB | float, opacity: float = 1.0) -> None:
        """Multiply the pixels under ``mask`` by ``factor`` (below 1 shades, above 1 lights)."""
        box = _extent(mask)
        if box is None:
            return
        f = np.asarray(factor, np.float32).reshape(-1)
        self.rgb[box] *= 1 + (f - 1) * (mask[box] * opacity)[..., None]

    def to_rgba(self, scale: float) -> npt.NDArray[np.uint8]:
        """Premultiplied-free RGBA uint8 at ``scale`` pixels per reference unit."""
        rgba = np.dstack([np.clip(self.rgb, 0, 255), self.alpha * 255])
        size = (round(self.w * scale / self.scale), round(self.h * scale / self.scale))
        if size != (self.w, self.h):
            rgba = cv2.resize(rgba, size, interpolation=cv2.INTER_AREA)
        return np.clip(rgba + 0.5, 0, 255).astype(np.uint8)


def _extent(mask: Mask) -> tuple[slice, slice] | None:
    """The rows and columns a mask touches: painting only there is most of the speed of
    drawing small shapes on a large canvas."""
    rows = np.flatnonzero(mask.max(axis=1) > 0.002)
    if not len(rows):
        return None
    cols = np.flatnonzero(mask[rows[0] : rows[-1] + 1].max(axis=0) > 0.002)
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def spline(points: Points, closed: bool = True, per_segment: int = 8) -> Points:
    """A smooth Catmull-Rom curve through ``points``."""
    p = np.asarray(points, np.float64)
    n = len(p)
    out = []
    segments = n if closed else n - 1
    t = np.linspace(0, 1, per_segment, endpoint=False)[:, None]
    for i in range(segments):
        p0 = p[(i - 1) % n] if closed or i > 0 else p[0]
        p1, p2 = p[i], p[(i + 1) % n]
        p3 = p[(i + 2) % n] if closed or i + 2 < n else p[-1]
        out.append(
            0.5
            * (
                2 * p1
                + (-p0 + p2) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
            )
        )
    if not closed:
        out.append(p[-1:])
    return np.concatenate(out)


def arc(
    left: tuple[float, float],
    right: tuple[float, float],
    height: float,
    power: float = 1.0,
    n: int = 16,
    skew: float = 0.0,
) -> Points:
    """Points from ``left`` to ``right`` bulging by ``height`` (up when positive) in the
    middle; ``power`` < 1 makes the bulge fuller, ``skew`` moves its peak sideways."""
    u = np.linspace(-1, 1, n)
    x = np.linspace(left[0], right[0], n)
    base = np.linspace(left[1], right[1], n)
    us = np.clip(u - skew * (1 - u * u), -1, 1)
    return np.stack([x, base - height * (1 - us * us) ** power], 1)


def shifted(points: Points, dx: float, dy: float) -> Points:
    """``points`` moved by (dx, dy)."""
    return np.asarray(points, np.float64) + np.array([dx, dy], np.float64)


def mix(a: RGB, b: RGB, k: float) -> RGB:
    """``a`` moved a fraction ``k`` towards ``b``."""
    return (a[0] + (b[0] - a[0]) * k, a[1] + (b[1] - a[1]) * k, a[2] + (b[2] - a[2]) * k)


def scaled(colour: RGB, k: float) -> RGB:
    return (colour[0] * k, colour[1] * k, colour[2] * k)
