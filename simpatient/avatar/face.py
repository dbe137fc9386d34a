"""The head as one pre-rendered layer: skull, skin and its shading, ears, nose, age
lines, facial hair and hair. Drawn once per persona at load, supersampled; what moves
(eyes, brows, mouth) is drawn on top of it on every frame by :mod:`features`."""

import cv2
import numpy as np

from simpatient.avatar.draw import Canvas, arc, mix, scaled, shifted, spline
from simpatient.avatar.geometry import HEAD_BOX, Geometry
from simpatient.avatar.look import HairStyle, Look
from simpatient.content.persona import FacialHair


def paint_head(look: Look, geo: Geometry, scale: float) -> Canvas:
    """The head layer over :data:`HEAD_BOX` at ``scale`` pixels per reference unit."""
    c = Canvas(*HEAD_BOX, scale=scale, fill=look.hair)
    rng = np.random.default_rng(look.seed)
    _back_hair(c, look, geo)
    _ears(c, look, geo)
    face = c.mask(geo.contour)
    c.paint(face, look.skin)
    _shade_skin(c, look, geo, face)
    _nose(c, look, geo)
    _age(c, look, geo, rng)
    _facial_hair(c, look, geo, rng)
    _front_hair(c, look, geo, rng)
    if look.glasses == "up":
        _glasses_up(c, geo)
    return c


def _shade_skin(c: Canvas, look: Look, geo: Geometry, face: np.ndarray) -> None:
    cx, ey = geo.cx, geo.eye_y
    # on dark skin the form reads through its sheen rather than its shadows (as on camera)
    sheen, shade = 1 + 0.25 * look.dark, 1 - 0.4 * look.dark
    inner = c.mask(geo.contour, blur=14)
    c.tint(face * (1 - inner), 1 - 0.28 * shade)  # round form: the edges turn away
    c.tint(c.ellipse((cx + 70, ey + 20), (45, 110), blur=30) * face, 0.88)  # light from the left
    c.tint(c.ellipse((cx - 30, ey - 60), (50, 22), blur=18) * face, 1.08 * sheen)  # forehead
    blush = (1.03, 0.96, 0.95)
    for side in (-1, 1):
        c.tint(c.ellipse((cx + side * 48, ey + 42), (20, 14), blur=10), blush)
        c.tint(c.ellipse((cx + side * 50, ey + 24), (16, 8), blur=7) * face, 1 + 0.06 * sheen)
        sockets = c.ellipse((cx + side * geo.eye_dx, ey - 2), (24, 13), blur=6)
        c.tint(sockets, 1 - 0.16 * shade)
        c.tint(c.ellipse((cx + side * 14, ey + 20), (4, 22), blur=5), 0.9)  # nose sides
    c.tint(c.ellipse((cx, geo.mouth_y + geo.lower_lip + 8), (16, 5), blur=4), 0.82)
    c.tint(c.ellipse((cx, geo.chin_y - 10), (18, 8), blur=7), 1.06 * sheen)  # chin
    c.tint(c.ellipse((cx, geo.brow_y - 30), (12, 30), blur=10), 1.04 * sheen)


def _nose(c: Canvas, look: Look, geo: Geometry) -> None:
    cx, ny = geo.cx, geo.nose_y
    c.tint(c.ellipse((cx, ny - 4), (9, 7), blur=4), 1.08 + 0.2 * look.dark)  # tip
    c.tint(c.ellipse((cx, ny + 6), (13, 3), blur=3), 0.78)  # shadow under the nose
    for side in (-1, 1):
        wing = arc((cx + side * 9, ny - 8), (cx + side * 9, ny + 5), side * 6, 0.7)
        c.tint(c.stroke(wing, 1.6, blur=1.2), 0.7)
        c.tint(c.ellipse((cx + side * 6, ny + 3), (3.6, 2.0), blur=0.6), 0.45)  # nostril
    bridge = np.array([(cx + 8, geo.eye_y + 2), (cx + 9, ny - 10)])
    c.tint(c.stroke(bridge, 2, blur=2.5), 0.86)
    c.tint(c.stroke(np.array([(cx - 3, geo.eye_y), (cx - 2, ny - 8)]), 2.5, blur=2), 1.05)
    philtrum = np.array([(cx, ny + 7), (cx, geo.mouth_y - geo.upper_lip)])
    c.tint(c.stroke(philtrum, 5, blur=1.5), 0.94)


