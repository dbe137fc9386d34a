"""MuseTalk 1.5 (MIT) behind the renderer interface, for GPU deployments.

MuseTalk redraws the lower half of a real face in a short base video of the persona so
that its mouth follows the audio: the face crop (256x256) with its lower half blanked and
a reference crop are encoded by the Stable Diffusion VAE, a UNet conditioned on Whisper
encoder features of the audio predicts the speaking face's latent in one step, the VAE
decodes it and the crop is pasted back with a feathered mask. Public reports give about
30 fps on one V100 or H100.

Expected folder (``SIMPATIENT_AVATAR__MUSETALK_MODEL``), as MuseTalk's download script
lays it out: ``sd-vae/`` (diffusers AutoencoderKL), ``musetalkV15/unet.pth`` and
``musetalkV15/musetalk.json`` (UNet2DConditionModel config), ``whisper/`` (whisper-tiny,
transformers). Base videos: ``<base_video>/<persona-id>.mp4`` with
``<persona-id>.json`` = ``{"box": [x0, y0, x1, y1]}``, the face in that video (MuseTalk
finds it with a landmark model at preparation; a seated patient barely moves, so one box
per persona is enough and keeps the runtime free of a detector).

Everything except the network calls is plain numpy/OpenCV and is tested without a GPU."""

import importlib
import json
import logging
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt

from simpatient.avatar.frames import FaceInput, Image, Speech
from simpatient.avatar.renderer import AvatarRenderer, RenderOptions
from simpatient.content.persona import Persona
from simpatient.errors import BackendError, ModelError
from simpatient.speech.audio import ASR_RATE

logger = logging.getLogger(__name__)

CROP = 256  # MuseTalk's face resolution
AUDIO_PAD = 2  # video frames of audio context each side (MuseTalk's default)
WHISPER_HZ = 50  # whisper encoder frames per second
BATCH = 8  # frames inferred together, ahead of when they are due
REQUIRED = ("sd-vae", "musetalkV15/unet.pth", "musetalkV15/musetalk.json", "whisper")

Box = tuple[int, int, int, int]
SpeechKey = tuple[float, float, int]


def _key(speech: Speech) -> SpeechKey:
    """Identifies an utterance on the stream (its audio array is not hashable, and an
    ``id()`` can be reused once the utterance is gone)."""
    return speech.at, speech.audio.start, len(speech.audio.samples)


def ping_pong(t: float, fps: int, frames: int) -> int:
    """Index into a base video of ``frames`` frames, played forwards then backwards so
    a short loop never jumps."""
    if frames <= 1:
        return 0
    period = 2 * (frames - 1)
    k = int(t * fps) % period
    return k if k < frames else period - k


def face_crop(frame: Image, box: Box) -> Image:
    """The face region resized to MuseTalk's 256x256."""
    x0, y0, x1, y1 = box
    return np.asarray(
        cv2.resize(frame[y0:y1, x0:x1], (CROP, CROP), interpolation=cv2.INTER_AREA), np.uint8
    )


