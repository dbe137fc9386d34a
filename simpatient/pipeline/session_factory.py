"""Assemble sessions from settings: the models every session shares, loaded once per
process, and for each session its conversation and store."""

import logging
import time
from dataclasses import dataclass

from simpatient.content import Case
from simpatient.dialogue.appraisal import Appraiser
from simpatient.dialogue.conversation import PatientConversation
from simpatient.dialogue.encoders import Encoder, LexicalEncoder, MiniLMEncoder
from simpatient.dialogue.llm import LLMBackend, create_backend
from simpatient.models import locate
from simpatient.pipeline.text_rehearsal import TextRehearsal
from simpatient.settings import Settings
from simpatient.store import SessionStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    """What all sessions of a process share: the loaded models and the settings."""

    settings: Settings
    llm: LLMBackend
    encoder: Encoder

    def conversation(self, case: Case) -> PatientConversation:
        appraiser = Appraiser(case.scenario, self.encoder)
        return PatientConversation(case, self.llm, self.settings.llm, appraiser)


def load_runtime(settings: Settings) -> Runtime:
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
    return Runtime(settings, llm, encoder)


def open_text_rehearsal(runtime: Runtime, case: Case) -> TextRehearsal:
    """A text rehearsal with the persona prompt already evaluated."""
    conversation = runtime.conversation(case)
    start = time.monotonic()
    tokens = conversation.prefill()
    logger.info("prefilled %d prompt tokens in %.1f s", tokens, time.monotonic() - start)
    store = SessionStore.open(runtime.settings.store_url)
    meta = {
        "llm": runtime.settings.llm.model_dump(),
        "profile": runtime.settings.profile,
        "appraisal_encoder": runtime.settings.appraisal_encoder,
    }
    return TextRehearsal(conversation, store, meta)
