"""The embedded CPU renderer: a painted, lit face built from the persona's appearance.

At load the still parts are painted once, supersampled (the room and the body; the head
with skin, shading, age lines, hair, facial hair). Each frame then copies the head
layer, lowers the jaw, paints the mouth, eyes and brows on small patches, turns the head
(a small affine warp) and lays it over the breathing body: a few milliseconds at 640x480."""

import logging

import cv2
import numpy as np
import numpy.typing as npt

from simpatient.avatar.body import paint_body
from simpatient.avatar.draw import Canvas
from simpatient.avatar.face import paint_head
from simpatient.avatar.features import SUPERSAMPLE, Jaw, draw_brows, draw_eyes, draw_mouth
from simpatient.avatar.frames import FaceInput, Image, Mode
from simpatient.avatar.geometry import HEAD_BOX, PIVOT, REF_H, REF_W, Geometry
from simpatient.avatar.look import look_for
from simpatient.avatar.motion import (
    Schedule,
    blink_closure,
    blink_interval,
    breath,
    face_pose,
    gaze,
    head_motion,
    mouth_pose,
)
from simpatient.avatar.renderer import AvatarRenderer, RenderOptions
from simpatient.content.persona import Persona

logger = logging.getLogger(__name__)


class CPURenderer(AvatarRenderer):
    """Pre-rendered layers composited per frame with OpenCV."""

    name = "cpu"

    def __init__(self, persona: Persona, options: RenderOptions) -> None:
        super().__init__(persona, options)
        self.look = look_for(persona)
        self.geo = Geometry.of(self.look)
        self.scale = min(options.width / REF_W, options.height / REF_H)
        self.offset = (
            (options.width - REF_W * self.scale) / 2,
            (options.height - REF_H * self.scale) / 2,
        )
        seed = options.seed
        self.blinks = Schedule(seed, 1, blink_interval)
        self.nods = Schedule(seed, 2, lambda r: float(r.uniform(2.5, 5.0)))
        self.shifts = Schedule(seed, 3, lambda r: float(r.uniform(0.8, 2.8)))
        self._base: Image | None = None

    def load(self) -> None:
        # the per-frame work is many small images: OpenCV's thread pool costs more than it
        # saves there, and the budget is one core
        cv2.setNumThreads(1)
        s, (ox, oy) = self.scale, self.offset
        w, h = self.options.width, self.options.height
        body = paint_body(self.look, self.geo, s * SUPERSAMPLE).to_rgba(s)[..., :3]
        shift = np.array([[1, 0, ox], [0, 1, oy]], np.float32)
        placed = cv2.warpAffine(body, shift, (w, h), borderMode=cv2.BORDER_REPLICATE)
        self._base = np.asarray(placed, np.uint8)
        self._head = paint_head(self.look, self.geo, s * SUPERSAMPLE).to_rgba(s)
        self._glasses = self._paint_glasses() if self.look.glasses == "on" else None
        self.jaw = Jaw(self.geo, s)
        # breathing lifts the shoulders: rows below the chin follow, fading in
        self._band = max(0, int(oy + (self.geo.chin_y + 10) * s))
        rows = np.arange(self._band, h, dtype=np.float32)
        self._breath_w = np.clip((rows - self._band) / (30 * s), 0, 1)[:, None] * s
        gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), rows - self._band)
        self._grid = (gx, gy)
        hx, hy = HEAD_BOX[0], HEAD_BOX[1]
        self._head_box = (
            round(ox + hx * s),
            round(oy + hy * s),
            self._head.shape[1],
            self._head.shape[0],
        )
        self._pivot = ((PIVOT[0] - hx) * s, (PIVOT[1] - hy) * s)
        logger.info("avatar for %s painted (%dx%d)", self.persona.id, w, h)

    def _paint_glasses(self) -> npt.NDArray[np.uint8]:
        geo, s = self.geo, self.scale
        c = Canvas(*HEAD_BOX, scale=s * SUPERSAMPLE, fill=(40, 34, 32))
        frame = (40, 34, 32)
        for side in (-1, 1):
            centre = (geo.cx + side * geo.eye_dx, geo.eye_y + 2)
            rim = c.ellipse(centre, (22, 15)) - c.ellipse(centre, (20, 13))
            c.paint(np.clip(rim, 0, 1), frame)
            c.paint(c.ellipse(centre, (20, 13)), (235, 240, 245), 0.08)
            glint = c.ellipse((centre[0] - 8, centre[1] - 6), (6, 2), blur=1.5)
            c.paint(glint, (255, 255, 255), 0.35)
            temple = np.array(
                [(geo.cx + side * 62, geo.eye_y - 2), (geo.cx + side * 90, geo.eye_y + 2)]
            )
            c.paint(c.stroke(temple, 2), frame)
        bridge = np.array(
            [(geo.cx - 18, geo.eye_y - 2), (geo.cx, geo.eye_y - 5), (geo.cx + 18, geo.eye_y - 2)]
        )
        c.paint(c.stroke(bridge, 2), frame)
        return c.to_rgba(s)

    def render(self, face: FaceInput) -> Image:
        if self._base is None:
            raise RuntimeError("CPURenderer.load() was not called")
        t, seed, s = face.t, self.options.seed, self.scale
        pose = face_pose(face)
        if face.mode is Mode.listening:  # attentive: brows up a little
            pose["brow_in"] += 0.25
            pose["brow_out"] += 0.2
        mouth = mouth_pose(face.speech, t)
        head = self._head.copy()
        self.jaw.drop(head, mouth, pose)
        draw_mouth(head, s, self.look, self.geo, mouth, pose)
        draw_eyes(
            head,
            s,
            self.look,
            self.geo,
            pose,
            blink_closure(self.blinks, t),
            gaze(t, face.mode, self.shifts, seed),
        )
        draw_brows(head, s, self.look, self.geo, pose)
        if self._glasses is not None:
            _over(head, self._glasses)
        frame = self._breathe(t)
        dx, dy, roll = head_motion(face, seed, self.nods)
        roll += pose["tilt"]
        dy += 1.3 * pose["pitch"]
        turn = cv2.getRotationMatrix2D(self._pivot, roll, 1.0)
        turn[:, 2] += np.array([dx * s, dy * s])
        x, y, w, h = self._head_box
        moved = cv2.warpAffine(head, turn, (w, h), flags=cv2.INTER_LINEAR)
        alpha = moved[..., 3].astype(np.float32) * (1 / 255)
        region = frame[y : y + h, x : x + w]
        frame[y : y + h, x : x + w] = cv2.blendLinear(moved[..., :3], region, alpha, 1 - alpha)
        return frame

    def _breathe(self, t: float) -> Image:
        assert self._base is not None
        gx, gy = self._grid
        lift = 1.5 * breath(t)
        frame = self._base.copy()
        band = self._base[self._band :]
        frame[self._band :] = cv2.remap(
            band, gx, gy + lift * self._breath_w, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        return frame


def _over(dst: npt.NDArray[np.uint8], top: npt.NDArray[np.uint8]) -> None:
    """Lay the RGBA ``top`` over the RGBA ``dst`` of the same size, in place."""
    a = top[..., 3:].astype(np.float32) * (1 / 255)
    dst[..., :3] = (top[..., :3] * a + dst[..., :3] * (1 - a)).astype(np.uint8)
