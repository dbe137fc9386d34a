"""What changes on every frame: eyes (lids, blinks, gaze, tears), brows and the mouth.

Each is painted on a small supersampled patch of the head layer, so a frame costs a few
small regions instead of a whole face."""

import cv2
import numpy as np
import numpy.typing as npt

from simpatient.avatar.draw import Canvas, Points, arc, mix, scaled, shifted, spline
from simpatient.avatar.geometry import HEAD_BOX, Geometry
from simpatient.avatar.look import Look
from simpatient.avatar.motion import MOUTH_KEYS, Pose

SUPERSAMPLE = 2
TEETH, MOUTH_INSIDE, TONGUE = (214, 206, 190), (40, 14, 17), (176, 84, 88)
LASH = (28, 22, 20)


class Patch:
    """A rectangle of the head layer (RGBA, ``s`` pixels per reference unit) opened as a
    supersampled canvas; :meth:`commit` writes it back."""

    def __init__(
        self, head: npt.NDArray[np.uint8], s: float, x: float, y: float, w: float, h: float
    ) -> None:
        hx, hy = HEAD_BOX[0], HEAD_BOX[1]
        self.head = head
        self.px0, self.py0 = round((x - hx) * s), round((y - hy) * s)
        self.pw, self.ph = round(w * s), round(h * s)
        region = head[self.py0 : self.py0 + self.ph, self.px0 : self.px0 + self.pw]
        ss = s * SUPERSAMPLE
        self.canvas = Canvas(
            hx + self.px0 / s, hy + self.py0 / s, self.pw / s, self.ph / s, ss, (0, 0, 0)
        )
        big = cv2.resize(region, (self.canvas.w, self.canvas.h), interpolation=cv2.INTER_LINEAR)
        self.canvas.rgb[:] = big[..., :3]
        self.canvas.alpha[:] = big[..., 3] * (1 / 255)
        self.s = s

    def commit(self) -> None:
        self.head[self.py0 : self.py0 + self.ph, self.px0 : self.px0 + self.pw] = (
            self.canvas.to_rgba(self.s)[: self.ph, : self.pw]
        )


def draw_eyes(
    head: npt.NDArray[np.uint8],
    s: float,
    look: Look,
    geo: Geometry,
    pose: dict[str, float],
    closure: float,
    gaze: tuple[float, float],
) -> None:
    """Both eyes: lid opening from the expression, blink ``closure`` 0-1, iris on ``gaze``."""
    for side in (-1, 1):
        ex = geo.cx + side * geo.eye_dx
        p = Patch(head, s, ex - 26, geo.eye_y - 20, 52, 62)
        _eye(p.canvas, look, geo, ex, side, pose, closure, gaze)
        p.commit()


def _eye(
    c: Canvas,
    look: Look,
    geo: Geometry,
    ex: float,
    side: int,
    pose: dict[str, float],
    closure: float,
    gaze: tuple[float, float],
) -> None:
    ey, ew = geo.eye_y, geo.eye_w
    inner, outer = (ex - side * ew, ey + 1.0), (ex + side * ew, ey - 1.0)
    left, right = (inner, outer) if side > 0 else (outer, inner)
    lid = pose["lid"] - 0.3 * pose["gaze_down"]
    up_h = 6.8 * (1 + 0.7 * lid)
    lo_h = 4.5 * (1 - 0.6 * pose["squint"])
    skew = -0.25 * side  # the lid's highest point sits towards the nose
    upper_open = arc(left, right, up_h, 0.8, 18, skew)
    lower = arc(left, right, -lo_h, 0.9, 18)
    upper = lower + (upper_open - lower) * (1 - closure)
    upper[:, 1] -= 0.4 * (1 - closure)  # never a zero-width gap when open
    opening = c.mask(np.concatenate([upper, lower[::-1]]), blur=0.3)
    tears = pose["tears"]
    c.paint(opening, mix((236, 230, 222), (235, 190, 185), 0.5 * tears))
    c.tint(opening * c.ellipse(inner, (5, 5), blur=2.5), 0.8)
    c.tint(opening * c.ellipse(outer, (5, 5), blur=2.5), 0.85)
    ix = ex + gaze[0] * 5.5
    iy = ey + 0.5 + gaze[1] * 3 + 2.5 * pose["gaze_down"]
    iris = c.ellipse((ix, iy), (7.0, 7.0), blur=0.3) * opening
    c.paint(iris, look.iris)
    c.tint(c.ellipse((ix + 1, iy + 2), (4.5, 4), blur=1.5) * opening, 1.35)
    ring = c.ellipse((ix, iy), (7.1, 7.1)) - c.ellipse((ix, iy), (5.9, 5.9), blur=0.6)
    c.tint(np.clip(ring, 0, 1) * opening, 0.55)
    c.paint(c.ellipse((ix, iy), (2.7, 2.7), blur=0.2) * opening, (14, 11, 11))
    c.paint(c.ellipse((ix - 2.3, iy - 2.5), (1.3, 1.2), blur=0.2) * opening, (250, 250, 250), 0.9)
    c.tint(opening * c.stroke(upper, 4, blur=1.5), 0.72)  # the lid's shadow on the eyeball
    crease = arc(left, right, up_h + 4 + 2 * look.lines, 0.8, 14, skew)
    c.tint(c.stroke(crease, 1.0, blur=0.8), 0.8 - 0.1 * look.lines)
    c.paint(c.stroke(upper, 2.0 if look.female else 1.5, blur=0.3), LASH, 0.92)
    if look.female:
        flick = np.array([outer, (outer[0] + side * 3, outer[1] - 2.5)])
        c.paint(c.stroke(flick, 1.2, blur=0.3), LASH, 0.8)
    c.tint(c.stroke(lower, 0.9, blur=0.6), 0.82)
    if tears > 0.05:
        c.paint(c.stroke(shifted(lower, 0, 0.8), 1.0, blur=0.4), (200, 100, 100), 0.5 * tears)
        c.paint(c.stroke(shifted(lower, 0, 1.5), 0.6, blur=0.3), (250, 250, 250), 0.6 * tears)
        track = spline(
            np.array([(ex - side * 3, ey + 7), (ex - side * 5, ey + 22), (ex - side * 4, ey + 38)]),
            closed=False,
        )
        c.paint(c.stroke(track, 1.4, blur=0.5), (245, 245, 248), 0.35 * tears)
        c.tint(c.ellipse((ex, ey + 6), (16, 6), blur=3), (1.1, 0.92, 0.92), tears)


