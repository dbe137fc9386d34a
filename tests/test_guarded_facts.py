"""Guarded facts reach the model only once earned, for every guarded fact of every shipped
scenario: scripted conversations that do not earn it (the benchmark's near misses), then
one that does (the case's own example phrase). Real MiniLM appraisal, scripted model."""

from pathlib import Path

import pytest

from simpatient.content import CaseLibrary, Visibility, load_library
from simpatient.dialogue.appraisal import Appraiser
from simpatient.dialogue.bench import load_turns
from simpatient.dialogue.conversation import PatientConversation
from simpatient.dialogue.encoders import MiniLMEncoder
from simpatient.dialogue.scripted_backend import ScriptedBackend
from simpatient.settings import Settings

CASES = [
    (scenario, fact.id)
    for scenario in load_turns()
    for fact in load_library(Path(__file__).resolve().parents[1]).case(scenario).scenario.facts
    if fact.visibility is Visibility.guarded
]


@pytest.mark.parametrize(("scenario_id", "fact_id"), CASES)
def test_a_guarded_fact_is_unseen_until_earned(
    library: CaseLibrary, minilm: MiniLMEncoder, scenario_id: str, fact_id: str
) -> None:
    case = library.case(scenario_id)
    fact = next(f for f in case.scenario.facts if f.id == fact_id)
    assert fact.unlock is not None
    settings = Settings()
    backend = ScriptedBackend(Path("unused"), settings.llm)
    conversation = PatientConversation(
        case, backend, settings.llm, Appraiser(case.scenario, minilm)
    )
    near_misses = [
        t.text for t in load_turns()[scenario_id] if t.fact == fact_id and t.kind == "near_miss"
    ]
    assert near_misses, "the benchmark has a near miss for every guarded fact"
    for text in ["Hello, I'm the doctor today.", *near_misses]:
        backend.replies = ["Okay."]
        list(conversation.reply(text))
    seen = " ".join(m.content for prompt in backend.prompts for m in prompt)
    assert fact.statement not in seen
    assert fact_id not in conversation.state.unlocked
    backend.replies = ["Well, since you ask."]
    list(conversation.reply(fact.unlock.example_phrases[0]))
    assert fact_id in conversation.state.unlocked
    assert fact.statement in backend.prompts[-1][-1].content
