"""The patient prompt: what the patient may know, and the framing that keeps it in role."""

import pytest

from simpatient.content import CaseLibrary, Visibility
from simpatient.dialogue.prompt import TurnNote, learner_message, opening_exchange, system_prompt

SCENARIOS = [
    "maggie-recurrence-bbn",
    "maggie-goals-of-care",
    "hector-hospice-transition",
    "david-medication-error",
    "grace-declines-blood",
    "jamal-history-fatigue",
]


@pytest.mark.parametrize("scenario_id", SCENARIOS)
def test_only_known_facts_are_in_the_system_prompt(library: CaseLibrary, scenario_id: str) -> None:
    case = library.case(scenario_id)
    prompt = system_prompt(case)
    guarded = 0
    for fact in case.scenario.facts:
        first_words = fact.statement.strip()[:60]
        if fact.visibility is Visibility.known:
            assert first_words in prompt
        else:
            guarded += fact.visibility is Visibility.guarded
            assert first_words not in prompt, f"{fact.id} leaked into the prompt"
    assert guarded, "every shipped scenario has something to earn"


def test_the_turn_note_carries_unlocked_facts_and_reactions(library: CaseLibrary) -> None:
    case = library.case("maggie-recurrence-bbn")
    plain = learner_message(case, "  How are you today? ", TurnNote("quite anxious"))
    assert plain.role == "user"
    assert plain.content.startswith('Doctor says: "How are you today?"\n(Maggie feels quite')
    assert plain.content.endswith("Answer as Maggie, in one to three short sentences.)")
    note = TurnNote(
        "very sad", share=("She has had a pain under her ribs.",), frame_break=True, abuse=True
    )
    full = learner_message(case, "x", note).content
    assert "Maggie now trusts Doctor enough to say: She has had a pain under her ribs." in full
    assert "does not understand what Doctor means" in full
    assert "is hurt by how Doctor spoke" in full


def test_conversation_opens_with_the_example_exchange(library: CaseLibrary) -> None:
    case = library.case("maggie-recurrence-bbn")
    example = opening_exchange(case)
    assert [m.role for m in example] == ["user", "assistant"]
    assert example[1].content == case.scenario.opening_line


def test_prompt_describes_the_persona_and_style(library: CaseLibrary) -> None:
    case = library.case("hector-hospice-transition")
    prompt = system_prompt(case)
    assert case.persona.name in prompt
    assert "Spanish" in prompt  # preferred language shapes how he speaks
    assert "you do not know medical words" in prompt  # low health literacy
    assert ".." not in prompt


def test_case_text_is_data_not_template(library: CaseLibrary) -> None:
    """An educator's text is inserted as it is: template syntax in it is not evaluated."""
    case = library.case("jamal-history-fatigue")
    persona = case.persona.model_copy(update={"occupation": "Driver {{ 7 * 7 }} {% if x %}"})
    prompt = system_prompt(type(case)(case.scenario, persona, case.rubrics))
    assert "Driver {{ 7 * 7 }} {% if x %}." in prompt
    assert "49" not in prompt
