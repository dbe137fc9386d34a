"""faster-whisper (CTranslate2): the embedded Whisper base int8 on the CPU, or any
faster-whisper model on CUDA, falling back to the CPU where CUDA is missing."""

import logging
from collections.abc import Sequence
from typing import Any

from simpatient.errors import ModelError
from simpatient.speech.asr import ASRBackend, DecodedSegment
from simpatient.speech.audio import Samples

logger = logging.getLogger(__name__)

#: What the CPU computes in when a GPU type was asked for (CTranslate2's int8 is both
#: faster and smaller than float32 on the CPU, with no measurable loss of accuracy here).
CPU_COMPUTE = "int8"


class FasterWhisperBackend(ASRBackend):
    """Whisper through faster-whisper. ``device`` is the device actually used after
    :meth:`load` (``cpu`` after a fallback)."""

    device: str = "cpu"
    compute_type: str = CPU_COMPUTE

    def load(self) -> None:
        import ctranslate2
        from faster_whisper import WhisperModel

        o = self.options
        wanted = o.device
        if wanted == "auto":
            # Never pass "auto" on: faster-whisper would then load float32 on the CPU.
            wanted = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        model: Any = None
        if wanted == "cuda":
            try:
                if ctranslate2.get_cuda_device_count() == 0:
                    raise RuntimeError("no CUDA device is visible")
                model = WhisperModel(
                    str(self.model_path),
                    device="cuda",
                    compute_type=o.compute_type,
                    local_files_only=True,
                )
                self.device, self.compute_type = "cuda", o.compute_type
            except (RuntimeError, ValueError) as e:
                logger.warning("ASR on CUDA is not available (%s): using the CPU", e)
        if model is None:
            compute = CPU_COMPUTE if wanted == "cuda" else o.compute_type
            try:
                model = WhisperModel(
                    str(self.model_path),
                    device="cpu",
                    compute_type=compute,
                    cpu_threads=o.threads,
                    local_files_only=True,
                )
            except (RuntimeError, ValueError, OSError) as e:
                raise ModelError(f"cannot load the ASR model {self.model_path}: {e}") from e
            self.device, self.compute_type = "cpu", compute
        self._model = model
        logger.info(
            "ASR %s loaded on %s (%s)", self.model_path.name, self.device, self.compute_type
        )

    def _decode(
        self, samples: Samples, prompt: str | None, max_new_tokens: int
    ) -> Sequence[DecodedSegment]:
        o = self.options
        segments, _info = self._model.transcribe(
            samples,
            language=o.language,
            beam_size=o.beam_size,
            # One temperature: the fallback ladder re-decodes up to five times (seconds
            # on a CPU) and its high-temperature guesses are where inventions come from;
            # the guards in ASRBackend drop what fails instead.
            temperature=0.0,
            initial_prompt=prompt,
            condition_on_previous_text=False,
            without_timestamps=True,
            no_speech_threshold=o.no_speech_threshold,
            log_prob_threshold=o.logprob_threshold,
            compression_ratio_threshold=o.compression_ratio_threshold,
            max_new_tokens=max_new_tokens,
            vad_filter=False,  # the caller's VAD already gated the audio
        )
        # ``segments`` is lazy: the decoding happens while it is consumed, so consume it
        # here, in the worker thread, never in the caller.
        return [
            DecodedSegment(
                s.text, len(s.tokens), s.avg_logprob, s.no_speech_prob, s.compression_ratio
            )
            for s in segments
        ]
