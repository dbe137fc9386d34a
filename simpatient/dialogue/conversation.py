"""One patient in one conversation: appraisal, prompt, reply stream, checks, history.

Each learner turn is first appraised (state, unlocked facts, frame breaks), then the reply
streams out sentence by sentence, each checked before it is handed on to be spoken. A reply
whose first sentence fails is generated again once; if that fails too, the patient says a
short in-character line instead. A sentence that fails after others were spoken ends the
reply there: what was said cannot be unsaid.

The history is kept exactly as the model produced it where nothing was repaired, so each
new prompt extends the previous one token for token and the backend's cache is reused.
"""

import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from simpatient.content import Case
from simpatient.dialogue.appraisal import DISCLOSED_THRESHOLD, LEAK_THRESHOLD, Appraisal, Appraiser
from simpatient.dialogue.checks import check_reply
from simpatient.dialogue.llm import ChatMessage, LLMBackend, Sampling
from simpatient.dialogue.prompt import (
    TurnNote,
    learner_message,
    opening_exchange,
    system_prompt,
)
from simpatient.dialogue.spoken import sentences, speaker_tag
from simpatient.dialogue.state import PatientState
from simpatient.settings import LLMSettings

logger = logging.getLogger(__name__)

#: The learner's turn is cut to its last words beyond this, so one ramble cannot fill the
#: model's context.
MAX_LEARNER_WORDS = 150
#: A spoken reply never runs past this many words, whatever the model does.
MAX_REPLY_WORDS = 70
#: The first chunk may end at a comma once it has this many words (earlier first audio).
FIRST_CLAUSE_WORDS = 4
#: About this many characters make a token in English; used to keep the history inside
#: the model's context without asking the backend to count.
CHARS_PER_TOKEN = 3.5
#: A sentence said twice in one reply is a loop (small models fall into them); so is a long
#: one said again within the last RECENT_CHUNKS. Short ones ("I don't understand.") recur
#: naturally across a conversation.
REPEAT_WORDS = 3
REPEAT_WORDS_ACROSS = 6
RECENT_CHUNKS = 12
SILENCE_REPLY = "Sorry, I didn't catch that."
FALLBACK_REPLY = "Sorry, I'm not sure what you mean. Could you put that another way?"


@dataclass
class ReplyTimings:
    """Seconds from the learner's turn being submitted, on the monotonic clock."""

    appraisal_s: float = 0.0
    first_token_s: float | None = None
    first_clause_s: float | None = None
    total_s: float = 0.0
    prompt_tokens: int = 0  # prompt tokens the backend had to evaluate (cache misses)
    tokens: int = 0  # pieces streamed by the backend (about one token each)

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in vars(self).items()}


@dataclass
class ReplyChecks:
    problems: list[str] = field(default_factory=list)  # every failed check, in order
    regenerated: bool = False
    fallback: bool = False
    truncated: bool = False

    def as_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class Reply:
    """A reply being generated: iterate (once) for its speakable chunks, then read
    ``text``, ``timings``, ``checks`` and ``state``."""

    def __init__(
        self,
        conversation: "PatientConversation",
        learner_text: str,
        retry_of: "Reply | None" = None,
    ) -> None:
        self._conversation = conversation
        self.learner_text = learner_text
        self.retry_of = retry_of
        self.chunks: list[str] = []
        self.timings = ReplyTimings()
        self.checks = ReplyChecks()
        self.appraisal: Appraisal | None = None
        self.prompt: list[ChatMessage] = []  # what the model is asked, once appraised

    def appraise(self) -> None:
        """Appraise the learner's turn now (milliseconds; iterating does it otherwise), so
        the caller can save the turn with its appraisal before the model runs."""
        if self.appraisal is None:
            self._conversation._prepare(self)

    def __iter__(self) -> Iterator[str]:
        return self._conversation._respond(self)

    @property
    def text(self) -> str:
        return " ".join(self.chunks)

    @property
    def state(self) -> PatientState:
        return self._conversation.state


