"""The renderer interface and its registry.

A renderer turns a :class:`FaceInput` (stream time, mode, expression, speech) into one
RGB picture. Backends are named in settings (``SIMPATIENT_AVATAR__BACKEND``) and
imported only when chosen, so the GPU adapter's torch imports never load on a laptop."""

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass

from simpatient.avatar.frames import FaceInput, Image
from simpatient.content.persona import Persona
from simpatient.errors import BackendError, ModelError
from simpatient.registry import backend_class

logger = logging.getLogger(__name__)

#: backend name -> "module:Class", imported on first use
REGISTRY: dict[str, str] = {
    "cpu": "simpatient.avatar.cpu:CPURenderer",
    "musetalk": "simpatient.avatar.musetalk:MuseTalkRenderer",
}


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Picture size, frame rate and the seed of the random motion (blinks, gaze)."""

    width: int = 640
    height: int = 480
    fps: int = 25
    seed: int = 0


class AvatarRenderer(ABC):
    """Draws one persona. ``load()`` does the heavy work once (pre-rendered layers,
    model weights); ``render()`` must then stay cheap enough for the frame rate."""

    name: str = ""

    def __init__(self, persona: Persona, options: RenderOptions) -> None:
        self.persona = persona
        self.options = options

    @abstractmethod
    def load(self) -> None:
        """Prepare everything ``render`` needs; raises :class:`ModelError` when a model
        file is missing."""

    @abstractmethod
    def render(self, face: FaceInput) -> Image:
        """The picture (height x width x 3, RGB, uint8) for ``face``."""


def create_renderer(
    backend: str, persona: Persona, options: RenderOptions, **backend_options: object
) -> AvatarRenderer:
    """The named renderer, loaded. A backend that cannot load (no weights, no GPU, a
    missing package) falls back to the CPU renderer with a logged warning: the patient
    keeps a face rather than the call losing its video."""
    renderer = _instantiate(backend, persona, options, backend_options)
    try:
        renderer.load()
    except (ModelError, BackendError, ImportError) as e:
        if backend == "cpu":
            raise
        logger.warning("avatar backend %r unavailable (%s); using the CPU renderer", backend, e)
        renderer = _instantiate("cpu", persona, options, {})
        renderer.load()
    return renderer


def _instantiate(
    backend: str, persona: Persona, options: RenderOptions, backend_options: dict[str, object]
) -> AvatarRenderer:
    cls: type[AvatarRenderer] = backend_class("avatar backend", backend, REGISTRY)
    renderer: AvatarRenderer = cls(persona, options, **backend_options)
    return renderer
