"""A text rehearsal: the learner types, the patient answers in text, every turn is saved.

This is the session loop without voice or video; the call pipeline adds speech and the
avatar around the same conversation and store.
"""

import logging
from collections.abc import Iterator
from typing import Any

from simpatient.dialogue.conversation import PatientConversation, Reply
from simpatient.errors import BackendError
from simpatient.store import SessionStore, now

logger = logging.getLogger(__name__)

#: What the patient says when the model fails mid-turn, so the learner is not left hanging.
HOLDING_LINE = "Sorry, I lost my train of thought. Could you say that again?"


class TextRehearsal:
    def __init__(
        self, conversation: PatientConversation, store: SessionStore, meta: dict[str, Any]
    ) -> None:
        self.conversation = conversation
        self.store = store
        self.meta = meta
        self.session_id: str | None = None
        self.last_reply: Reply | None = None
        self.last_failed = False

    def start(self) -> str:
        """Open the session, save the patient's opening line and return it."""
        case = self.conversation.case
        self.session_id = self.store.start_session(
            case.scenario.id, case.persona.id, "text", dict(self.meta)
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
        assert self.session_id is not None, "call start() first"
        learner_at, started = now(), now()
        reply = self.conversation.reply(learner_text)
        self.last_reply, self.last_failed = reply, False
        spoken: list[str] = []
        errors: list[str] = []
        reply.appraise()  # milliseconds: the turn is saved with it before the model runs
        appraisal = reply.appraisal.as_dict() if reply.appraisal else {}
        self.store.add_turn(
            self.session_id,
            "learner",
            learner_text,
            learner_at,
            learner_at,
            state={"appraisal": appraisal},
        )
        try:
            for chunk in reply:
                spoken.append(chunk)
                yield chunk
        except BackendError as e:
            errors.append(str(e))
        if errors:
            logger.error("the patient model failed mid-turn: %s", errors[-1])
            spoken.append(HOLDING_LINE)
            yield HOLDING_LINE
            reply = self.conversation.retry(reply)
            self.last_reply = reply
            try:
                for chunk in reply:
                    spoken.append(chunk)
                    yield chunk
            except BackendError as e:  # failed twice: the learner can go on or try again
                errors.append(str(e))
                self.last_failed = True
        timings = reply.timings.as_dict()
        self.store.add_turn(
            self.session_id,
            "patient",
            " ".join(spoken),
            started,
            now(),
            timings,
            state={
                "state": self.conversation.state.as_dict(),
                "checks": reply.checks.as_dict(),
                "errors": errors,
            },
        )

    def end(self, reason: str) -> None:
        self.conversation.close()
        if self.session_id is not None:
            self.store.end_session(self.session_id, "ended", reason)
