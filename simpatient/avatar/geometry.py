"""Where the parts of the face are, in reference units (a 640x480 frame)."""

from dataclasses import dataclass

import numpy as np

from simpatient.avatar.draw import Points, spline
from simpatient.avatar.look import Look

REF_W, REF_H = 640, 480
#: the head layer's region: it moves as one piece (nods, tilts) over the body
HEAD_BOX = (130.0, 20.0, 380.0, 430.0)  # x, y, width, height
#: the head turns about the top of the neck
PIVOT = (320.0, 330.0)


@dataclass(frozen=True, slots=True)
class Geometry:
    """Positions and sizes of the facial parts for one look."""

    cx: float
    eye_y: float
    eye_dx: float
    eye_w: float
    brow_y: float
    nose_y: float
    mouth_y: float
    mouth_w: float
    upper_lip: float
    lower_lip: float
    chin_y: float
    contour: Points  # closed outline of the face and skull

    @classmethod
    def of(cls, look: Look) -> "Geometry":
        cx, eye_y = 320.0, 205.0
        jaw = 0.0 if look.female else 6.0
        sag = 4.0 * look.lines  # jowls and a longer lower face with age
        chin = 120.0 + sag * 0.5
        right = [
            (0, -118), (50, -111), (79, -82), (89, -40), (90, 0), (86, 34),
            (78 + jaw * 0.5, 64 + sag), (58 + jaw, 94 + sag), (30 + jaw * 0.6, chin - 6),
        ]  # fmt: skip
        narrow = 0.95 if look.female else 1.0
        right = [
            (x * narrow, y * (1.06 if y > 0 else 1.0)) for x, y in right
        ]  # a longer lower face
        chin *= 1.06
        pts = [(cx + x, eye_y + y) for x, y in right]
        pts += [(cx, eye_y + chin)]
        pts += [(cx - x, eye_y + y) for x, y in reversed(right[1:])]
        thin = 1.0 - 0.25 * look.lines  # lips thin with age
        return cls(
            cx=cx,
            eye_y=eye_y,
            eye_dx=40.0,
            eye_w=16.5,
            brow_y=eye_y - 19,
            nose_y=eye_y + 45,
            mouth_y=eye_y + 73 + sag * 0.3,
            mouth_w=29.0 if look.female else 31.0,
            upper_lip=(6.5 if look.female else 5.5) * thin,
            lower_lip=(9.0 if look.female else 8.0) * thin,
            chin_y=eye_y + chin,
            contour=spline(np.array(pts, np.float64), closed=True, per_segment=10),
        )

    def half_width_at(self, y: float) -> float:
        """Half the face's width at height ``y`` (from the outline)."""
        c = self.contour
        right = c[c[:, 0] >= self.cx]
        order = np.argsort(right[:, 1])
        return float(np.interp(y, right[order, 1], right[order, 0] - self.cx))
