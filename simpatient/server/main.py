"""Assemble the service from settings and run it under uvicorn."""

import logging

import uvicorn

from simpatient.content import load_library
from simpatient.dialogue.encoders import PhraseMatcher
from simpatient.evaluator.queue import EvaluationWorker
from simpatient.evaluator.tier2 import LLMJudge
from simpatient.pipeline.session_factory import Runtime, load_runtime
from simpatient.pipeline.text_rehearsal import TextRehearsal
from simpatient.server.app import create_app
from simpatient.server.services import LiveSessions, PipelineFactory, Services, echo_pipeline
from simpatient.settings import Settings
from simpatient.store import AccountStore, EvaluationStore, SessionStore, open_engine
from simpatient.transport import CallPipeline

logger = logging.getLogger(__name__)


def build_services(settings: Settings, runtime: Runtime) -> Services:
    """Everything the app needs, around models that are already loaded."""
    library = load_library(settings.library)
    for problem in library.errors:  # an invalid case is left out; the others are served
        logger.error("%s", problem)
    engine = open_engine(settings.store_url)
    sessions, evaluations = SessionStore(engine), EvaluationStore(engine)
    judge = None
    if settings.judge is not None:
        judge = LLMJudge(settings.judge)
        judge.load()
    worker = EvaluationWorker(sessions, evaluations, library, PhraseMatcher(runtime.encoder), judge)
    return Services(
        settings,
        library,
        sessions,
        AccountStore(engine),
        evaluations,
        worker,
        runtime,
        LiveSessions(settings.server.max_sessions),
        call_pipeline=_voice_calls(runtime) if runtime.asr is not None else echo_pipeline,
    )


def _voice_calls(runtime: Runtime) -> PipelineFactory:
    from simpatient.pipeline.call_pipeline import VoiceCallPipeline

    def factory(rehearsal: TextRehearsal) -> CallPipeline:
        return VoiceCallPipeline(runtime, rehearsal)

    return factory


def serve(settings: Settings) -> None:
    runtime = load_runtime(settings, speech=True)
    services = build_services(settings, runtime)
    if not services.accounts.all():
        logger.warning("no accounts yet: add one with `simpatient users add NAME --role director`")
    app = create_app(services)
    url = f"http://{settings.server.host}:{settings.server.port}/"
    logger.info("serving on %s", url)
    uvicorn.run(app, host=settings.server.host, port=settings.server.port, log_level="info")
