"""Coqui TTS VITS models on a GPU: the deployment backend (default ``tts_models/en/vctk/vits``,
109 English speakers with many accents).

It cannot run on the project's CPU machines: Coqui's packages need a torchaudio that
matches torch, and there is none for the pinned CPU torch 2.13. Everything that does not
need the package (the token-to-phone alignment, the speaker choice, the error when it
is missing) is plain code below and tested here.

Visemes come from the model's own durations, as with piper: VITS's ``inference`` returns
``durations`` (frames per input token); tokens are espeak-ng IPA with a blank between
each pair (``add_blank``), and a frame is ``hop_length`` samples. Rate goes through the
model's ``length_scale``; pitch is shifted by the base class (VITS has no pitch input).
Models are loaded from Coqui's cache or a folder, never downloaded here.
"""

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from simpatient.errors import BackendError, ModelError
from simpatient.speech.tts.base import Prosody, Synthesis, TTSBackend
from simpatient.speech.tts.phonemes import Phone, ipa_viseme, phones_from_counts
from simpatient.speech.visemes import VisemeName

logger = logging.getLogger(__name__)

INSTALL_HINT = (
    "the coqui engine needs Coqui TTS with a torchaudio matching torch (a GPU host: "
    "pip install coqui-tts torchaudio); it cannot import next to the CPU torch 2.13 here"
)
_SPECIAL = {"<BLNK>", "<PAD>", "<BOS>", "<EOS>"}


def phones_from_tokens(
    tokens: Sequence[str], frames: Sequence[float], hop_length: int, rate: int
) -> list[Phone]:
    """Phones from VITS tokens and their durations in frames: blanks and padding join
    the phone before them (a blank is the transition out of it)."""
    names: list[str] = []
    counts: list[int] = []
    for token, frame_count in zip(tokens, frames, strict=True):
        samples = round(float(frame_count)) * hop_length
        if token in _SPECIAL and names:
            counts[-1] += samples
        else:
            names.append("_" if token in _SPECIAL else token)
            counts.append(samples)
    return phones_from_counts(names, counts, rate)


def model_folder(model: str, cache: Path) -> Path:
    """Where Coqui keeps a hub model (``tts_models/en/vctk/vits`` ->
    ``<cache>/tts_models--en--vctk--vits``), or ``model`` itself if it is a folder."""
    if Path(model).is_dir():
        return Path(model)
    return cache / model.replace("/", "--")


class CoquiBackend(TTSBackend):
    """A Coqui VITS model; ``voice`` is a speaker name (``p311``) for multi-speaker models."""

    engine: ClassVar[str] = "coqui"
    default_voice: ClassVar[str] = "p311"
    native_pitch: ClassVar[bool] = False

    _model: Any = None
    _speaker: Any = None

    def load(self) -> None:
        """Load the model from Coqui's cache (or a folder) onto ``options.device``."""
        try:
            import torch
            from TTS.api import TTS  # type: ignore[import-not-found]
            from TTS.utils.generic_utils import get_user_data_dir  # type: ignore[import-not-found]
        except ImportError as e:  # also raised for torchaudio's missing ABI match
            raise BackendError(INSTALL_HINT + f" ({e})") from e
        folder = model_folder(self.options.coqui_model, Path(get_user_data_dir("tts")))
        config = folder / "config.json"
        if not config.exists():
            raise ModelError(
                f"Coqui model {self.options.coqui_model} is not in {folder}; fetch it once on "
                f"the host: tts --model_name {self.options.coqui_model} --text hi "
                "--out_path /tmp/hi.wav"
            )
        checkpoint = next(iter(sorted(folder.glob("*.pth"))), None)
        api = TTS(model_path=str(checkpoint), config_path=str(config), progress_bar=False)
        self._device = (
            "cuda" if self.options.device == "cuda" and torch.cuda.is_available() else "cpu"
        )
        api.to(self._device)
        self._model = api.synthesizer.tts_model
        manager = getattr(self._model, "speaker_manager", None)
        if manager is not None and manager.name_to_id:
            if self.voice not in manager.name_to_id:
                known = ", ".join(sorted(manager.name_to_id)[:10])
                raise BackendError(f"Coqui model has no speaker '{self.voice}' (e.g. {known})")
            self._speaker = torch.tensor([manager.name_to_id[self.voice]], device=self._device)
        self._base_length_scale = float(self._model.length_scale)
        torch.set_num_threads(self.options.threads)
        logger.info("Coqui %s loaded on %s", folder.name, self._device)

    def _synthesize(self, text: str, prosody: Prosody) -> Synthesis:
        import torch

        if self._model is None:
            raise BackendError("the Coqui model is not loaded; call load() first")
        model = self._model
        ids = model.tokenizer.text_to_ids(text)
        x = torch.tensor([ids], dtype=torch.long, device=self._device)
        aux = {
            "x_lengths": torch.tensor([len(ids)], device=self._device),
            "speaker_ids": self._speaker,
            "d_vectors": None,
            "language_ids": None,
            "durations": None,
        }
        model.length_scale = self._base_length_scale / prosody.rate
        try:
            with torch.inference_mode():
                out = model.inference(x, aux_input=aux)
        except RuntimeError as e:  # CUDA out of memory and the like
            raise BackendError(f"Coqui failed on {text!r}: {e}", retryable=True) from e
        audio = out["model_outputs"].squeeze().float().cpu().numpy().astype(np.float32)
        frames = out["durations"].squeeze().float().cpu().numpy().tolist()
        tokens = [model.tokenizer.characters.id_to_char(i) for i in ids]
        rate = int(model.config.audio.sample_rate)
        hop = int(model.config.audio.hop_length)
        return Synthesis(audio, rate, phones_from_tokens(tokens, frames, hop, rate))

    @staticmethod
    def to_viseme(phone: str) -> VisemeName:
        return ipa_viseme(phone)
