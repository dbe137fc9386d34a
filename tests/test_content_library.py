"""The shipped case library loads cleanly and resolves into runnable cases."""

from pathlib import Path

import pytest
from content_fixtures import (
    PERSONA_ID,
    REPO_ROOT,
    SCENARIO_ID,
    SCENARIO_YAML,
    replace_once,
    shipped_library,
    write_case,
)

from simpatient.content import CaseLibrary, Persona, check_paths, load_library
from simpatient.errors import ContentError

MAGGIE = "margaret-oconnell"


@pytest.fixture(scope="module")
def library() -> CaseLibrary:
    return shipped_library()


def test_shipped_library_has_no_problems(library: CaseLibrary) -> None:
    assert library.errors == []
    # Not even warnings: the shipped cases are the examples educators copy from.
    assert [str(p) for p in library.problems] == []


def test_shipped_library_size(library: CaseLibrary) -> None:
    assert len(library.scenarios) >= 6
    assert len(library.personas) >= 5
    assert len(library.rubrics) >= 1


def test_every_shipped_file_was_loaded(library: CaseLibrary) -> None:
    for folder, loaded in (
        ("personas", library.personas),
        ("scenarios", library.scenarios),
        ("evaluation/rubrics", library.rubrics),
    ):
        stems = {p.stem for p in (REPO_ROOT / folder).glob("*.yaml")}
        assert stems, f"no files in {folder}"
        assert set(loaded) == stems, folder


def test_every_scenario_resolves_to_a_case(library: CaseLibrary) -> None:
    assert set(library.cases) == set(library.scenarios)
    for scenario_id, scenario in library.scenarios.items():
        case = library.case(scenario_id)
        assert case.scenario is scenario
        assert case.persona.id == scenario.persona
        assert scenario.persona in library.personas
        assert [r.id for r in case.rubrics] == scenario.rubrics
        for rubric in case.rubrics:
            assert library.rubrics[rubric.id] is rubric
            assert scenario.conversation_type in rubric.applies_to, (scenario_id, rubric.id)


def test_every_shipped_scenario_has_an_earnable_fact(library: CaseLibrary) -> None:
    for scenario in library.scenarios.values():
        guarded = [f for f in scenario.facts if f.visibility == "guarded"]
        assert guarded, scenario.id
        assert all(f.unlock is not None and f.unlock.example_phrases for f in guarded)


def test_one_persona_at_two_stages_of_care(library: CaseLibrary) -> None:
    maggie = {sid: s for sid, s in library.scenarios.items() if s.persona == MAGGIE}
    assert set(maggie) >= {"maggie-recurrence-bbn", "maggie-goals-of-care"}
    bbn, goals = maggie["maggie-recurrence-bbn"], maggie["maggie-goals-of-care"]
    assert bbn.stage_of_care != goals.stage_of_care
    assert bbn.conversation_type.value == "breaking_bad_news"
    assert goals.conversation_type.value == "goals_of_care"
    assert library.case(bbn.id).persona.id == library.case(goals.id).persona.id == MAGGIE


def test_scenario_without_overrides_uses_the_persona_as_written(library: CaseLibrary) -> None:
    assert library.scenarios["maggie-recurrence-bbn"].persona_overrides == {}
    assert library.case("maggie-recurrence-bbn").persona == library.personas[MAGGIE]


def test_goals_of_care_persona_has_overrides_applied(library: CaseLibrary) -> None:
    base: Persona = library.personas[MAGGIE]
    later: Persona = library.case("maggie-goals-of-care").persona
    # What the override changes ...
    assert (base.communication.verbosity.value, later.communication.verbosity.value) == (
        "moderate",
        "low",
    )
    assert (base.communication.humour.value, later.communication.humour.value) == (
        "moderate",
        "low",
    )
    assert (base.voice.rate.value, later.voice.rate.value) == ("normal", "slow")
    assert (base.appearance.clothing.value, later.appearance.clothing.value) == ("smart", "casual")
    assert later.appearance.hair.colour == "grey"
    assert base.appearance.hair.colour != later.appearance.hair.colour
    assert later.communication.style_notes is not None
    assert later.communication.style_notes.startswith("Tired and more economical")
    # ... lists are replaced, not appended to ...
    assert later.appearance.age_cues[0] == "thinner face with hollowing at the temples"
    assert len(later.appearance.age_cues) == 4
    # ... and what it does not mention is kept (deep merge, not replacement of sections).
    assert later.communication.directness == base.communication.directness
    assert later.communication.question_asking == base.communication.question_asking
    assert later.voice.accent == base.voice.accent
    assert later.voice.age_band == base.voice.age_band
    assert later.appearance.skin_tone == base.appearance.skin_tone
    assert later.appearance.glasses is base.appearance.glasses is True
    assert later.name == base.name
    assert later.called == "Maggie"
    # The shared persona object itself is untouched.
    assert library.personas[MAGGIE].communication.verbosity.value == "moderate"


def test_unknown_scenario_suggests_the_closest_id(library: CaseLibrary) -> None:
    with pytest.raises(
        ContentError, match="no scenario 'maggie-goal-of-care'; did you mean 'maggie-goals-of-care'"
    ):
        library.case("maggie-goal-of-care")


def test_invalid_scenario_explains_its_errors(tmp_path: Path) -> None:
    text = replace_once(SCENARIO_YAML, "time_limit_minutes: 15", "time_limit_minutes: 0")
    paths = write_case(tmp_path, scenario=text)
    library = check_paths(paths.values())
    assert SCENARIO_ID not in library.cases
    with pytest.raises(ContentError) as raised:
        library.case(SCENARIO_ID)
    message = str(raised.value)
    assert message.startswith(f"scenario '{SCENARIO_ID}' is invalid:\n")
    assert "time_limit_minutes: Input should be greater than or equal to 1" in message


def test_load_library_of_a_small_tree(tmp_path: Path) -> None:
    # load_library looks for rubrics under evaluation/rubrics, as in the project.
    paths = write_case(tmp_path, rubric=None)
    rubric = (REPO_ROOT / "evaluation/rubrics/sicg-goals.yaml").read_text()
    (tmp_path / "evaluation/rubrics").mkdir(parents=True)
    (tmp_path / "evaluation/rubrics/sicg-goals.yaml").write_text(rubric)
    paths["scenario"].write_text(replace_once(SCENARIO_YAML, "- test-rubric", "- sicg-goals"))
    library = load_library(tmp_path)
    assert library.problems == []
    assert set(library.cases) == {SCENARIO_ID}
    assert library.case(SCENARIO_ID).persona.id == PERSONA_ID
    assert [r.id for r in library.case(SCENARIO_ID).rubrics] == ["sicg-goals"]


def test_load_library_of_an_empty_folder(tmp_path: Path) -> None:
    library = load_library(tmp_path)
    assert (library.problems, library.scenarios, library.cases) == ([], {}, {})
    with pytest.raises(ContentError, match=r"no scenario 'anything' \(known: none\)"):
        library.case("anything")
