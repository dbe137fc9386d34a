"""Assemble sessions from settings: the models every session shares, loaded once per
process, and for each session its conversation and store."""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from simpatient.content import Case
from simpatient.content.persona import Persona
from simpatient.dialogue.appraisal import Appraiser
from simpatient.dialogue.conversation import PatientConversation
from simpatient.dialogue.encoders import Encoder, LexicalEncoder, MiniLMEncoder
from simpatient.dialogue.llm import LLMBackend, create_backend
from simpatient.errors import SimPatientError
from simpatient.models import locate
from simpatient.pipeline.speaker import SpeechOutput
from simpatient.pipeline.text_rehearsal import TextRehearsal
from simpatient.pipeline.voice_session import SessionEvent, VoiceSession
from simpatient.settings import Settings
from simpatient.speech.asr import ASRBackend, create_asr
from simpatient.speech.hints import hints_from_case
from simpatient.speech.listener import Listener
from simpatient.speech.tts import Speaker, choose_voices, open_voice
from simpatient.speech.vad import SileroVAD
from simpatient.store import SessionStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    """What all sessions of a process share: the loaded models and the settings. Voices
    are loaded on first use, one per persona voice, and kept."""

    settings: Settings
    llm: LLMBackend
    encoder: Encoder
    asr: ASRBackend | None = None  # loaded when the process serves spoken sessions
    _voices: dict[str, Speaker] = field(default_factory=dict, repr=False)
    _voices_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def conversation(self, case: Case) -> PatientConversation:
        appraiser = Appraiser(case.scenario, self.encoder)
        return PatientConversation(case, self.llm, self.settings.llm, appraiser)

    def voice(self, persona: Persona) -> Speaker:
        """The persona's voice (with its fallbacks), loaded. Blocking: the first time a
        neural voice loads it takes about a second."""
        names = ",".join(choose_voices(persona.voice, self.settings.tts))
        with self._voices_lock:
            if names not in self._voices:
                voice = open_voice(persona.voice, self.settings.tts, self.settings.models_dir)
                voice.load()
                self._voices[names] = voice
            return self._voices[names]


def load_runtime(settings: Settings, speech: bool = False) -> Runtime:
    """Load the models every session shares; with ``speech``, the recogniser too."""
    start = time.monotonic()
    llm = create_backend(settings.llm, settings.models_dir)
    llm.load()
    encoder: Encoder
    if settings.appraisal_encoder == "minilm":
        minilm = MiniLMEncoder(locate("minilm-l6-v2", settings.models_dir))
        minilm.load()
        encoder = minilm
    else:
        encoder = LexicalEncoder()
    logger.info(
        "loaded %s and the %s encoder in %.1f s",
        settings.llm.model,
        settings.appraisal_encoder,
        time.monotonic() - start,
    )
    asr = None
    if speech:
        asr = create_asr(settings.asr, settings.models_dir)
        asr.load()
    return Runtime(settings, llm, encoder, asr)


def open_text_rehearsal(
    runtime: Runtime,
    case: Case,
    store: SessionStore | None = None,
    learner_id: int | None = None,
    mode: str = "text",
) -> TextRehearsal:
    """A text rehearsal with the persona prompt already evaluated, saved to ``store`` (by
    default the one the settings name)."""
    conversation = runtime.conversation(case)
    start = time.monotonic()
    tokens = conversation.prefill()
    logger.info("prefilled %d prompt tokens in %.1f s", tokens, time.monotonic() - start)
    store = store or SessionStore.open(runtime.settings.store_url)
    meta = {
        "llm": runtime.settings.llm.model_dump(),
        "profile": runtime.settings.profile,
        "appraisal_encoder": runtime.settings.appraisal_encoder,
    }
    return TextRehearsal(conversation, store, meta, learner_id, mode)


def open_voice_session(
    runtime: Runtime,
    case: Case,
    output: SpeechOutput,
    events: Callable[[SessionEvent], None] = lambda e: None,
    store: SessionStore | None = None,
    learner_id: int | None = None,
) -> VoiceSession:
    """A spoken session of ``case`` with a new conversation. Blocking (prefill, voice
    load): call it from a worker thread."""
    rehearsal = open_text_rehearsal(runtime, case, store, learner_id, mode="call")
    return voice_session(runtime, rehearsal, output, events)


def voice_session(
    runtime: Runtime,
    rehearsal: TextRehearsal,
    output: SpeechOutput,
    events: Callable[[SessionEvent], None] = lambda e: None,
) -> VoiceSession:
    """Voice around an open conversation: a listener of its own (Silero keeps per-stream
    state), the shared recogniser and the persona's voice. Blocking (voice load)."""
    if runtime.asr is None:
        raise SimPatientError("this process was started without speech recognition")
    settings = runtime.settings
    case = rehearsal.conversation.case
    vad = SileroVAD(threads=settings.vad.threads)
    vad.load()
    listener = Listener(runtime.asr, vad, settings.vad, settings.asr, hints_from_case(case))
    voice = runtime.voice(case.persona)
    return VoiceSession(rehearsal, listener, voice, output, events, settings.tts.sentence_pause_s)
