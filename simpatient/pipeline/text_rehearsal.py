"""A text rehearsal: the learner types, the patient answers in text, every turn is saved.

This is the session loop without voice or video; the call pipeline adds speech and the
avatar around the same conversation and store.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from simpatient.dialogue.conversation import PatientConversation, ReplyTimings
from simpatient.errors import BackendError
from simpatient.store import SessionStore, now

logger = logging.getLogger(__name__)

#: What the patient says when the model fails mid-turn, so the learner is not left hanging.
HOLDING_LINE = "Sorry, I lost my train of thought. Could you say that again?"


@dataclass(frozen=True, slots=True)
class PatientTurn:
    text: str
    timings: ReplyTimings
    failed: bool = False


class TextRehearsal:
    def __init__(
        self, conversation: PatientConversation, store: SessionStore, meta: dict[str, Any]
    ) -> None:
        self.conversation = conversation
        self.store = store
        self.meta = meta
        self.session_id: str | None = None
        self.last_turn: PatientTurn | None = None

    def start(self) -> str:
        """Open the session, save the patient's opening line and return it."""
        case = self.conversation.case
        self.session_id = self.store.start_session(
            case.scenario.id, case.persona.id, "text", dict(self.meta)
        )
        at = now()
        self.store.add_turn(self.session_id, "patient", self.conversation.opening_line, at, at)
        return self.conversation.opening_line

    def turn(self, learner_text: str) -> Iterator[str]:
        """Save the learner's turn, stream the patient's sentences, then save the reply.

        The learner's words are committed before the model runs, so nothing said is
        lost if the process dies while the patient is answering.
        """
        assert self.session_id is not None, "call start() first"
        at = now()
        self.store.add_turn(self.session_id, "learner", learner_text, at, at)
        started = now()
        reply = self.conversation.reply(learner_text)
        failed = False
        try:
            yield from reply
        except BackendError as e:
            logger.error("the patient model failed mid-turn: %s", e)
            failed = True
            yield HOLDING_LINE
        # Saved as said: what was already spoken, then the holding line.
        text = " ".join([*reply.sentences, HOLDING_LINE]) if failed else reply.text
        timings = {**reply.timings.as_dict(), **({"error": "backend"} if failed else {})}
        self.store.add_turn(self.session_id, "patient", text, started, now(), timings)
        self.last_turn = PatientTurn(text, reply.timings, failed)

    def end(self, reason: str) -> None:
        self.conversation.close()
        if self.session_id is not None:
            self.store.end_session(self.session_id, "ended", reason)