class PatientConversation:
    def __init__(
        self, case: Case, backend: LLMBackend, options: LLMSettings, appraiser: Appraiser
    ) -> None:
        self.case = case
        self.backend = backend
        self.appraiser = appraiser
        label = case.scenario.learner.speaker_label
        self.sampling = Sampling(
            max_tokens=options.max_reply_tokens,
            temperature=options.temperature,
            top_p=options.top_p,
            seed=options.seed,
            stop=(f"{label} says", f"\n{label}:", "\n\n"),
        )
        self.state = PatientState.initial(case.scenario)
        self.messages = [ChatMessage("system", system_prompt(case)), *opening_exchange(case)]
        self._tag = speaker_tag(case.persona.called)
        self._spoken: list[str] = []  # normalised chunks said so far, to catch loops
        self.key = uuid.uuid4().hex  # names this conversation's cache in the backend
        # What the history may fill: the context less room for a reply and a learner turn.
        self._budget = (options.context - options.max_reply_tokens - 2 * MAX_LEARNER_WORDS) * 0.9

    @property
    def opening_line(self) -> str:
        return self.case.scenario.opening_line

    def prefill(self) -> int:
        """Evaluate the persona prompt now, before the learner speaks."""
        return self.backend.prefill(self.messages, session=self.key)

    def close(self) -> None:
        """Let the backend drop this conversation's cache."""
        self.backend.release(self.key)

    def reply(self, learner_text: str) -> Reply:
        """Start the patient's reply; state and history are updated as it is iterated."""
        return Reply(self, learner_text)

    def retry(self, failed: Reply) -> Reply:
        """Answer the same learner turn again after the backend failed: the turn is not
        appraised twice."""
        return Reply(self, failed.learner_text, retry_of=failed)

    def interrupted(self, reply: Reply, heard: str) -> None:
        """The learner cut the reply off: the history keeps only the words they heard,
        ending in a dash so the model knows it was cut short; nothing heard, only the
        learner's turn (they went on speaking before the patient began). Call it once the
        reply's iterator is closed (or finished: its audio may still have been playing)."""
        if not reply.prompt:
            return
        said = heard.strip()
        cut = [ChatMessage("assistant", f"{said}—")] if said else []
        self.messages = [*reply.prompt, *cut]

    def _prepare(self, reply: Reply) -> None:
        if reply.retry_of is not None:
            reply.appraisal, reply.prompt = reply.retry_of.appraisal, reply.retry_of.prompt
        elif not reply.learner_text.strip():
            reply.appraisal = self.appraiser.appraise(self.state, "")
        else:
            reply.prompt = self._appraise(reply)

    def _respond(self, reply: Reply) -> Iterator[str]:
        start = time.monotonic()
        reply.appraise()
        if not reply.prompt:  # silence: nothing to answer
            reply.chunks.append(SILENCE_REPLY)
            yield SILENCE_REPLY
            return
        prompt = reply.prompt
        raw: list[str] = []
        for attempt in range(2):
            raw = []
            sampling = self.sampling
            if attempt:
                reply.checks.regenerated = True
                seed = None if sampling.seed is None else sampling.seed + 1
                sampling = replace(sampling, seed=seed)
            yield from self._checked_chunks(prompt, sampling, reply, raw, start)
            if reply.chunks or not reply.checks.problems:
                break
        if not reply.chunks:
            reply.checks.fallback = True
            reply.chunks.append(FALLBACK_REPLY)
            yield FALLBACK_REPLY
        reply.timings.total_s = time.monotonic() - start
        # HTTP servers report usage only at the end of the stream
        reply.timings.prompt_tokens = self.backend.last_prompt_tokens
        repaired = reply.checks.problems or reply.checks.truncated
        said = reply.text if repaired else "".join(raw).strip()
        self.messages = [*prompt, ChatMessage("assistant", said)]
        self._note_disclosures(reply.text)

    def _appraise(self, reply: Reply) -> list[ChatMessage]:
        """Update the state from the learner's turn; return the prompt for the reply."""
        text = " ".join(reply.learner_text.split()[-MAX_LEARNER_WORDS:])
        appraisal = self.appraiser.appraise(self.state, text)
        reply.appraisal = appraisal
        reply.timings.appraisal_s = appraisal.seconds
        self.state = appraisal.state
        self._trim_history()
        statements = {f.id: f.statement for f in self.case.scenario.facts}
        note = TurnNote(
            feeling=self.state.describe(),
            share=tuple(statements[i] for i in appraisal.unlocked_now),
            frame_break=appraisal.frame_break,
            abuse=appraisal.abuse,
        )
        return [*self.messages, learner_message(self.case, text, note)]

    def _trim_history(self) -> None:
        """Forget the oldest exchanges (keeping the persona and the opening) once the
        history nears the context. Rare by design: the cache is rebuilt after it."""
        head = 3  # system prompt and the opening exchange
        while (
            sum(len(m.content) for m in self.messages) / CHARS_PER_TOKEN > self._budget
            and len(self.messages) > head + 2
        ):
            logger.info("history nears the context; forgetting the oldest exchange")
            del self.messages[head : head + 2]

    def _checked_chunks(
        self,
        prompt: list[ChatMessage],
        sampling: Sampling,
        reply: Reply,
        raw: list[str],
        start: float,
    ) -> Iterator[str]:
        def pieces() -> Iterator[str]:
            for piece in self.backend.stream(prompt, sampling, session=self.key):
                if reply.timings.first_token_s is None:
                    reply.timings.first_token_s = time.monotonic() - start
                    reply.timings.prompt_tokens = self.backend.last_prompt_tokens
                reply.timings.tokens += 1
                raw.append(piece)
                yield piece

        locked = self.appraiser.locked(self.state)
        label = self.case.scenario.learner.speaker_label
        spoken_words = 0
        for chunk in sentences(pieces(), self._tag, FIRST_CLAUSE_WORDS):
            problems = list(check_reply(chunk, label, reply.learner_text).problems)
            norm = " ".join(chunk.lower().split())
            words = len(norm.split())
            if (
                words >= REPEAT_WORDS
                and norm in [" ".join(c.lower().split()) for c in reply.chunks]
            ) or (words >= REPEAT_WORDS_ACROSS and norm in self._spoken[-RECENT_CHUNKS:]):
                problems.append("repeats itself")
            leaks = self.appraiser.closest_facts(chunk, locked)
            problems += [f"locked fact '{i}'" for i, s in leaks.items() if s >= LEAK_THRESHOLD]
            spoken_words += len(chunk.split())
            if spoken_words > MAX_REPLY_WORDS:
                reply.checks.truncated = True
                return
            if problems:
                reply.checks.problems.extend(problems)
                reply.checks.truncated = bool(reply.chunks)
                logger.info("reply chunk rejected (%s): %r", ", ".join(problems), chunk)
                return
            if reply.timings.first_clause_s is None:
                reply.timings.first_clause_s = time.monotonic() - start
            reply.chunks.append(chunk)
            self._spoken.append(norm)
            yield chunk

    def _note_disclosures(self, text: str) -> None:
        """Record which shareable facts the patient has now put into words (off the
        critical path: the reply has already been spoken)."""
        shareable = [
            f.id
            for f in self.case.scenario.facts
            if f.id not in self.state.disclosed and f.id not in self.appraiser.locked(self.state)
        ]
        said = [
            fact_id
            for fact_id, score in self.appraiser.closest_facts(text, shareable).items()
            if score >= DISCLOSED_THRESHOLD
        ]
        if said:
            self.state = replace(self.state, disclosed=self.state.disclosed | set(said))