def _ears(c: Canvas, look: Look, geo: Geometry) -> None:
    for side in (-1, 1):
        x = geo.cx + side * (84 if look.female else 87)
        ear = c.ellipse((x, geo.eye_y + 16), (9, 21))
        c.paint(ear, scaled(look.skin, 0.9))
        c.tint(c.ellipse((x + side * 2, geo.eye_y + 14), (5, 15), blur=2), 0.75)


def _age(c: Canvas, look: Look, geo: Geometry, rng: np.random.Generator) -> None:
    cx, ey, depth = geo.cx, geo.eye_y, look.lines
    if depth > 0.05:
        for side in (-1, 1):  # nasolabial folds
            fold = spline(
                np.array(
                    [
                        (cx + side * 15, geo.nose_y - 2),
                        (cx + side * 27, geo.nose_y + 14),
                        (cx + side * 33, geo.mouth_y + 8),
                    ]
                ),
                closed=False,
            )
            c.tint(c.stroke(fold, 2.4, blur=2.2), 1 - 0.22 * depth)
            for k in range(3):  # crow's feet
                y = ey - 2 + k * 4
                line = np.array([(cx + side * 61, y), (cx + side * 68, y + (k - 1) * 3)])
                c.tint(c.stroke(line, 1, blur=0.9), 1 - 0.15 * depth)
            bag = arc((cx + side * 52, ey + 8), (cx + side * 28, ey + 8), -5, 0.8)
            c.tint(c.stroke(bag, 1.2, blur=1), 1 - 0.25 * depth)
        for k in range(3 if depth > 0.5 else 2):  # forehead
            y = geo.brow_y - 18 - k * 8
            c.tint(
                c.stroke(arc((cx - 34, y + 2), (cx + 34, y + 2), 3), 1.2, blur=1.2), 1 - 0.1 * depth
            )
    if depth > 0.6:  # marionette lines
        for side in (-1, 1):
            line = np.array([(cx + side * 31, geo.mouth_y + 6), (cx + side * 33, geo.mouth_y + 24)])
            c.tint(c.stroke(line, 1.5, blur=1.5), 0.85)
    if look.tired:
        for side in (-1, 1):
            c.tint(c.ellipse((cx + side * 40, ey + 11), (14, 5), blur=3), (0.85, 0.8, 0.85))
    if look.hollow:
        for side in (-1, 1):
            c.tint(c.ellipse((cx + side * 55, ey + 48), (14, 20), blur=8), 0.86)
    if look.freckles:
        spots = rng.uniform((-58, 12), (58, 50), (160, 2))
        spots = spots[(np.abs(spots[:, 0]) > 22) | (spots[:, 1] < 35)]
        c.tint(c.spots(shifted(spots, cx, ey), 0.6, blur=0.5), (0.93, 0.88, 0.84), 0.6)


def _facial_hair(c: Canvas, look: Look, geo: Geometry, rng: np.random.Generator) -> None:
    kind = look.facial_hair
    if kind is FacialHair.none:
        return
    cx, my, colour = geo.cx, geo.mouth_y, look.beard
    face = c.mask(geo.contour)
    ul, mw = geo.upper_lip, geo.mouth_w
    moustache = np.array(
        [
            (cx - mw - 3, my + 7),
            (cx - mw + 2, my - 8),
            (cx - 16, my - 17),
            (cx, my - 15),
            (cx + 16, my - 17),
            (cx + mw - 2, my - 8),
            (cx + mw + 3, my + 7),
            (cx + mw - 6, my - ul + 2),
            (cx + 12, my - ul - 1),
            (cx, my - ul - 1),
            (cx - 12, my - ul - 1),
            (cx - mw + 6, my - ul + 2),
        ]
    )
    if kind is FacialHair.stubble:
        area = _beard_area(c, geo, 0.0, soft=5.0) * face  # stubble fades out, no edge
        c.tint(area, (0.93, 0.92, 0.94))  # the shadow of shaved hair
        _texture(c, area, colour, rng, 6000, 0.35, 0.3)
        return
    if kind in (FacialHair.moustache, FacialHair.beard, FacialHair.goatee):
        m = c.mask(moustache, blur=1.2)
        c.paint(m, scaled(colour, 0.92), 0.9)
        _texture(c, m, scaled(colour, 0.7), rng, 900, 0.45, 0.5)
        _texture(c, m, mix(colour, (255, 255, 255), 0.2), rng, 500, 0.45, 0.4)
        c.tint(c.ellipse((cx, my - ul), (mw, 3), blur=2) * m, 0.8)  # its shadowed lower edge
    if kind is FacialHair.beard:
        area = _beard_area(c, geo, 2.5)
        c.paint(area, colour, 0.88)
        salt = (175, 172, 168) if look.grey_beard else mix(colour, (255, 255, 255), 0.2)
        _texture(c, area, salt, rng, 3000 if look.grey_beard else 2000, 0.5, 0.5)
        _texture(c, area, scaled(colour, 0.6), rng, 3000, 0.5, 0.4)
    if kind is FacialHair.goatee:
        chin = c.ellipse((cx, geo.chin_y - 12), (20, 18), blur=1.5)
        c.paint(chin * (1 - c.ellipse((cx, my + 4), (geo.mouth_w, 10))), colour, 0.9)


