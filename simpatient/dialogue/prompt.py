"""The patient's prompt, built from the case with a sandboxed jinja2 template.

What the patient must not know never reaches the model: facts marked ``unknown`` are left
out, and a ``guarded`` fact enters only in the note of the turn that unlocked it. The
framing that keeps a small model in role (models.md): the learner's words are wrapped as
reported speech (``Doctor says: "…"``) with a short note and answer instruction, and the
conversation opens with one example exchange that ends on the case's opening line.
"""

from dataclasses import dataclass
from importlib import resources

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from simpatient.content import Case, Visibility
from simpatient.content.persona import Amount, HealthLiteracy
from simpatient.dialogue.llm import ChatMessage
from simpatient.dialogue.state import PatientState

_env = ImmutableSandboxedEnvironment(
    trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined, autoescape=False
)


def _sentence(text: str) -> str:
    """Educators may or may not end a field with a full stop; the prompt always does."""
    text = text.strip()
    return text if not text or text[-1] in ".!?…\"'”" else text + "."


_env.filters["sentence"] = _sentence
_SYSTEM = _env.from_string(
    resources.files("simpatient.dialogue").joinpath("templates/patient_system.j2").read_text()
)

LITERACY = {
    HealthLiteracy.low: "you do not know medical words; when one is used, say you do not "
    "understand and ask what it means.",
    HealthLiteracy.moderate: "you know common medical words but not technical ones; ask "
    "when something is unclear.",
    HealthLiteracy.high: "you understand most medical words and like precise answers.",
}
STYLE = {
    "verbosity": {
        Amount.low: "You say little.",
        Amount.moderate: "",
        Amount.high: "You tend to go on a bit.",
    },
    "directness": {
        Amount.low: "You hint rather than say things outright.",
        Amount.moderate: "",
        Amount.high: "You say what you think plainly.",
    },
    "humour": {
        Amount.low: "",
        Amount.moderate: "Now and then you use a little humour.",
        Amount.high: "You use humour, even when things are hard.",
    },
    "deflection": {
        Amount.low: "",
        Amount.moderate: "Sometimes you change the subject when it hurts.",
        Amount.high: "You often dodge painful topics with a joke or a change of subject.",
    },
    "question_asking": {
        Amount.low: "You rarely ask questions.",
        Amount.moderate: "",
        Amount.high: "You ask a lot of questions.",
    },
}
BUDGET = {
    Amount.low: "in one or two short sentences",
    Amount.moderate: "in one to three short sentences",
    Amount.high: "in two to four short sentences",
}


def system_prompt(case: Case) -> str:
    """The persona, the situation and the rules. It never changes during a session, so the
    backend's cache of it stays valid; what changes goes into each turn's note."""
    persona, scenario = case.persona, case.scenario
    comm = persona.communication
    style = [STYLE[trait][getattr(comm, trait)] for trait in STYLE]
    if comm.style_notes:
        style.append(comm.style_notes)
    return _SYSTEM.render(
        p=persona,
        s=scenario,
        called=persona.called,
        label=scenario.learner.speaker_label,
        learner_role=scenario.learner.role,
        literacy=LITERACY[persona.health_literacy],
        shared_facts=[f for f in scenario.facts if f.visibility is Visibility.known],
        emotion=PatientState.initial(scenario).describe(),
        style=[line for line in style if line],
        budget=reply_budget(case),
    ).strip()


def reply_budget(case: Case) -> str:
    return BUDGET[case.persona.communication.verbosity]


@dataclass(frozen=True, slots=True)
class TurnNote:
    """What the appraisal decided about a learner turn, told to the model with that turn."""

    feeling: str  # PatientState.describe()
    share: tuple[str, ...] = ()  # statements of guarded facts unlocked by this turn
    frame_break: bool = False
    abuse: bool = False


def learner_message(case: Case, text: str, note: TurnNote) -> ChatMessage:
    """The learner's words as reported speech, then a short note in brackets: how the
    patient feels now, what they may now share, and the answer instruction."""
    label, called = case.scenario.learner.speaker_label, case.persona.called
    parts = [f"{called} feels {note.feeling}."]
    if note.share:
        parts.append(f"{called} now trusts {label} enough to say: " + " ".join(note.share))
    if note.frame_break:
        parts.append(f"{called} does not understand what {label} means and asks.")
    if note.abuse:
        parts.append(f"{called} is hurt by how {label} spoke and shows it.")
    parts.append(f"Answer as {called}, {reply_budget(case)}.")
    return ChatMessage("user", f'{label} says: "{text.strip()}"\n({" ".join(parts)})')


def opening_exchange(case: Case) -> list[ChatMessage]:
    """The example exchange that starts every conversation: the learner arrives and the
    patient says the case's opening line."""
    label = case.scenario.learner.speaker_label
    return [
        ChatMessage("user", f"{label} comes in and sits down."),
        ChatMessage("assistant", case.scenario.opening_line),
    ]
