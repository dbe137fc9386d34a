"""Piper (VITS through ONNX Runtime): the embedded default voice, joe (adult male, US).

Visemes come from the model itself: the voice is patched in memory to expose its
duration tensor, so every phoneme comes with the number of samples it lasts (piper's
alignments). Phonemes are espeak-ng IPA. Prosody: ``length_scale`` sets the rate; piper
has no pitch control, so the base class shifts pitch by resampling.
"""

import json
import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from simpatient.errors import BackendError
from simpatient.models import locate
from simpatient.speech.tts.base import Prosody, Synthesis, TTSBackend
from simpatient.speech.tts.phonemes import Phone, ipa_viseme, phones_from_counts
from simpatient.speech.visemes import VisemeName

logger = logging.getLogger(__name__)


class PiperBackend(TTSBackend):
    """A piper voice: ``voice`` is a catalogue name (``piper-en_US-joe-medium``) or the
    path of a voice's ``.onnx`` file (its ``.onnx.json`` beside it)."""

    engine: ClassVar[str] = "piper"
    default_voice: ClassVar[str] = "piper-en_US-joe-medium"
    native_pitch: ClassVar[bool] = False

    _voice: Any = None

    def load(self) -> None:
        """Locate the voice, patch it for alignments, and open an ONNX Runtime session
        with ``options.threads`` threads (piper's own loader would take every core)."""
        import onnx
        import onnxruntime
        from piper import PiperVoice
        from piper.config import PiperConfig
        from piper.patch_voice_with_alignment import add_alignment_output

        model_path = locate(self.voice, self.models_dir)
        config_path = Path(f"{model_path}.json")
        try:
            config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
            model = onnx.load(str(model_path))
            add_alignment_output(model)
        except (OSError, ValueError) as e:
            raise BackendError(f"cannot load the piper voice {model_path}: {e}") from e
        session_options = onnxruntime.SessionOptions()
        session_options.intra_op_num_threads = self.options.threads
        session_options.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        if self.options.device == "cuda":
            providers.insert(0, "CUDAExecutionProvider")
        session = onnxruntime.InferenceSession(
            model.SerializeToString(), sess_options=session_options, providers=providers
        )
        self._voice = PiperVoice(session=session, config=config)
        logger.info("piper voice %s loaded (%s)", self.voice, session.get_providers()[0])

    def _synthesize(self, text: str, prosody: Prosody) -> Synthesis:
        from piper.config import SynthesisConfig

        if self._voice is None:
            raise BackendError("the piper voice is not loaded; call load() first")
        config = SynthesisConfig(length_scale=self._voice.config.length_scale / prosody.rate)
        parts: list[np.ndarray[Any, Any]] = []
        phones: list[Phone] = []
        offset = 0.0
        rate = int(self._voice.config.sample_rate)
        try:
            chunks = list(self._voice.synthesize(text, config, include_alignments=True))
        except Exception as e:  # onnxruntime and espeak raise their own types
            raise BackendError(f"piper failed on {text!r}: {e}", retryable=True) from e
        for chunk in chunks:
            alignments = chunk.phoneme_alignments
            if alignments is None:
                raise BackendError(f"the piper voice {self.voice} gives no phoneme alignments")
            names = [a.phoneme for a in alignments]
            counts = [int(a.num_samples) for a in alignments]
            phones += [
                Phone(p.name, p.start + offset, p.end + offset)
                for p in phones_from_counts(names, counts, rate)
            ]
            parts.append(chunk.audio_float_array)
            offset += len(chunk.audio_float_array) / rate
        samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        return Synthesis(samples.astype(np.float32), rate, phones)

    @staticmethod
    def to_viseme(phone: str) -> VisemeName:
        return ipa_viseme(phone)
