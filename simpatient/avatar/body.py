"""The still part of the picture: the room behind, the neck, the shoulders and clothes.
Drawn once per persona; the head layer moves over it."""

import numpy as np

from simpatient.avatar.draw import Canvas, arc, mix, scaled, spline
from simpatient.avatar.geometry import REF_H, REF_W, Geometry
from simpatient.avatar.look import Look
from simpatient.content.persona import Clothing

WALL_TOP, WALL_BOTTOM = (196, 204, 202), (160, 170, 170)


def paint_body(look: Look, geo: Geometry, scale: float) -> Canvas:
    """Background, neck and torso over the whole reference frame."""
    c = Canvas(0, 0, REF_W, REF_H, scale, WALL_TOP)
    ramp = np.linspace(0, 1, c.h, dtype=np.float32)[:, None, None]
    c.rgb[:] = np.asarray(WALL_TOP, np.float32) * (1 - ramp) + np.asarray(WALL_BOTTOM) * ramp
    c.tint(c.ellipse((150, 120), (160, 140), blur=60), 1.08)  # window light from the left
    if look.clothing is Clothing.hospital_gown:  # a pillow behind the patient
        c.paint(c.ellipse((320, 300), (230, 150), blur=20), (226, 228, 230), 0.85)
    c.alpha[:] = 1
    cx = geo.cx
    neck_w = 40.0 if look.female else 47.0
    neck = np.array(
        [
            (cx - neck_w, geo.chin_y - 50),
            (cx + neck_w, geo.chin_y - 50),
            (cx + neck_w + 30, 440),
            (cx - neck_w - 30, 440),
        ]
    )
    c.paint(c.mask(neck), scaled(look.skin, 0.93))
    c.tint(c.mask(neck) * c.ellipse((cx, geo.chin_y), (60, 22), blur=14), 0.62)  # jaw shadow
    c.tint(c.ellipse((cx + 40, 360), (14, 40), blur=10), 0.85)
    for side in (-1, 1):  # the neck's muscles, from behind the ears to the collarbones
        muscle = np.array([(cx + side * (neck_w - 4), geo.chin_y - 30), (cx + side * 12, 392)])
        c.tint(c.stroke(muscle, 4, blur=4) * c.mask(neck), 0.88)
        edge = np.array([(cx + side * neck_w, geo.chin_y - 50), (cx + side * (neck_w + 6), 395)])
        c.tint(c.stroke(edge, 5, blur=4) * c.mask(neck), 0.85)
    if look.lines > 0.6:
        for k in range(2):
            y = geo.chin_y + 30 + 14 * k
            c.tint(c.stroke(arc((cx - 30, y), (cx + 30, y), -3), 1.2, blur=1), 0.85)
    _torso(c, look, geo)
    return c


def _torso(c: Canvas, look: Look, geo: Geometry) -> None:
    cx, top = geo.cx, 372.0
    span = 200.0 if look.female else 225.0
    body = spline(
        np.array(
            [
                (cx - 45, top - 6),
                (cx + 45, top - 6),
                (cx + span - 40, top + 14),
                (cx + span, top + 50),
                (cx + span + 20, 520),
                (cx - span - 20, 520),
                (cx - span, top + 50),
                (cx - span + 40, top + 14),
            ]
        )
    )
    shirt = c.mask(body, blur=0.8)
    cloth = look.clothes
    neckline = _neckline(look, geo, top)
    opening = c.mask(neckline, blur=0.6)
    c.paint(shirt * (1 - opening), cloth)  # the neck and chest show through the neckline
    c.tint(opening * c.ellipse((cx, top - 5), (50, 14), blur=6), 0.8)
    if look.clothing is Clothing.hospital_gown:
        rng = np.random.default_rng(look.seed)
        dots = c.spots(rng.uniform((60, top), (580, 480), (260, 2)), 2.2)
        c.paint(dots * shirt * (1 - opening), mix(cloth, (40, 70, 120), 0.6), 0.8)
        c.paint(c.stroke(neckline, 4) * shirt, mix(cloth, (255, 255, 255), 0.4))
    elif look.clothing in (Clothing.smart, Clothing.work_uniform):
        light = (232, 230, 224) if look.clothing is Clothing.smart else mix(cloth, (255,) * 3, 0.15)
        for side in (-1, 1):  # collar points
            collar = np.array(
                [
                    (cx + side * 30, top - 14),
                    (cx + side * 6, top + 34),
                    (cx + side * 44, top + 22),
                    (cx + side * 52, top - 2),
                ]
            )
            c.paint(c.mask(collar, blur=0.6), light)
            c.tint(c.stroke(collar[:2], 1.4, blur=0.8), 0.7)
        if look.clothing is Clothing.smart:  # a jacket or cardigan over the collar
            for side in (-1, 1):
                lapel = np.array(
                    [
                        (cx + side * 52, top + 4),
                        (cx + side * 14, 480),
                        (cx + side * 260, 480),
                        (cx + side * 160, top + 20),
                    ]
                )
                c.paint(c.mask(lapel, blur=0.8) * shirt, scaled(cloth, 0.8))
        else:
            placket = np.array([(cx, top + 30), (cx, 480)])
            c.tint(c.stroke(placket, 1.5, blur=0.8), 0.7)
            for y in (420.0, 465.0):
                c.paint(c.ellipse((cx + 5, y), (2.5, 2.5)), mix(cloth, (255,) * 3, 0.4))
    else:
        c.paint(c.stroke(neckline, 5) * shirt, scaled(cloth, 0.85))
    for side in (-1, 1):  # folds and the shoulders' roundness
        c.tint(c.stroke(arc((cx + side * 120, 480), (cx + side * 95, 410), 8 * side), 5, 6), 0.85)
        c.tint(c.ellipse((cx + side * (span - 30), top + 40), (40, 20), blur=14), 1.08)


def _neckline(look: Look, geo: Geometry, top: float) -> np.ndarray:
    cx = geo.cx
    if look.clothing is Clothing.religious_dress:
        return np.array([(cx - 44, top - 10), (cx + 44, top - 10), (cx, top)])
    depth = {Clothing.hospital_gown: 26.0, Clothing.casual: 18.0}.get(look.clothing, 36.0)
    v = look.clothing in (Clothing.smart, Clothing.work_uniform)
    if v:
        return np.array([(cx - 32, top - 14), (cx + 32, top - 14), (cx, top + depth)])
    return arc((cx - 46, top - 10), (cx + 46, top - 10), -depth, 0.8, n=20)
