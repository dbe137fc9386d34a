"""The patient prompt: what the patient may know, and the framing that keeps it in role."""

import pytest

from simpatient.content import CaseLibrary, Visibility
from simpatient.dialogue.prompt import learner_message, opening_exchange, system_prompt


@pytest.mark.parametrize(
    "scenario_id",
    [
        "maggie-recurrence-bbn",
        "maggie-goals-of-care",
        "hector-hospice-transition",
        "david-medication-error",
        "grace-declines-blood",
        "jamal-history-fatigue",
    ],
)
def test_unknown_and_locked_facts_never_reach_the_prompt(
    library: CaseLibrary, scenario_id: str
) -> None:
    case = library.case(scenario_id)
    start = case.scenario.emotional.start
    prompt = system_prompt(case, start)
    for fact in case.scenario.facts:
        first_words = fact.statement.strip()[:60]
        if fact.visibility is Visibility.known:
            assert first_words in prompt
        else:
            assert first_words not in prompt, f"{fact.id} leaked into the prompt"
    guarded = [f for f in case.scenario.facts if f.visibility is Visibility.guarded]
    assert guarded, "every shipped scenario has something to earn"
    unlocked = system_prompt(case, start, {guarded[0].id})
    assert guarded[0].statement.strip()[:60] in unlocked
    for other in case.scenario.facts:
        if other.visibility is Visibility.unknown:
            assert other.statement.strip()[:60] not in unlocked


def test_learner_turns_are_wrapped_as_reported_speech(library: CaseLibrary) -> None:
    case = library.case("maggie-recurrence-bbn")
    message = learner_message(case, "  How are you today? ")
    assert message.role == "user"
    assert message.content.startswith('Doctor says: "How are you today?"')
    assert "Answer as Maggie" in message.content
    example = opening_exchange(case)
    assert [m.role for m in example] == ["user", "assistant"]
    assert example[1].content == case.scenario.opening_line


def test_prompt_describes_the_persona_and_style(library: CaseLibrary) -> None:
    case = library.case("hector-hospice-transition")
    prompt = system_prompt(case, case.scenario.emotional.start)
    assert case.persona.name in prompt
    assert "Spanish" in prompt  # preferred language shapes how he speaks
    assert "you do not know medical words" in prompt  # low health literacy
    assert ".." not in prompt
