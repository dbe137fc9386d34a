"""A text rehearsal: the learner types, the patient answers in text, every turn is saved.

This is the session loop without voice or video; the call pipeline adds speech and the
avatar around the same conversation and store.
"""

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from simpatient.dialogue.conversation import PatientConversation, Reply
from simpatient.errors import BackendError
from simpatient.store import SessionStore, now

logger = logging.getLogger(__name__)

#: What the patient says when the model fails mid-turn, so the learner is not left hanging.
HOLDING_LINE = "Sorry, I lost my train of thought. Could you say that again?"


class TextRehearsal:
    def __init__(
        self,
        conversation: PatientConversation,
        store: SessionStore,
        meta: dict[str, Any],
        learner_id: int | None = None,
        mode: str = "text",
    ) -> None:
        self.conversation = conversation
        self.mode = mode  # "text", or "call" when voice and video are around it
        self.store = store
        self.meta = meta
        self.learner_id = learner_id
        self.session_id: str | None = None
        self.last_reply: Reply | None = None
        self.last_failed = False
        self.last_errors: list[str] = []

    def start(self) -> str:
        """Open the session, save the patient's opening line and return it."""
        case = self.conversation.case
        self.session_id = self.store.start_session(
            case.scenario.id, case.persona.id, self.mode, dict(self.meta), self.learner_id
        )
        at = now()
        self.store.add_turn(
            self.session_id,
            "patient",
            self.conversation.opening_line,
            at,
            at,
            state={"state": self.conversation.state.as_dict()},
        )
        return self.conversation.opening_line

    def turn(self, learner_text: str) -> Iterator[str]:
        """Save the learner's turn, stream the patient's chunks, then save the reply.

        The learner's words are committed before the model runs, so nothing said is
        lost if the process dies while the patient is answering. If the model fails, the
        patient says a holding line and, when the failure may pass, answers again once;
        either way the session goes on.
        """
        started = now()
        reply = self.learner_turn(learner_text)
        spoken: list[str] = []
        for chunk in self.patient_chunks(reply):
            spoken.append(chunk)
            yield chunk
        self.save_patient_turn(" ".join(spoken), started)

    def learner_turn(self, learner_text: str, timings: dict[str, Any] | None = None) -> Reply:
        """Appraise and save the learner's turn (milliseconds); the reply, not yet run."""
        assert self.session_id is not None, "call start() first"
        learner_at = now()
        reply = self.conversation.reply(learner_text)
        self.last_reply, self.last_failed, self.last_errors = reply, False, []
        reply.appraise()
        appraisal = reply.appraisal.as_dict() if reply.appraisal else {}
        self.store.add_turn(
            self.session_id,
            "learner",
            learner_text,
            learner_at,
            learner_at,
            timings,
            state={"appraisal": appraisal},
        )
        return reply

    def patient_chunks(self, reply: Reply) -> Iterator[str]:
        """The patient's reply, chunk by chunk; a holding line and one retry if the model
        fails. Blocking: the call runs it in a worker thread."""
        try:
            yield from reply
            return
        except BackendError as e:
            self.last_errors.append(str(e))
        logger.error("the patient model failed mid-turn: %s", self.last_errors[-1])
        yield HOLDING_LINE
        retry = self.conversation.retry(reply)
        self.last_reply = retry
        try:
            yield from retry
        except BackendError as e:  # failed twice: the learner can go on or try again
            self.last_errors.append(str(e))
            self.last_failed = True

    def save_patient_turn(
        self, said: str, started: datetime, extra: dict[str, Any] | None = None
    ) -> None:
        """Save what the patient said (for a call: what the learner heard of it)."""
        assert self.session_id is not None
        assert self.last_reply is not None
        reply = self.last_reply
        self.store.add_turn(
            self.session_id,
            "patient",
            said,
            started,
            now(),
            {**reply.timings.as_dict(), **(extra or {})},
            state={
                "state": self.conversation.state.as_dict(),
                "checks": reply.checks.as_dict(),
                "errors": list(self.last_errors),
            },
        )

    def end(self, reason: str) -> None:
        self.conversation.close()
        if self.session_id is not None:
            self.store.end_session(self.session_id, "ended", reason)