def _beard_area(c: Canvas, geo: Geometry, grow: float, soft: float = 1.5) -> np.ndarray:
    """The jaw and chin below the cheekbones, out past the outline by ``grow``."""
    cx = geo.cx
    pts = [
        (cx + geo.half_width_at(y) + grow, y) for y in np.linspace(geo.eye_y + 22, geo.chin_y, 12)
    ]
    outline = np.array(
        pts + [(cx, geo.chin_y + grow)] + [(2 * cx - x, y) for x, y in reversed(pts)]
    )
    my = geo.mouth_y
    top = [
        (cx + 88, geo.eye_y + 22),
        (cx + 68, geo.nose_y + 4),
        (cx + 40, my - 6),
        (cx + 22, my + 9),
        (cx, my + 11),
    ]
    inner = spline(np.array(top + [(2 * cx - x, y) for x, y in reversed(top[:-1])]), closed=False)
    area = c.mask(np.concatenate([outline, inner[::-1]]), blur=soft)
    mouth = c.ellipse((cx, my + 2), (geo.mouth_w + 2, geo.lower_lip + 3), blur=1.5)
    return area * (1 - mouth)


def _texture(
    c: Canvas,
    area: np.ndarray,
    colour: tuple[float, float, float],
    rng: np.random.Generator,
    count: int,
    length: float,
    opacity: float,
) -> None:
    """Short hair strokes scattered over ``area`` (strands, stubble), clipped to it."""
    h, w = area.shape
    ys, xs = rng.integers(0, h, count), rng.integers(0, w, count)
    keep = area[ys, xs] > 0.3
    strokes = np.zeros((h, w), np.float32)
    angle = rng.uniform(1.2, 1.9, count)[keep]
    size = length * c.scale * 3
    lines = np.stack(
        [xs[keep], ys[keep], xs[keep] + size * np.cos(angle), ys[keep] + size * np.sin(angle)], 1
    ).reshape(-1, 2, 2)
    cv2.polylines(strokes, list(np.round(lines).astype(np.int32)), False, 1.0, 1, cv2.LINE_AA)
    c.paint(strokes * area, colour, opacity)


def _back_hair(c: Canvas, look: Look, geo: Geometry) -> None:
    cx, ey = geo.cx, geo.eye_y
    drop = {HairStyle.bob: 88.0, HairStyle.long: 200.0, HairStyle.curly: 70.0}.get(look.style)
    if drop is None:
        return
    wide = 112.0 if look.style is HairStyle.curly else 104.0
    shape = spline(
        np.array(
            [
                (cx, ey - 132),
                (cx + 80, ey - 112),
                (cx + wide, ey - 40),
                (cx + wide - 4, ey + drop - 30),
                (cx + wide - 18, ey + drop),
                (cx - wide + 18, ey + drop),
                (cx - wide + 4, ey + drop - 30),
                (cx - wide, ey - 40),
                (cx - 80, ey - 112),
            ]
        )
    )
    m = c.mask(shape, blur=1.5)
    c.paint(m, scaled(look.hair, 0.7))
    rng = np.random.default_rng(look.seed + 1)
    light, dark = mix(look.hair, (255, 255, 255), 0.12), scaled(look.hair, 0.5)
    for colour in (light, dark):  # strands falling from the crown past the face
        lines = []
        for _ in range(70):
            x = rng.uniform(-wide, wide)
            top = (cx + x * 0.5, ey - 120)
            bottom = (cx + x + rng.uniform(-4, 4), ey + drop + rng.uniform(-6, 2))
            lines.append(arc(top, bottom, rng.uniform(-6, 6), n=12))
        c.paint(c.marks(lines, 0.9, blur=0.4) * m, colour, 0.4)
    c.tint(c.mask(geo.contour, blur=12) * m, 0.6)  # shadow of the head on the hair behind


