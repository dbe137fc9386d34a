"""Festival 2.5 in a warm process: the HTS voice ``cmu_us_slt_arctic_hts`` (female, US)
and the diphone voices ``kal_diphone`` and ``ked_diphone`` (male, US).

Why a warm process: starting festival and loading the HTS voice costs 0.1-0.2 s; a
sentence in a running process takes about 40 ms. The process reads Scheme on stdin
(``--pipe``; ``stdbuf`` makes its stdout line-buffered so answers arrive at once). For
each sentence it writes the wave to a file and prints each segment's end time, then a
marker line. Phones are the CMU US set. Prosody: HTS takes a speed (``-r``), diphone
voices ``Duration_Stretch``; HTS's half-tone option (``-fm``) is accepted but ignored by
Debian's festival (measured), so pitch is shifted by the base class's resampling.
"""

import logging
import os
import re
import select
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import ClassVar

from simpatient.errors import BackendError
from simpatient.settings import TTSSettings
from simpatient.speech.audio import read_wav
from simpatient.speech.tts.base import Prosody, Synthesis, TTSBackend
from simpatient.speech.tts.phonemes import cmu_viseme, phones_from_ends
from simpatient.speech.visemes import VisemeName

logger = logging.getLogger(__name__)

_END = b"<<simpatient-done>>"
_SEGMENT = re.compile(r'\("([^"]+)" ([0-9.e+-]+)\)')
_TIMEOUT_S = 20.0
HTS_VOICES = frozenset({"cmu_us_slt_arctic_hts"})


def _scheme_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class FestivalBackend(TTSBackend):
    """A festival voice by its name without the ``voice_`` prefix."""

    engine: ClassVar[str] = "festival"
    default_voice: ClassVar[str] = "cmu_us_slt_arctic_hts"
    native_pitch: ClassVar[bool] = False

    def __init__(self, voice: str, options: TTSSettings, models_dir: Path) -> None:
        super().__init__(voice, options, models_dir)
        # One utterance at a time: the process, and the wave file it writes, are shared.
        self._lock = threading.RLock()
        self._tmp: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def load(self) -> None:
        """Start festival and select the voice (fails if either is missing)."""
        festival, stdbuf = shutil.which("festival"), shutil.which("stdbuf")
        if festival is None:
            raise BackendError("festival is not installed; run: apt-get install festival")
        if stdbuf is None:  # without it festival's answers sit in its output buffer
            raise BackendError("festival needs stdbuf; run: apt-get install coreutils")
        self.close()  # a second load starts afresh
        self._tmp = Path(tempfile.mkdtemp(prefix="simpatient-festival-"))
        self._process = subprocess.Popen(
            [stdbuf, "-oL", festival, "--pipe"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,  # errors answer in the same stream as results
        )
        reply = self._ask(f"(voice_{self.voice})")
        if "SIOD ERROR" in reply or "unbound variable" in reply:
            self.close()
            raise BackendError(f"festival has no voice '{self.voice}'")
        logger.info("festival started with %s", self.voice)

    def _synthesize(self, text: str, prosody: Prosody) -> Synthesis:
        with self._lock:
            return self._synthesize_locked(text, prosody)

    def _synthesize_locked(self, text: str, prosody: Prosody) -> Synthesis:
        if self._tmp is None:
            raise BackendError("festival is not loaded; call load() first")
        wav = self._tmp / "out.wav"
        if self.voice in HTS_VOICES:
            setup = (
                f"(set! hts_engine_params (append {self.voice}::hts_engine_params "
                f'\'(("-r" {prosody.rate:.3f}))))'
            )
        else:
            setup = f"(Parameter.set 'Duration_Stretch {1.0 / prosody.rate:.3f})"
        reply = self._ask(
            f"{setup}(set! utt (utt.synth (Utterance Text {_scheme_string(text)})))"
            f'(utt.save.wave utt "{wav}" \'riff)'
            '(format t "%l\\n" (mapcar (lambda (s) (list (item.name s) (item.feat s \'end)))'
            " (utt.relation.items utt 'Segment)))"
        )
        ends = [(name, float(end)) for name, end in _SEGMENT.findall(reply)]
        if not ends:
            raise BackendError(
                f"festival failed on {text!r}: {reply.strip()[:200]}", retryable=True
            )
        try:
            audio = read_wav(wav)
        except (OSError, ValueError, EOFError) as e:
            raise BackendError(f"festival wrote no audio for {text!r}: {e}", retryable=True) from e
        return Synthesis(audio.samples, audio.sample_rate, phones_from_ends(ends))

    def _ask(self, scheme: str) -> str:
        """Send Scheme to the process and read its output up to the marker."""
        with self._lock:
            process = self._process
            if process is None or process.poll() is not None or process.stdin is None:
                self._process = None
                raise BackendError("the festival process is not running", retryable=True)
            assert process.stdout is not None
            try:
                process.stdin.write(f'{scheme}\n(format t "{_END.decode()}\\n")\n'.encode())
                process.stdin.flush()
            except OSError as e:
                raise BackendError(f"festival stopped: {e}", retryable=True) from e
            out = b""
            deadline = time.monotonic() + _TIMEOUT_S
            fd = process.stdout.fileno()
            while _END not in out:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([fd], [], [], left)[0]:
                    self._kill()
                    raise BackendError("festival did not answer in time", retryable=True)
                data = os.read(fd, 65536)
                if not data:
                    self._kill()
                    raise BackendError("festival exited", retryable=True)
                out += data
            return out.split(_END)[0].decode("utf-8", "replace")

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._process = None

    def close(self) -> None:
        """Stop the process and remove its temporary folder."""
        if self._process is not None and self._process.stdin is not None:
            try:
                self._process.stdin.close()
                self._process.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                self._kill()
            self._process = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    @staticmethod
    def to_viseme(phone: str) -> VisemeName:
        return cmu_viseme(phone)