def draw_brows(
    head: npt.NDArray[np.uint8], s: float, look: Look, geo: Geometry, pose: dict[str, float]
) -> None:
    """Both brows, raised, lowered or drawn together by the expression."""
    p = Patch(head, s, geo.cx - 72, geo.brow_y - 22, 144, 34)
    thick = 3.6 if look.female else 5.0
    for side in (-1, 1):
        lift = 4.5 * pose["asym"] if side > 0 else -1.5 * pose["asym"]
        sq = pose["squeeze"] + (0.5 * pose["asym"] if side < 0 else 0)
        inner = (
            geo.cx + side * (13 - 4 * sq),
            geo.brow_y + 2 - 7 * pose["brow_in"] + 2.5 * sq - lift,
        )
        peak = (
            geo.cx + side * 40,
            geo.brow_y - 4 - 3 * (pose["brow_in"] + pose["brow_out"]) - lift,
        )
        outer = (geo.cx + side * 60, geo.brow_y + 2 - 5 * pose["brow_out"] - lift)
        centre = spline(np.array([inner, peak, outer]), closed=False, per_segment=8)
        t = np.linspace(thick, 1.4, len(centre))[:, None] * (0, 0.5)
        shape = np.concatenate([centre - t, (centre + t)[::-1]])
        p.canvas.paint(p.canvas.mask(shape, blur=0.8), look.brows, 0.88)
    p.commit()


def draw_mouth(
    head: npt.NDArray[np.uint8],
    s: float,
    look: Look,
    geo: Geometry,
    mouth: Pose,
    pose: dict[str, float],
) -> None:
    """Lips, teeth, tongue and the inside of the mouth for a mouth pose and expression."""
    m = dict(zip(MOUTH_KEYS, mouth.tolist(), strict=True))
    p = Patch(head, s, geo.cx - 48, geo.mouth_y - 22, 96, 62)
    c, cx, my = p.canvas, geo.cx, geo.mouth_y
    opened = min(1.1, m["open"] + pose["open"] * (1 - m["press"]))
    press = max(m["press"], pose["press"] * max(0.0, 1 - 3 * opened))
    w = geo.mouth_w * m["width"] * (1 + 0.07 * pose["corner"]) * (1 - 0.08 * press)
    corner_dy = -5.0 * pose["corner"] + 1.5 * opened
    gap = 24 * opened
    left, right = (cx - w, my + corner_dy), (cx + w, my + corner_dy)
    power = 1 - 0.5 * m["round"]
    upper_in = arc(left, right, corner_dy + 0.3 * gap, power, 20)
    lower_in = arc(left, right, corner_dy - 0.7 * gap, power, 20)
    u = np.linspace(-1, 1, 20)[:, None]
    t_up = geo.upper_lip * (1 + 0.5 * m["round"]) * (1 - 0.45 * press)
    t_lo = geo.lower_lip * (1 + 0.4 * m["round"]) * (1 - 0.45 * press) * (1 - 0.45 * m["tuck"])
    bow = 1 - 0.22 * np.exp(-((u / 0.13) ** 2))  # the dip of Cupid's bow
    down = np.array([0.0, 1.0])
    upper_out = upper_in - down * t_up * (0.22 + 0.78 * np.sqrt(1 - u * u)) * bow
    lower_out = lower_in + down * t_lo * (0.2 + 0.8 * (1 - u * u) ** 0.6)
    if gap > 0.3:
        _inside(c, m, upper_in, lower_in, (cx, my + corner_dy), w, gap, opened)
    lip_mask = c.mask(np.concatenate([upper_out, upper_in[::-1]]), blur=0.5)
    c.paint(lip_mask, scaled(look.lips, 0.86))
    c.paint(c.mask(np.concatenate([lower_in, lower_out[::-1]]), blur=0.5), look.lips)
    c.tint(c.ellipse((cx - 2, lower_in[10, 1] + t_lo * 0.45), (w * 0.35, t_lo * 0.22), 1.5), 1.16)
    if m["tuck"] > 0.2:  # f, v: the upper teeth rest on the lower lip
        band = np.concatenate([upper_in[5:-5], shifted(upper_in[5:-5], 0, 3.5)[::-1]])
        c.paint(c.mask(band, blur=0.3), TEETH, m["tuck"])
    closed = max(0.0, 1 - gap / 2)
    c.paint(c.stroke(upper_in, 1.2, blur=0.4), scaled(look.lips, 0.45), 0.8 * closed)
    for x in (left, right):
        c.tint(c.ellipse(x, (1.8, 1.4), blur=1), 0.7)
    p.commit()


