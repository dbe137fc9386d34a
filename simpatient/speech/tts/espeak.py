"""espeak-ng through its C library: the instant fallback (about 1000x real time).

Why the library (ctypes) and not the ``espeak-ng`` command: only the library reports
*when* each phoneme starts (phoneme events carry their sample position); the command's
``-x``/``--ipa`` print phonemes without timings, and ``--pho`` works only with mbrola
voices. The library also starts in milliseconds inside this process, with no process per
sentence. It keeps global state, so calls are serialised with a lock.

Voices are espeak-ng names, with a variant for other speakers: ``en-us``, ``en-us+f5``
(female), ``en-gb-scotland``. Phonemes are IPA (the ``PHONEME_IPA`` option), mapped
like piper's.
"""

import ctypes
import ctypes.util
import logging
import threading
from typing import Any, ClassVar

import numpy as np

from simpatient.errors import BackendError
from simpatient.speech.tts.base import Prosody, Synthesis, TTSBackend
from simpatient.speech.tts.phonemes import Phone, ipa_viseme
from simpatient.speech.visemes import VisemeName

logger = logging.getLogger(__name__)

_SYNCHRONOUS = 2  # AUDIO_OUTPUT_SYNCHRONOUS: espeak_Synth returns when done
_PHONEME_EVENTS, _PHONEME_IPA, _DONT_EXIT = 0x0001, 0x0002, 0x8000
_EVENT_END, _EVENT_PHONEME = 0, 7
_RATE, _PITCH = 1, 3
_CHARS_UTF8 = 1
#: espeak-ng's defaults: 175 words per minute, pitch 50 (0-100); about 4 pitch units
#: make a semitone around the default.
DEFAULT_WPM, DEFAULT_PITCH, PITCH_PER_SEMITONE = 175, 50, 4.0


class _EventId(ctypes.Union):
    _fields_ = (
        ("number", ctypes.c_int),
        ("name", ctypes.c_char_p),
        ("string", ctypes.c_char * 8),
    )


class _Event(ctypes.Structure):
    """``espeak_EVENT`` from speak_lib.h."""

    _fields_ = (
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    )


_CALLBACK = ctypes.CFUNCTYPE(
    ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event)
)
#: The library is one per process: loaded once, used under this lock.
_LOCK = threading.Lock()
_LIB: Any = None
_RATE_HZ = 0


class EspeakBackend(TTSBackend):
    """An espeak-ng voice (see the module docstring for names)."""

    engine: ClassVar[str] = "espeak"
    default_voice: ClassVar[str] = "en-us"

    def load(self) -> None:
        """Load libespeak-ng and check that the voice exists."""
        global _LIB, _RATE_HZ
        with _LOCK:
            if _LIB is None:
                path = ctypes.util.find_library("espeak-ng") or "libespeak-ng.so.1"
                try:
                    lib = ctypes.CDLL(path)
                except OSError as e:
                    raise BackendError(
                        f"espeak-ng is not installed ({e}); run: apt-get install espeak-ng"
                    ) from e
                lib.espeak_Initialize.argtypes = (
                    ctypes.c_int,
                    ctypes.c_int,
                    ctypes.c_char_p,
                    ctypes.c_int,
                )
                rate = lib.espeak_Initialize(
                    _SYNCHRONOUS, 0, None, _PHONEME_EVENTS | _PHONEME_IPA | _DONT_EXIT
                )
                if rate <= 0:
                    raise BackendError("espeak-ng failed to initialise (its data is missing?)")
                lib.espeak_SetVoiceByName.argtypes = (ctypes.c_char_p,)
                lib.espeak_SetParameter.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int)
                lib.espeak_SetSynthCallback.argtypes = (_CALLBACK,)
                lib.espeak_Synth.argtypes = (
                    ctypes.c_char_p,  # text
                    ctypes.c_size_t,  # its size in bytes
                    ctypes.c_uint,  # position
                    ctypes.c_int,  # position type
                    ctypes.c_uint,  # end position
                    ctypes.c_uint,  # flags
                    ctypes.POINTER(ctypes.c_uint),  # unique identifier (out)
                    ctypes.c_void_p,  # user data
                )
                _LIB, _RATE_HZ = lib, rate
            if _LIB.espeak_SetVoiceByName(self.voice.encode()) != 0:
                raise BackendError(f"espeak-ng has no voice '{self.voice}'")

    def _synthesize(self, text: str, prosody: Prosody) -> Synthesis:
        if _LIB is None:
            raise BackendError("espeak-ng is not loaded; call load() first")
        chunks: list[np.ndarray[Any, Any]] = []
        starts: list[tuple[str, int]] = []

        def collect(wav: Any, count: int, events: Any) -> int:
            if count > 0:
                chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
            i = 0
            while events[i].type != _EVENT_END:
                if events[i].type == _EVENT_PHONEME:
                    starts.append(
                        (events[i].id.string.decode("utf-8", "replace"), events[i].sample)
                    )
                i += 1
            return 0

        callback = _CALLBACK(collect)  # kept referenced until synthesis returns
        data = text.encode("utf-8") + b"\0"
        pitch = round(DEFAULT_PITCH + PITCH_PER_SEMITONE * prosody.pitch)
        with _LOCK:
            _LIB.espeak_SetSynthCallback(callback)
            _LIB.espeak_SetVoiceByName(self.voice.encode())
            _LIB.espeak_SetParameter(_RATE, round(DEFAULT_WPM * prosody.rate), 0)
            _LIB.espeak_SetParameter(_PITCH, max(0, min(100, pitch)), 0)
            status = _LIB.espeak_Synth(data, len(data), 0, 1, 0, _CHARS_UTF8, None, None)
        if status != 0:
            raise BackendError(f"espeak-ng failed on {text!r} (status {status})", retryable=True)
        pcm = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
        samples = pcm.astype(np.float32) / 32768.0
        bounds = [start for _, start in starts[1:]] + [len(pcm)]
        phones = [
            Phone(name, start / _RATE_HZ, end / _RATE_HZ)
            for (name, start), end in zip(starts, bounds, strict=True)
        ]
        if phones and phones[0].start > 0:
            phones.insert(0, Phone("_", 0.0, phones[0].start))
        return Synthesis(samples, _RATE_HZ, phones)

    @staticmethod
    def to_viseme(phone: str) -> VisemeName:
        return ipa_viseme(phone)