def _front_hair(c: Canvas, look: Look, geo: Geometry, rng: np.random.Generator) -> None:
    if look.style is HairStyle.bald:
        return
    cx, ey, hair = geo.cx, geo.eye_y, look.hair
    line = ey - 72 - (8 if look.thin_hair or (look.age > 60 and not look.female) else 0)
    side = 1 if look.seed % 2 else -1
    skull = geo.contour[geo.contour[:, 1] < ey - 20]  # above the temples, left to right
    grow = 3.0 if look.style in (HairStyle.cropped, HairStyle.braids) else 6.0
    cap_out = np.array([(x + np.sign(x - cx) * grow, y - grow) for x, y in skull])
    if look.style in (HairStyle.bob, HairStyle.long, HairStyle.curly):
        # a fringe swept from the parting across the forehead, lower on the far side
        fringe = [
            (cx - side * 95, ey + 28),
            (cx - side * 84, ey - 34),
            (cx - side * 50, line + 18),
            (cx - side * 5, line + 10),
            (cx + side * 40, line - 2),
            (cx + side * 80, ey - 48),
            (cx + side * 95, ey + 28),
        ]
        fringe.sort(key=lambda p: -p[0])  # right to left, after the skull's left to right
    else:
        temple = ey - 28 if look.style is HairStyle.cropped else ey - 22
        fringe = [
            (cx + 88, temple + 20),
            (cx + 80, temple),
            (cx + 62, line + 10),
            (cx + side * 10, line),
            (cx - 62, line + 10),
            (cx - 80, temple),
            (cx - 88, temple + 20),
        ]
    shape = np.concatenate(
        [
            cap_out[np.argsort(np.arctan2(cap_out[:, 1] - ey, cap_out[:, 0] - cx))],
            spline(np.array(fringe), closed=False),
        ]
    )
    soft = 1.4 if look.style is HairStyle.cropped else 1.0
    m = c.mask(shape, blur=soft)
    opacity = 0.62 if look.thin_hair else (0.85 if look.style is HairStyle.cropped else 1.0)
    c.paint(m, hair, opacity)
    c.tint(c.ellipse((cx - 30, ey - 110), (40, 14), blur=10) * m, 1.2)  # sheen
    c.tint(c.stroke(spline(np.array(fringe), closed=False), 3, blur=2) * m, 0.8)  # hair's edge
    _strands(c, look, geo, m, rng)


def _strands(c: Canvas, look: Look, geo: Geometry, m: np.ndarray, rng: np.random.Generator) -> None:
    cx, ey = geo.cx, geo.eye_y
    light = mix(look.hair, (255, 255, 255), 0.18)
    dark = scaled(look.hair, 0.82 if sum(look.hair) > 450 else 0.65)  # soft lines in white hair
    if look.style is HairStyle.braids:
        for k in range(-5, 6):  # rows of braids from the hairline to the crown
            row = arc((cx + k * 17, ey - 80 + abs(k) * 6), (cx + k * 9, ey - 140), 0, n=12)
            c.paint(c.stroke(row, 6, blur=0.8) * m, light, 0.35)
            c.tint(c.stroke(shifted(row, 3, 0), 1.2, blur=0.6) * m, 0.5)
        return
    if look.style is HairStyle.cropped:
        _texture(c, m, dark, rng, 6000, 0.4, 0.5)
        return
    part = cx + (1 if look.seed % 2 else -1) * 28 if look.parted else cx
    curves: list[list[np.ndarray]] = [[], []]
    for _ in range(160):
        end_x = rng.uniform(cx - 100, cx + 100)
        if look.style is HairStyle.swept_back:
            start, end = (end_x * 0.85 + cx * 0.15, ey - 78), (end_x * 0.7 + cx * 0.3, ey - 135)
        else:
            start = (part + rng.uniform(-4, 4), ey - 128)
            end = (end_x, ey - 60 + abs(end_x - cx) * 0.3)
        bend = rng.uniform(4, 12) * np.sign(end_x - cx)
        curve = arc(start, end, bend, n=10)
        curves[int(rng.uniform() < 0.5)].append(curve)
    c.paint(c.marks(curves[0], 0.9, blur=0.3) * m, light, 0.45)
    c.paint(c.marks(curves[1], 0.9, blur=0.3) * m, dark, 0.45)


def _glasses_up(c: Canvas, geo: Geometry) -> None:
    cx, y = geo.cx, geo.eye_y - 108
    for side in (-1, 1):
        lens = c.ellipse((cx + side * 26, y), (20, 7))
        c.tint(lens, 1.15, 0.5)
        rim = c.ellipse((cx + side * 26, y), (21, 8)) - c.ellipse((cx + side * 26, y), (19, 6))
        c.paint(np.clip(rim, 0, 1), (60, 45, 40), 0.9)
    c.paint(c.stroke(np.array([(cx - 6, y - 2), (cx + 6, y - 2)]), 1.5), (60, 45, 40))