def _inside(
    c: Canvas,
    m: dict[str, float],
    upper_in: Points,
    lower_in: Points,
    centre: tuple[float, float],
    w: float,
    gap: float,
    opened: float,
) -> None:
    """The open mouth between the lips: dark, with teeth and tongue as the pose shows."""
    cx, my = centre  # between the mouth corners
    inside = c.mask(np.concatenate([upper_in, lower_in[::-1]]), blur=0.3)
    c.paint(inside, MOUTH_INSIDE)
    teeth_h = min(gap * 0.5, 6.5) * m["teeth"]
    if teeth_h > 0.3:
        band = np.concatenate(
            [shifted(upper_in[3:-3], 0, -2), shifted(upper_in[3:-3], 0, teeth_h)[::-1]]
        )
        c.paint(c.mask(band, blur=0.3) * inside, TEETH)
    if opened > 0.4:
        low = np.concatenate(
            [shifted(lower_in[5:-5], 0, -2.5 * m["teeth"] * opened), lower_in[5:-5][::-1]]
        )
        c.paint(c.mask(low, blur=0.3) * inside, scaled(TEETH, 0.85))
    # the tongue lies low, rises behind the teeth (t, d, n) or shows between them (th)
    if m["tongue"] > 1:
        tongue_y = my
    elif m["tongue"] > 0.3:
        tongue_y = my + 0.1 * gap
    else:
        tongue_y = my + 0.45 * gap
    tongue = c.ellipse((cx, tongue_y + 0.1 * gap), (w * 0.5, max(2.5, gap * 0.28)), blur=0.6)
    c.paint(tongue * inside, TONGUE, 0.9)
    corners = inside * (1 - c.ellipse((cx, my), (w * 0.55, gap), blur=4))
    c.tint(corners, 0.55)  # the inside of the cheeks is in shadow


class Jaw:
    """Moves the chin down with the mouth's opening by warping the head layer below the
    lips: full under the lower lip down past the chin, fading sideways into the cheeks."""

    def __init__(self, geo: Geometry, s: float) -> None:
        hx, hy = HEAD_BOX[0], HEAD_BOX[1]
        x0, x1 = round((geo.cx - 100 - hx) * s), round((geo.cx + 100 - hx) * s)
        y0, y1 = round((geo.mouth_y - 2 - hy) * s), round((geo.chin_y + 40 - hy) * s)
        ys = (np.arange(y0, y1) / s + hy)[:, None]
        xs = (np.arange(x0, x1) / s + hx)[None, :]
        wy = np.clip((ys - geo.mouth_y + 2) / 14, 0, 1)
        wx = np.clip((100 - np.abs(xs - geo.cx)) / 55, 0, 1)
        self.weights = (wy * wx * s).astype(np.float32)  # pixels moved per reference unit
        self.box = (x0, y0, x1, y1)
        grid = np.meshgrid(np.arange(x1 - x0), np.arange(y1 - y0))
        self.gx, self.gy = (g.astype(np.float32) for g in grid)

    def drop(self, head: npt.NDArray[np.uint8], mouth: Pose, pose: dict[str, float]) -> None:
        """Lower the chin for ``mouth``: about 40 % of the lips' opening (10 units at most)."""
        drop = 10.0 * min(1.1, float(mouth[0]) + pose["open"])
        if drop < 0.05:
            return
        x0, y0, x1, y1 = self.box
        region = head[y0:y1, x0:x1].copy()
        head[y0:y1, x0:x1] = cv2.remap(
            region,
            self.gx,
            self.gy - drop * self.weights,
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
