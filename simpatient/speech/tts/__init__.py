"""Speech synthesis with viseme timelines: engines, voices per persona, streaming.

What the rest of the product calls::

    chain = open_voice(persona.voice, settings.tts, settings.models_dir)
    chain.load()                                   # at session start, in a worker thread
    prosody = Prosody.for_patient(persona.voice, state)
    async for utterance in speak(chain, reply_chunks, prosody):
        ...  # utterance.audio (AudioChunk), utterance.visemes (tuple[Viseme, ...])
"""

from simpatient.speech.tts.base import (
    BACKENDS,
    Prosody,
    Speaker,
    Synthesis,
    TTSBackend,
    Utterance,
    create_backend,
)
from simpatient.speech.tts.normalise import normalise
from simpatient.speech.tts.sentences import Splitter, split
from simpatient.speech.tts.stream import speak
from simpatient.speech.tts.voices import FallbackVoice, choose_voices, open_voice

__all__ = [
    "BACKENDS",
    "FallbackVoice",
    "Prosody",
    "Speaker",
    "Splitter",
    "Synthesis",
    "TTSBackend",
    "Utterance",
    "choose_voices",
    "create_backend",
    "normalise",
    "open_voice",
    "speak",
    "split",
]
