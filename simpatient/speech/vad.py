"""Voice activity: Silero VAD v6 (the ONNX file shipped inside faster-whisper) through
onnxruntime, streamed window by window with its recurrent state kept between chunks.

Each 512-sample window (32 ms at 16 kHz) gets a speech probability stamped on the
pipeline clock. The model is small (1.2 MB) and costs well under a millisecond per window
on one thread."""

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simpatient.errors import ModelError
from simpatient.speech.audio import ASR_RATE, AudioChunk, Samples, ToRate

logger = logging.getLogger(__name__)

#: Samples per window and of left context the v6 model takes (its input is 64 + 512 wide).
WINDOW = 512
CONTEXT = 64
WINDOW_S = WINDOW / ASR_RATE


@dataclass(frozen=True, slots=True)
class VADFrame:
    """The speech probability of one window, ``start`` to ``end`` on the pipeline clock."""

    start: float
    end: float
    probability: float


def silero_model_path() -> Path:
    """The Silero VAD file inside the installed faster-whisper (found without importing it,
    which would load CTranslate2)."""
    found = importlib.util.find_spec("faster_whisper")
    if found is None or not found.submodule_search_locations:
        raise ModelError("faster-whisper is not installed; run make setup")
    path = Path(next(iter(found.submodule_search_locations))) / "assets" / "silero_vad_v6.onnx"
    if not path.exists():
        raise ModelError(f"{path} is missing: the installed faster-whisper has no Silero VAD v6")
    return path


class SileroVAD:
    """Streaming Silero VAD for one audio stream (one per session: it holds the state).

    Construction records options; :meth:`load` opens the ONNX session. :meth:`process`
    accepts chunks of any size and rate; samples that do not fill a window wait for the
    next chunk."""

    def __init__(self, model_path: Path | None = None, threads: int = 1) -> None:
        self.model_path = model_path
        self.threads = threads
        self._session: object | None = None
        self._to_rate = ToRate(ASR_RATE)
        self.reset()

    def load(self) -> None:
        """Open the model (once); later calls do nothing."""
        if self._session is not None:
            return
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        # One stream's windows are tiny: more threads only add synchronisation cost.
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = self.threads
        opts.log_severity_level = 3
        path = self.model_path or silero_model_path()
        self._session = onnxruntime.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        logger.info("Silero VAD loaded from %s", path)

    def reset(self) -> None:
        """Forget the stream so far (a new stream, or after a long gap)."""
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self._pending_start = 0.0

    def process(self, chunk: AudioChunk) -> list[VADFrame]:
        """The windows completed by ``chunk`` (resampled to 16 kHz first if needed)."""
        chunk = self._to_rate.push(chunk)
        if not len(self._pending):
            self._pending_start = chunk.start
        self._pending = np.concatenate([self._pending, chunk.samples])
        frames = []
        offset = 0
        while len(self._pending) - offset >= WINDOW:
            window = self._pending[offset : offset + WINDOW]
            start = self._pending_start + offset / ASR_RATE
            frames.append(VADFrame(start, start + WINDOW_S, self._run(window)))
            offset += WINDOW
        self._pending = self._pending[offset:]
        self._pending_start += offset / ASR_RATE
        return frames

    def probabilities(self, samples: Samples) -> list[float]:
        """Speech probability of each whole window of 16 kHz ``samples`` (a fresh stream)."""
        self.reset()
        return [f.probability for f in self.process(AudioChunk(samples, ASR_RATE, 0.0))]

    def _run(self, window: Samples) -> float:
        if self._session is None:
            raise RuntimeError("SileroVAD.load() was not called")
        x = np.concatenate([self._context, window])[None, :]
        out, self._h, self._c = self._session.run(  # type: ignore[attr-defined]
            None, {"input": x, "h": self._h, "c": self._c}
        )
        self._context = window[-CONTEXT:]
        return float(np.asarray(out).reshape(-1)[0])
