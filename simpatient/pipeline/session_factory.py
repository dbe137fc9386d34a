"""Assemble a session from settings: model, backend, conversation and store."""

import logging
import time

from simpatient.content import Case
from simpatient.dialogue.conversation import PatientConversation
from simpatient.dialogue.llm import LLMBackend, create_backend
from simpatient.models import locate
from simpatient.pipeline.text_rehearsal import TextRehearsal
from simpatient.settings import Settings
from simpatient.store import SessionStore

logger = logging.getLogger(__name__)


def load_llm(settings: Settings) -> LLMBackend:
    """The configured LLM backend, loaded (once per process; sessions share it)."""
    backend = create_backend(locate(settings.llm.model, settings.models_dir), settings.llm)
    start = time.monotonic()
    backend.load()
    logger.info("loaded %s in %.1f s", settings.llm.model, time.monotonic() - start)
    return backend


def open_text_rehearsal(
    settings: Settings, case: Case, backend: LLMBackend | None = None
) -> TextRehearsal:
    """A text rehearsal with the persona prompt already evaluated."""
    conversation = PatientConversation(case, backend or load_llm(settings), settings.llm)
    start = time.monotonic()
    tokens = conversation.prefill()
    logger.info("prefilled %d prompt tokens in %.1f s", tokens, time.monotonic() - start)
    store = SessionStore.open(settings.store_url)
    meta = {"llm": settings.llm.model_dump(), "profile": settings.profile}
    return TextRehearsal(conversation, store, meta)
