"""Warnings: likely authoring mistakes the schema accepts. They never block a case, and
``simpatient validate`` fails on them only with --strict."""

from pathlib import Path

import pytest
from content_fixtures import (
    PERSONA_YAML,
    REPO_ROOT,
    RUBRIC_YAML,
    SCENARIO_ID,
    SCENARIO_YAML,
    column_of,
    line_of,
    replace_once,
    summary,
    write_case,
)

from simpatient.cli import main
from simpatient.content import CaseLibrary, Severity, check_paths

UNLOCK = (
    "    unlock:\n"
    "      condition: The learner asks what worries her most.\n"
    "      example_phrases:\n"
    '        - "What worries you most?"\n'
)


@pytest.fixture(autouse=True)
def _library_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SIMPATIENT_LIBRARY", str(REPO_ROOT))
    monkeypatch.delenv("SIMPATIENT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


def check_case(
    root: Path, *, persona: str = PERSONA_YAML, scenario: str = SCENARIO_YAML
) -> CaseLibrary:
    write_case(root, persona=persona, scenario=scenario)
    return check_paths([root])


def assert_warning_only_in_cli(root: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """validate exits 0 and prints the warnings; --strict exits 1. Returns the lines."""
    capsys.readouterr()
    assert main(["validate", str(root)]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines
    assert all(": warning: " in line for line in lines), lines
    assert err.startswith(f"0 error(s), {len(lines)} warning(s) in 3 file(s) checked")
    assert main(["validate", "--strict", str(root)]) == 1
    assert capsys.readouterr().out.splitlines() == lines
    return lines


def test_guarded_fact_without_unlock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = replace_once(SCENARIO_YAML, UNLOCK, "")
    library = check_case(tmp_path, scenario=scenario)
    assert summary(library.problems) == [
        (
            "test-scenario.yaml",
            line_of(scenario, "visibility: guarded"),
            column_of(scenario, "guarded"),
            "facts[1].visibility",
            "warning",
            "guarded fact 'worry' has no unlock condition, so it can never be shared",
        )
    ]
    assert SCENARIO_ID in library.cases  # a warning does not stop the case
    [line] = assert_warning_only_in_cli(tmp_path, capsys)
    path = tmp_path / "scenarios/test-scenario.yaml"
    assert line == (
        f"{path}:{line_of(scenario, 'visibility: guarded')}:17: facts[1].visibility: warning: "
        "guarded fact 'worry' has no unlock condition, so it can never be shared"
    )


def test_guarded_fact_without_example_phrases(tmp_path: Path) -> None:
    scenario = replace_once(
        SCENARIO_YAML, '      example_phrases:\n        - "What worries you most?"\n', ""
    )
    assert summary(check_case(tmp_path, scenario=scenario).problems) == [
        (
            "test-scenario.yaml",
            line_of(scenario, "condition:"),
            7,
            "facts[1].unlock",
            "warning",
            "guarded fact 'worry' has no example phrases; the unlock check needs a few",
        )
    ]


def test_no_guarded_fact(tmp_path: Path) -> None:
    scenario = replace_once(SCENARIO_YAML, UNLOCK, "")
    scenario = replace_once(scenario, "visibility: guarded", "visibility: known")
    assert summary(check_case(tmp_path, scenario=scenario).problems) == [
        (
            "test-scenario.yaml",
            line_of(scenario, "- id: diagnosis"),
            3,
            "facts",
            "warning",
            "no guarded fact: the learner has nothing to earn",
        )
    ]


def test_faith_practice_without_tradition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    persona = replace_once(PERSONA_YAML, "practice: not_religious", "practice: devout")
    library = check_case(tmp_path, persona=persona)
    assert summary(library.problems) == [
        (
            "test-patient.yaml",
            line_of(persona, "practice: devout"),
            column_of(persona, "devout"),
            "beliefs.faith.practice",
            "warning",
            "practice is 'devout' but no faith tradition is named",
        )
    ]
    [line] = assert_warning_only_in_cli(tmp_path, capsys)
    assert line.endswith(
        ": beliefs.faith.practice: warning: practice is 'devout' but no faith tradition is named"
    )


def test_faith_practising_without_tradition(tmp_path: Path) -> None:
    persona = replace_once(PERSONA_YAML, "practice: not_religious", "practice: practising")
    [problem] = check_case(tmp_path, persona=persona).problems
    assert problem.message == "practice is 'practising' but no faith tradition is named"


def test_tradition_with_not_religious(tmp_path: Path) -> None:
    persona = replace_once(PERSONA_YAML, "tradition: null", "tradition: Anglican")
    assert summary(check_case(tmp_path, persona=persona).problems) == [
        (
            "test-patient.yaml",
            line_of(persona, "Anglican"),
            16,
            "beliefs.faith.tradition",
            "warning",
            "tradition 'Anglican' contradicts practice 'not_religious' "
            "(use 'nominal' for a cultural affiliation)",
        )
    ]


def test_nominal_faith_is_fine(tmp_path: Path) -> None:
    persona = replace_once(PERSONA_YAML, "tradition: null", "tradition: Anglican")
    persona = replace_once(persona, "practice: not_religious", "practice: nominal")
    assert check_case(tmp_path, persona=persona).problems == []


def test_preferred_language_not_spoken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    persona = replace_once(PERSONA_YAML, "preferred_language: English", "preferred_language: Twi")
    library = check_case(tmp_path, persona=persona)
    assert summary(library.problems) == [
        (
            "test-patient.yaml",
            line_of(persona, "preferred_language"),
            23,
            "culture.preferred_language",
            "warning",
            "'Twi' is not among the persona's languages",
        )
    ]
    assert_warning_only_in_cli(tmp_path, capsys)


def test_preferred_language_is_matched_without_case(tmp_path: Path) -> None:
    persona = replace_once(
        PERSONA_YAML, "preferred_language: English", "preferred_language: french"
    )
    assert check_case(tmp_path, persona=persona).problems == []


def test_interpreter_for_english(tmp_path: Path) -> None:
    persona = replace_once(
        PERSONA_YAML,
        "preferred_language: English\n",
        "preferred_language: English\n  interpreter_needed: true\n",
    )
    assert summary(check_case(tmp_path, persona=persona).problems) == [
        (
            "test-patient.yaml",
            line_of(persona, "interpreter_needed"),
            23,
            "culture.interpreter_needed",
            "warning",
            "an interpreter is needed but the preferred language is English",
        )
    ]


def test_voice_age_band_does_not_fit_age(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    persona = replace_once(PERSONA_YAML, "age_band: adult", "age_band: elderly")
    library = check_case(tmp_path, persona=persona)
    assert summary(library.problems) == [
        (
            "test-patient.yaml",
            line_of(persona, "age_band"),
            13,
            "voice.age_band",
            "warning",
            "voice age band 'elderly' (80-120) does not fit age 40",
        )
    ]
    assert_warning_only_in_cli(tmp_path, capsys)


@pytest.mark.parametrize(
    ("age", "band", "warns"),
    [
        (30, "adult", False),
        (49, "adult", False),
        (50, "adult", True),
        (29, "adult", True),
        (50, "middle_aged", False),
        (64, "middle_aged", False),
        (65, "older", False),
        (80, "elderly", False),
        (79, "elderly", True),
        (18, "young_adult", False),
    ],
)
def test_age_band_edges(tmp_path: Path, age: int, band: str, warns: bool) -> None:
    persona = replace_once(PERSONA_YAML, "age: 40", f"age: {age}")
    persona = replace_once(persona, "age_band: adult", f"age_band: {band}")
    fields = [p.field for p in check_case(tmp_path, persona=persona).problems]
    assert fields == (["voice.age_band"] if warns else [])


def test_opening_line_of_four_sentences(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = replace_once(
        SCENARIO_YAML,
        'opening_line: "Hello, doctor. I\'ve been waiting to talk to you."',
        'opening_line: "Hello. I am tired. Is it bad news? Please tell me!"',
    )
    library = check_case(tmp_path, scenario=scenario)
    assert summary(library.problems) == [
        (
            "test-scenario.yaml",
            line_of(scenario, "opening_line"),
            15,
            "opening_line",
            "warning",
            "opening line has 4 sentences and 11 words; "
            "a spoken opening is at most 2 short sentences",
        )
    ]
    assert_warning_only_in_cli(tmp_path, capsys)


def test_opening_line_of_two_sentences_is_fine(tmp_path: Path) -> None:
    scenario = replace_once(
        SCENARIO_YAML,
        'opening_line: "Hello, doctor. I\'ve been waiting to talk to you."',
        'opening_line: "Hello. Is it bad news?"',
    )
    assert check_case(tmp_path, scenario=scenario).problems == []


def test_opening_line_too_many_words(tmp_path: Path) -> None:
    words = " ".join(["word"] * 41)
    scenario = replace_once(
        SCENARIO_YAML,
        'opening_line: "Hello, doctor. I\'ve been waiting to talk to you."',
        f"opening_line: {words}",
    )
    [problem] = check_case(tmp_path, scenario=scenario).problems
    assert problem.field == "opening_line"
    assert problem.message.startswith("opening line has 1 sentences and 41 words")


def test_short_brief(tmp_path: Path) -> None:
    scenario = replace_once(
        SCENARIO_YAML,
        "  brief: >-\n    Talk with the patient about what matters most to her now that treatment "
        "is no longer\n    working, and make a recommendation that fits her values.\n",
        "  brief: Talk to her.\n",
    )
    assert summary(check_case(tmp_path, scenario=scenario).problems) == [
        (
            "test-scenario.yaml",
            line_of(scenario, "brief:"),
            10,
            "learner.brief",
            "warning",
            "the brief is very short; tell the learner their task",
        )
    ]


def test_trigger_without_examples(tmp_path: Path) -> None:
    scenario = replace_once(
        SCENARIO_YAML,
        "  understanding: 0.5\nlearner:",
        "  understanding: 0.5\n  triggers:\n    - id: jargon\n      when: The learner uses "
        "jargon.\n      effect:\n        trust: -0.1\nlearner:",
    )
    assert summary(check_case(tmp_path, scenario=scenario).problems) == [
        (
            "test-scenario.yaml",
            line_of(scenario, "- id: jargon"),
            7,
            "emotional.triggers[0].examples",
            "warning",
            "trigger 'jargon' has no example phrasings",
        )
    ]


def test_rubric_for_another_conversation_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = replace_once(
        SCENARIO_YAML, "conversation_type: goals_of_care", "conversation_type: history_taking"
    )
    library = check_case(tmp_path, scenario=scenario)
    assert summary(library.problems) == [
        (
            "test-scenario.yaml",
            line_of(scenario, "- test-rubric"),
            5,
            "rubrics[0]",
            "warning",
            "rubric 'test-rubric' does not apply to 'history_taking' conversations",
        )
    ]
    assert [r.id for r in library.case(SCENARIO_ID).rubrics] == ["test-rubric"]
    assert_warning_only_in_cli(tmp_path, capsys)


def test_rubric_for_several_conversation_types(tmp_path: Path) -> None:
    rubric = replace_once(RUBRIC_YAML, "  - goals_of_care\n", "  - goals_of_care\n  - other\n")
    scenario = replace_once(
        SCENARIO_YAML, "conversation_type: goals_of_care", "conversation_type: other"
    )
    write_case(tmp_path, scenario=scenario, rubric=rubric)
    assert check_paths([tmp_path]).problems == []


def test_id_differs_from_file_name(tmp_path: Path) -> None:
    persona = replace_once(PERSONA_YAML, "id: test-patient", "id: test-patient-2")
    scenario = replace_once(SCENARIO_YAML, "persona: test-patient", "persona: test-patient-2")
    library = check_case(tmp_path, persona=persona, scenario=scenario)
    assert summary(library.problems) == [
        (
            "test-patient.yaml",
            1,
            5,
            "id",
            "warning",
            "id 'test-patient-2' differs from the file name 'test-patient'",
        )
    ]
    assert SCENARIO_ID in library.cases


def test_several_warnings_and_an_error_fail_without_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    persona = replace_once(PERSONA_YAML, "age_band: adult", "age_band: elderly")
    persona = replace_once(persona, "practice: not_religious", "practice: devout")
    scenario = replace_once(SCENARIO_YAML, "time_limit_minutes: 15", "time_limit_minutes: 500")
    library = check_case(tmp_path, persona=persona, scenario=scenario)
    assert [(p.field, p.severity.value) for p in library.problems] == [
        ("beliefs.faith.practice", "warning"),
        ("voice.age_band", "warning"),
        ("time_limit_minutes", "error"),
    ]
    capsys.readouterr()
    assert main(["validate", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("1 error(s), 2 warning(s)")


# --- warnings raised by a scenario's persona overrides ---------------------------------


def with_overrides(overrides: str) -> str:
    return replace_once(SCENARIO_YAML, "facts:\n", f"persona_overrides:\n{overrides}facts:\n")


def test_override_that_breaks_the_voice_band(tmp_path: Path) -> None:
    scenario = with_overrides("  age: 85\n")
    library = check_case(tmp_path, scenario=scenario)
    # The persona file itself is fine; the warning belongs to the scenario that aged her.
    assert summary(library.problems) == [
        (
            "test-scenario.yaml",
            line_of(scenario, "age: 85"),
            3,
            "persona_overrides.voice.age_band",
            "warning",
            "voice age band 'adult' (30-49) does not fit age 85",
        )
    ]
    assert library.problems[0].severity is Severity.warning
    assert library.case(SCENARIO_ID).persona.age == 85
    assert library.personas["test-patient"].age == 40


def test_override_that_fixes_a_warning(tmp_path: Path) -> None:
    persona = replace_once(PERSONA_YAML, "age_band: adult", "age_band: elderly")
    scenario = with_overrides("  voice:\n    age_band: adult\n")
    library = check_case(tmp_path, persona=persona, scenario=scenario)
    assert [(p.path.name, p.field) for p in library.problems] == [
        ("test-patient.yaml", "voice.age_band")
    ]


def test_override_does_not_repeat_the_personas_own_warnings(tmp_path: Path) -> None:
    persona = replace_once(PERSONA_YAML, "preferred_language: English", "preferred_language: Twi")
    scenario = with_overrides("  voice:\n    rate: slow\n")
    library = check_case(tmp_path, persona=persona, scenario=scenario)
    assert [(p.path.name, p.field) for p in library.problems] == [
        ("test-patient.yaml", "culture.preferred_language")
    ]