def masked(crop: Image) -> Image:
    """The crop with its lower half blanked: what the network must redraw."""
    out = crop.copy()
    out[CROP // 2 :] = 0
    return out


def blend_mask(size: tuple[int, int], feather: float = 0.08) -> npt.NDArray[np.float32]:
    """Weight of the generated face over the original, by pixel, for a box of ``size``
    (width, height): the lower face only, feathered so no seam shows."""
    w, h = size
    m = np.zeros((h, w), np.float32)
    m[int(h * 0.45) : int(h * 0.95), int(w * 0.1) : int(w * 0.9)] = 1
    k = max(1, round(feather * max(w, h)))
    return np.asarray(cv2.GaussianBlur(m, (0, 0), k), np.float32)


def paste_back(frame: Image, face: Image, box: Box) -> Image:
    """``frame`` with the generated ``face`` (256x256) blended into ``box``."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    resized = cv2.resize(face, (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    m = blend_mask((w, h))[..., None]
    out = frame.copy()
    region = out[y0:y1, x0:x1].astype(np.float32)
    out[y0:y1, x0:x1] = np.clip(resized * m + region * (1 - m), 0, 255).astype(np.uint8)
    return out


def audio_window(
    features: npt.NDArray[np.float32], frame: int, fps: int
) -> npt.NDArray[np.float32]:
    """Whisper features (time, layers, dim) around video frame ``frame``: ``AUDIO_PAD``
    frames each side, edge-padded, flattened to (time x layers, dim) as the UNet takes."""
    per_frame = WHISPER_HZ // fps
    centre = frame * per_frame
    idx = np.arange(centre - AUDIO_PAD * per_frame, centre + (AUDIO_PAD + 1) * per_frame)
    idx = np.clip(idx, 0, len(features) - 1)
    window = features[idx]
    return window.reshape(-1, window.shape[-1])


def check_model(model_dir: Path | None) -> Path:
    """The model folder, or a :class:`ModelError` naming what is missing."""
    if model_dir is None:
        raise ModelError("no MuseTalk model set (SIMPATIENT_AVATAR__MUSETALK_MODEL)")
    missing = [p for p in REQUIRED if not (model_dir / p).exists()]
    if missing:
        raise ModelError(f"MuseTalk model at {model_dir} lacks {', '.join(missing)}")
    return model_dir


def load_base(
    base_video: Path | None, persona_id: str, size: tuple[int, int]
) -> tuple[list[Image], Box]:
    """The persona's base video frames (RGB, resized to ``size``) and face box."""
    if base_video is None:
        raise ModelError("no MuseTalk base video folder (SIMPATIENT_AVATAR__MUSETALK_BASE_VIDEO)")
    video, meta = base_video / f"{persona_id}.mp4", base_video / f"{persona_id}.json"
    if not video.exists() or not meta.exists():
        raise ModelError(f"no base video {video} with its face box {meta}")
    with av.open(str(video)) as container:
        raw = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    if not raw:
        raise ModelError(f"{video} has no frames")
    sy, sx = size[1] / raw[0].shape[0], size[0] / raw[0].shape[1]
    frames = [np.asarray(cv2.resize(f, size, interpolation=cv2.INTER_AREA), np.uint8) for f in raw]
    x0, y0, x1, y1 = (float(v) for v in json.loads(meta.read_text())["box"])
    return frames, (round(x0 * sx), round(y0 * sy), round(x1 * sx), round(y1 * sy))


class MuseTalkRenderer(AvatarRenderer):
    """Lip-synced frames of a persona's base video, inferred in batches ahead of time."""

    name = "musetalk"

    def __init__(
        self,
        persona: Persona,
        options: RenderOptions,
        model_dir: Path | None = None,
        base_video: Path | None = None,
        device: str = "cuda",
    ) -> None:
        super().__init__(persona, options)
        self.model_dir, self.base_video, self.device = model_dir, base_video, device
        self._cache: dict[tuple[SpeechKey, int], Image] = {}  # (speech, frame) -> picture
        self._features: dict[SpeechKey, npt.NDArray[np.float32]] = {}

    def load(self) -> None:
        model_dir = check_model(self.model_dir)
        self.frames, self.box = load_base(
            self.base_video, self.persona.id, (self.options.width, self.options.height)
        )
        torch = importlib.import_module("torch")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise BackendError("MuseTalk needs a CUDA GPU and none is available")
        diffusers = importlib.import_module("diffusers")
        transformers = importlib.import_module("transformers")
        dtype = torch.float16 if self.device == "cuda" else torch.float32
        self._torch, self._dtype = torch, dtype
        self.vae = diffusers.AutoencoderKL.from_pretrained(model_dir / "sd-vae").to(
            self.device, dtype
        )
        config = json.loads((model_dir / "musetalkV15/musetalk.json").read_text())
        self.unet = diffusers.UNet2DConditionModel(**config)
        state = torch.load(
            model_dir / "musetalkV15/unet.pth", map_location="cpu", weights_only=True
        )
        self.unet.load_state_dict(state)
        self.unet.to(self.device, dtype).eval()
        whisper = model_dir / "whisper"
        self.extractor = transformers.AutoFeatureExtractor.from_pretrained(whisper)
        self.whisper = transformers.WhisperModel.from_pretrained(whisper).encoder.to(
            self.device, dtype
        )
        self.latents = [self._encode(f) for f in self.frames]
        logger.info("MuseTalk loaded from %s (%d base frames)", model_dir, len(self.frames))

    def _encode(self, frame: Image) -> Any:
        """The UNet's image input for one base frame: masked and reference latents."""
        crop = face_crop(frame, self.box)
        pair = np.stack([masked(crop), crop]).astype(np.float32) / 127.5 - 1
        torch = self._torch
        with torch.no_grad():
            x = torch.from_numpy(pair).permute(0, 3, 1, 2).to(self.device, self._dtype)
            z = self.vae.encode(x).latent_dist.sample() * self.vae.config.scaling_factor
        return torch.cat([z[0:1], z[1:2]], dim=1)

    def _audio_features(self, speech: Speech) -> npt.NDArray[np.float32]:
        key = _key(speech)
        if key not in self._features:
            samples = speech.audio.resampled(ASR_RATE).samples
            inputs = self.extractor(samples, sampling_rate=ASR_RATE, return_tensors="pt")
            with self._torch.no_grad():
                out = self.whisper(
                    inputs.input_features.to(self.device, self._dtype), output_hidden_states=True
                )
            layers = self._torch.stack(out.hidden_states, dim=2)[0]  # time, layers, dim
            self._features = {key: layers.float().cpu().numpy()}  # one utterance at a time
        return self._features[key]

    def render(self, face: FaceInput) -> Image:
        fps = self.options.fps
        base_index = ping_pong(face.t, fps, len(self.frames))
        speech = face.speech
        if speech is None or not speech.at <= face.t < speech.end:
            return self.frames[base_index]
        k = int((face.t - speech.at) * fps)
        if (_key(speech), k) not in self._cache:
            self._infer(speech, k)
        return self._cache[(_key(speech), k)]

    def _infer(self, speech: Speech, first: int) -> None:
        """Frames ``first`` .. ``first + BATCH`` of ``speech`` in one batch."""
        torch, fps = self._torch, self.options.fps
        features = self._audio_features(speech)
        last = min(first + BATCH, int(speech.audio.duration * fps) + 1)
        ks = list(range(first, last))
        bases = [ping_pong(speech.at + k / fps, fps, len(self.frames)) for k in ks]
        audio = np.stack([audio_window(features, k, fps) for k in ks])
        with torch.no_grad():
            latents = torch.cat([self.latents[b] for b in bases])
            cond = torch.from_numpy(audio).to(self.device, self._dtype)
            timestep = torch.zeros(len(ks), device=self.device)
            pred = self.unet(latents, timestep, encoder_hidden_states=cond).sample
            faces = self.vae.decode(pred / self.vae.config.scaling_factor).sample
        faces_np = ((faces.float().clamp(-1, 1) + 1) * 127.5).permute(0, 2, 3, 1).cpu().numpy()
        self._cache = {
            key: v for key, v in self._cache.items() if key[0] == _key(speech) and key[1] >= first
        }
        for k, b, generated in zip(ks, bases, faces_np.astype(np.uint8), strict=True):
            self._cache[(_key(speech), k)] = paste_back(self.frames[b], generated, self.box)
