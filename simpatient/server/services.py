"""What the web service holds for its lifetime: stores, the case library, the loaded models,
the evaluation worker and the live rehearsals."""

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from simpatient.content import CaseLibrary
from simpatient.evaluator.queue import EvaluationWorker
from simpatient.pipeline.session_factory import Runtime
from simpatient.pipeline.text_rehearsal import TextRehearsal
from simpatient.settings import Settings
from simpatient.store import AccountStore, EvaluationStore, SessionStore
from simpatient.transport import CallPipeline, EchoPipeline

if TYPE_CHECKING:
    from simpatient.server.call import LiveCall

logger = logging.getLogger(__name__)


PipelineFactory = Callable[[TextRehearsal], CallPipeline]


def echo_pipeline(_rehearsal: TextRehearsal) -> CallPipeline:
    """The stand-in until the speech pipeline is plugged in: the learner hears themself."""
    return EchoPipeline()


class Busy(Exception):
    """Every live-session slot of this process is taken."""


@dataclass
class LiveRehearsal:
    rehearsal: TextRehearsal
    learner_id: int
    lock: threading.Lock = field(default_factory=threading.Lock)  # one turn at a time
    call: "LiveCall | None" = None  # voice and video around the conversation


class LiveSessions:
    """The sessions in progress, at most ``limit`` at once: each holds a slice of the
    shared model's time, and past the limit every learner's replies would slow down."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._live: dict[str, LiveRehearsal] = {}
        self._lock = threading.Lock()
        self._reserved = 0

    def reserve(self) -> None:
        with self._lock:
            if len(self._live) + self._reserved >= self.limit:
                raise Busy
            self._reserved += 1

    def add(self, session_id: str, live: LiveRehearsal) -> None:
        with self._lock:
            self._reserved -= 1
            self._live[session_id] = live

    def release_reservation(self) -> None:
        with self._lock:
            self._reserved -= 1

    def get(self, session_id: str) -> LiveRehearsal | None:
        return self._live.get(session_id)

    def pop(self, session_id: str) -> LiveRehearsal | None:
        with self._lock:
            return self._live.pop(session_id, None)

    def all(self) -> list[str]:
        return list(self._live)


@dataclass
class Services:
    settings: Settings
    library: CaseLibrary
    sessions: SessionStore
    accounts: AccountStore
    evaluations: EvaluationStore
    worker: EvaluationWorker
    runtime: Runtime
    live: LiveSessions
    #: Makes the pipeline that talks through a call (speech in, the patient's voice and
    #: face out) around the session's conversation.
    call_pipeline: PipelineFactory = echo_pipeline

    def close(self) -> None:
        """End live sessions (their turns are already saved) and queue their evaluations."""
        for session_id in self.live.all():
            live = self.live.pop(session_id)
            if live is not None:
                live.rehearsal.end("server shut down")
                self.worker.submit(session_id)
        self.worker.stop()


def secret_key(settings: Settings) -> str:
    """The cookie-signing key: from the settings, else one kept in the data folder (made
    on first start, readable by the owner only) so sign-ins survive a restart."""
    if settings.server.secret_key is not None:
        return settings.server.secret_key.get_secret_value()
    path: Path = settings.data_dir / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
        logger.info("made a new cookie-signing key in %s", path)
    return path.read_text().strip()
