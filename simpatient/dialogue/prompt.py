"""The patient's prompt, built from the case with a sandboxed jinja2 template.

What the patient must not know never reaches the model: facts marked ``unknown`` are left
out, and ``guarded`` facts enter only once unlocked. The framing that keeps a small model
in role (models.md): the learner's words are wrapped as reported speech
(``Doctor says: "…"``) with a short answer instruction, and the conversation opens with
one example exchange that ends on the case's opening line.
"""

from collections.abc import Collection
from importlib import resources

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from simpatient.content import Case, Visibility
from simpatient.content.persona import Amount, HealthLiteracy
from simpatient.content.scenario import EmotionLevel
from simpatient.dialogue.llm import ChatMessage

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


def intensity_words(level: EmotionLevel) -> str:
    if level.label.value == "neutral":
        return "calm"
    degree = "slightly" if level.intensity < 0.34 else "quite" if level.intensity < 0.67 else "very"
    return f"{degree} {level.label.value}"


def system_prompt(case: Case, emotion: EmotionLevel, unlocked: Collection[str] = ()) -> str:
    persona, scenario = case.persona, case.scenario
    comm = persona.communication
    style = [STYLE[trait][getattr(comm, trait)] for trait in STYLE]
    if comm.style_notes:
        style.append(comm.style_notes)
    shared = [
        f
        for f in scenario.facts
        if f.visibility is Visibility.known
        or (f.visibility is Visibility.guarded and f.id in unlocked)
    ]
    return _SYSTEM.render(
        p=persona,
        s=scenario,
        called=persona.called,
        label=scenario.learner.speaker_label,
        learner_role=scenario.learner.role,
        literacy=LITERACY[persona.health_literacy],
        shared_facts=shared,
        emotion=intensity_words(emotion),
        style=[line for line in style if line],
        budget=reply_budget(case),
    ).strip()


def reply_budget(case: Case) -> str:
    return BUDGET[case.persona.communication.verbosity]


def learner_message(case: Case, text: str) -> ChatMessage:
    """The learner's words as reported speech with the answer instruction."""
    label, called = case.scenario.learner.speaker_label, case.persona.called
    return ChatMessage(
        "user", f'{label} says: "{text.strip()}"\n(Answer as {called}, {reply_budget(case)}.)'
    )


def opening_exchange(case: Case) -> list[ChatMessage]:
    """The example exchange that starts every conversation: the learner arrives and the
    patient says the case's opening line."""
    label = case.scenario.learner.speaker_label
    return [
        ChatMessage("user", f"{label} comes in and sits down."),
        ChatMessage("assistant", case.scenario.opening_line),
    ]
