"""flite 2.2 (Debian package) through its command: slt (female, US), rms (male, US), awb
(male, Scottish). kal16 works too, but its reported phone times disagree with its audio
(they are rescaled onto it), so no persona is given it.

No Python binding is installed, and the command costs about 20 ms per sentence, so one
process per sentence is simpler than binding libflite. ``-psdur`` prints every phone
with its end time (CMU phone set); the wave goes to a temporary file. Prosody: rate
through ``duration_stretch``; pitch by the base class's resampling, because
``int_f0_target_mean`` moves slt and awb but is ignored by rms (measured).
"""

import logging
import re
import subprocess
import tempfile
from pathlib import Path
from typing import ClassVar

from simpatient.errors import BackendError
from simpatient.speech.audio import read_wav
from simpatient.speech.tts.base import Prosody, Synthesis, TTSBackend
from simpatient.speech.tts.phonemes import cmu_viseme, phones_from_ends
from simpatient.speech.visemes import VisemeName

logger = logging.getLogger(__name__)

_PHONE = re.compile(r"([a-z#]+):([0-9.]+)")
_TIMEOUT_S = 20.0


class FliteBackend(TTSBackend):
    """A flite voice by name (``slt``, ``rms``, ``awb``)."""

    engine: ClassVar[str] = "flite"
    default_voice: ClassVar[str] = "slt"
    native_pitch: ClassVar[bool] = False

    def load(self) -> None:
        """Check that the flite command exists and has the voice."""
        try:
            listed = subprocess.run(
                ["flite", "-lv"], capture_output=True, text=True, timeout=_TIMEOUT_S, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError) as e:
            raise BackendError(f"flite is not usable ({e}); run: apt-get install flite") from e
        if self.voice not in listed.split():
            raise BackendError(f"flite has no voice '{self.voice}' ({listed.strip()})")

    def _synthesize(self, text: str, prosody: Prosody) -> Synthesis:
        with tempfile.TemporaryDirectory(prefix="simpatient-flite-") as tmp:
            wav = Path(tmp) / "out.wav"
            command = ["flite", "-voice", self.voice, "-psdur"]
            command += ["--setf", f"duration_stretch={1.0 / prosody.rate:.3f}"]
            command += ["-t", text, "-o", str(wav)]
            try:
                done = subprocess.run(
                    command, capture_output=True, text=True, timeout=_TIMEOUT_S, check=True
                )
                audio = read_wav(wav)
            except (OSError, subprocess.SubprocessError, ValueError, EOFError) as e:
                raise BackendError(f"flite failed on {text!r}: {e}", retryable=True) from e
        ends = [(name, float(end)) for name, end in _PHONE.findall(done.stdout)]
        return Synthesis(audio.samples, audio.sample_rate, phones_from_ends(ends))

    @staticmethod
    def to_viseme(phone: str) -> VisemeName:
        return cmu_viseme(phone)
