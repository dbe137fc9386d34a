"""check_paths: every problem in a case file, pinned to the line and field that caused it."""

from pathlib import Path

import pytest
from content_fixtures import (
    PERSONA_YAML,
    PLANTED,
    RUBRIC_YAML,
    SCENARIO_YAML,
    column_of,
    line_of,
    replace_once,
    shipped_library,
    summary,
    write,
    write_case,
)

from simpatient.content import CaseLibrary, Severity, check_paths
from simpatient.content.yamlfile import MAX_BYTES

# Schema-valid, but every reference is wrong.
BAD_REFERENCES = """\
id: y
title: Bad references
conversation_type: goals_of_care
stage_of_care: Advanced colon cancer.
setting: Clinic.
persona: margaret-oconel
facts:
  - id: wishes
    statement: She does not want to die in intensive care.
    visibility: guarded
    unlock:
      condition: The learner asks what she fears.
      example_phrases: ["What worries you most?"]
understanding:
  believes: The cancer is winning.
  expects: More chemotherapy.
emotional:
  start: {label: sad, intensity: 0.4}
  trust: 0.8
  understanding: 0.6
learner:
  role: Oncology fellow
  brief: >-
    Talk with Maggie about what matters most to her now that her chemotherapy
    has stopped working.
  objectives:
    - Explore her goals
rubrics:
  - sicg-goal
  - nurse-empathy
  - zzzz
time_limit_minutes: 20
opening_line: "Hello again."
"""


@pytest.fixture(scope="module")
def shipped() -> CaseLibrary:
    return shipped_library()


def check(path: Path, fallback: CaseLibrary | None = None) -> CaseLibrary:
    return check_paths([path], fallback)


def test_fixture_case_is_valid_and_lint_clean(tmp_path: Path) -> None:
    paths = write_case(tmp_path)
    library = check_paths([tmp_path])
    assert library.problems == []
    assert set(library.cases) == {"test-scenario"}
    assert set(paths) == {"persona", "scenario", "rubric"}


def test_planted_schema_errors_are_all_reported_with_lines(
    tmp_path: Path, shipped: CaseLibrary
) -> None:
    path = write(tmp_path, "scenarios", "x.yaml", PLANTED)
    library = check(path, shipped)
    t = PLANTED
    expected = [
        ("x.yaml", 1, 1, "setting", "error", "required field is missing"),
        ("x.yaml", 1, 1, "opening_line", "error", "required field is missing"),
        (
            "x.yaml",
            line_of(t, "visibility: secret"),
            column_of(t, "secret"),
            "facts[1].visibility",
            "error",
            "Input should be 'known', 'guarded' or 'unknown'",
        ),
        (
            # A missing nested field points at the mapping it belongs in.
            "x.yaml",
            line_of(t, "believes:"),
            column_of(t, "believes:"),
            "understanding.expects",
            "error",
            "required field is missing",
        ),
        (
            "x.yaml",
            line_of(t, "time_limit_minutes"),
            column_of(t, '"soon"'),
            "time_limit_minutes",
            "error",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            "x.yaml",
            line_of(t, "oppening_line"),
            1,
            "oppening_line",
            "error",
            "unknown key 'oppening_line'; did you mean 'opening_line'?",
        ),
    ]
    assert sorted(summary(library.problems)) == sorted(expected)
    assert [(p.line, p.column) for p in library.problems] == sorted(
        (p.line, p.column) for p in library.problems
    ), "problems are listed in file order"
    assert library.scenarios == {}
    assert library.cases == {}


def test_planted_problem_lines_print_as_path_line_column(
    tmp_path: Path, shipped: CaseLibrary
) -> None:
    path = write(tmp_path, "scenarios", "x.yaml", PLANTED)
    printed = [str(p) for p in check(path, shipped).problems]
    line = line_of(PLANTED, "visibility: secret")
    assert (
        f"{path}:{line}:17: facts[1].visibility: Input should be 'known', 'guarded' or 'unknown'"
        in printed
    )
    assert (
        f"{path}:{line_of(PLANTED, 'oppening_line')}:1: oppening_line: unknown key "
        "'oppening_line'; did you mean 'opening_line'?" in printed
    )


def test_bad_references_are_all_reported_with_suggestions(
    tmp_path: Path, shipped: CaseLibrary
) -> None:
    path = write(tmp_path, "scenarios", "y.yaml", BAD_REFERENCES)
    library = check(path, shipped)
    t = BAD_REFERENCES
    assert summary(library.problems) == [
        (
            "y.yaml",
            line_of(t, "persona:"),
            column_of(t, "margaret-oconel"),
            "persona",
            "error",
            "no persona 'margaret-oconel'; did you mean 'margaret-oconnell'?",
        ),
        (
            "y.yaml",
            line_of(t, "- sicg-goal"),
            column_of(t, "sicg-goal"),
            "rubrics[0]",
            "error",
            "no rubric 'sicg-goal'; did you mean 'sicg-goals'?",
        ),
        ("y.yaml", line_of(t, "- zzzz"), 5, "rubrics[2]", "error", "no rubric 'zzzz'"),
    ]
    assert "y" in library.scenarios  # schema-valid, so loaded ...
    assert library.cases == {}  # ... but not runnable


def test_references_resolve_without_a_fallback_only_among_the_paths(tmp_path: Path) -> None:
    paths = write_case(tmp_path, persona=None)
    library = check_paths(paths.values())
    assert summary(library.problems) == [
        (
            "test-scenario.yaml",
            line_of(SCENARIO_YAML, "persona:"),
            10,
            "persona",
            "error",
            "no persona 'test-patient'",
        )
    ]


def test_schema_and_reference_errors_in_one_run(tmp_path: Path, shipped: CaseLibrary) -> None:
    text = replace_once(PLANTED, "persona: margaret-oconnell", "persona: margaret-oconel")
    text = replace_once(text, "  - sicg-goals", "  - sicg-goal")
    path = write(tmp_path, "scenarios", "x.yaml", text)
    fields = {p.field for p in check(path, shipped).problems}
    assert {"oppening_line", "time_limit_minutes", "facts[1].visibility"} <= fields
    assert {"persona", "rubrics[0]"} <= fields


# --- files that are not valid YAML mappings ----------------------------------------------


def test_bad_indentation_is_one_invalid_yaml_problem(tmp_path: Path) -> None:
    text = "id: x\ntitle: A title\n  setting: indented too far\nfacts: []\n"
    path = write(tmp_path, "scenarios", "x.yaml", text)
    [problem] = check(path).problems
    assert (problem.line, problem.column) == (3, 10)
    assert problem.message == "invalid YAML: mapping values are not allowed here"
    assert (problem.field, problem.severity) == ("", Severity.error)


def test_unclosed_bracket_is_one_invalid_yaml_problem(tmp_path: Path) -> None:
    text = "id: x\nrubrics: [sicg-goals, nurse-empathy\ntitle: A title\n"
    path = write(tmp_path, "scenarios", "x.yaml", text)
    [problem] = check(path).problems
    # Reported where the parser gave up: the line after the unclosed '['.
    assert problem.line == line_of(text, "title:")
    assert problem.column > 0
    assert problem.message.startswith("invalid YAML:")
    assert "expected ',' or ']'" in problem.message


def test_tab_indentation_is_invalid_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, "personas", "x.yaml", "id: x\n\tname: Tab\n")
    [problem] = check(path).problems
    assert (problem.line, problem.column) == (2, 1)
    assert problem.message.startswith("invalid YAML:")
    assert "'\\t'" in problem.message


def test_duplicate_key(tmp_path: Path) -> None:
    text = replace_once(RUBRIC_YAML, "instrument:", "title: Again\ninstrument:")
    path = write(tmp_path, "rubrics", "test-rubric.yaml", text)
    [problem] = check(path).problems
    assert (problem.line, problem.column) == (line_of(text, "title: Again"), 1)
    assert problem.message.startswith("invalid YAML:")
    assert 'duplicate key "title"' in problem.message


def test_binary_file(tmp_path: Path) -> None:
    path = write(tmp_path, "personas", "photo.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert summary(check(path).problems) == [
        ("photo.yaml", 0, 0, "", "error", "this is a binary file, not YAML text")
    ]


def test_oversized_file(tmp_path: Path) -> None:
    text = PERSONA_YAML + "# padding\n" * (MAX_BYTES // 10)
    assert len(text.encode()) > MAX_BYTES
    path = write(tmp_path, "personas", "test-patient.yaml", text)
    [problem] = check(path).problems
    assert (problem.line, problem.column, problem.severity) == (0, 0, Severity.error)
    assert problem.message == (
        f"file is {len(text.encode()) // 1024} KiB; case files are limited to "
        f"{MAX_BYTES // 1024} KiB"
    )


def test_file_at_the_size_limit_is_read(tmp_path: Path) -> None:
    padding = MAX_BYTES - len(PERSONA_YAML.encode())
    text = PERSONA_YAML + "#" * (padding - 1) + "\n"
    assert len(text.encode()) == MAX_BYTES
    path = write(tmp_path, "personas", "test-patient.yaml", text)
    assert check(path).problems == []


def test_not_utf8(tmp_path: Path) -> None:
    raw = PERSONA_YAML.replace("Alex Test", "Zo\xeb Test").encode("latin-1")
    path = write(tmp_path, "personas", "test-patient.yaml", raw)
    [problem] = check(path).problems
    assert problem.line == line_of(PERSONA_YAML, "name: Alex Test")
    assert problem.message == "not UTF-8 text; save the file as UTF-8"


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "personas", "test-patient.yaml", b"\xef\xbb\xbf" + PERSONA_YAML.encode())
    library = check(path)
    assert library.problems == []
    assert "test-patient" in library.personas


@pytest.mark.parametrize("text", ["- id: x\n- id: y\n", "just a sentence\n", "", "# only\n"])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, "scenarios", "x.yaml", text)
    assert summary(check(path).problems) == [
        ("x.yaml", 1, 1, "", "error", "expected a mapping of fields at the top of the file")
    ]


def test_file_outside_the_kind_folders(tmp_path: Path) -> None:
    path = write(tmp_path, "cases", "test-patient.yaml", PERSONA_YAML)
    [problem] = check(path).problems
    assert (problem.line, problem.column, problem.field) == (0, 0, "")
    assert problem.message.startswith("cannot tell what this file is")
    assert "personas/" in problem.message


def test_file_in_a_subfolder_of_a_kind_folder_is_not_guessed(tmp_path: Path) -> None:
    path = write(tmp_path, "personas/drafts", "test-patient.yaml", PERSONA_YAML)
    [problem] = check_paths([tmp_path / "personas"]).problems
    assert problem.path == path
    assert problem.message.startswith("cannot tell what this file is")


def test_missing_path(tmp_path: Path) -> None:
    assert summary(check(tmp_path / "nope.yaml").problems) == [
        ("nope.yaml", 0, 0, "", "error", "no such file or folder")
    ]


def test_folders_are_searched_for_yaml_only(tmp_path: Path) -> None:
    write(tmp_path, "personas", "test-patient.yml", PERSONA_YAML)
    write(tmp_path, "personas", "notes.txt", "not: [valid")
    write(tmp_path, "personas", "README.md", "# Personas\n")
    library = check_paths([tmp_path])
    assert library.problems == []
    assert set(library.personas) == {"test-patient"}


# --- ids ----------------------------------------------------------------------------------


def test_duplicate_ids_across_two_files(tmp_path: Path) -> None:
    first = write(tmp_path, "personas", "alex.yaml", PERSONA_YAML)
    write(tmp_path, "personas", "test-patient.yaml", PERSONA_YAML)
    library = check_paths([tmp_path / "personas"])
    assert summary(library.problems) == [
        ("alex.yaml", 1, 5, "id", "warning", "id 'test-patient' differs from the file name 'alex'"),
        (
            "test-patient.yaml",
            1,
            5,
            "id",
            "error",
            f"duplicate persona id 'test-patient' (also in {first})",
        ),
    ]
    assert list(library.personas) == ["test-patient"]


def test_same_id_in_different_kinds_is_fine(tmp_path: Path) -> None:
    rubric = replace_once(RUBRIC_YAML, "id: test-rubric", "id: test-patient")
    write(tmp_path, "personas", "test-patient.yaml", PERSONA_YAML)
    write(tmp_path, "rubrics", "test-patient.yaml", rubric)
    assert check_paths([tmp_path]).problems == []


def test_invalid_slug_id(tmp_path: Path) -> None:
    text = replace_once(PERSONA_YAML, "id: test-patient", "id: Test Patient")
    path = write(tmp_path, "personas", "test-patient.yaml", text)
    [problem] = check(path).problems
    assert (problem.line, problem.column, problem.field) == (1, 5, "id")
    assert problem.message.startswith("String should match pattern")


# --- rules inside models -------------------------------------------------------------------


def test_unlock_on_a_known_fact(tmp_path: Path) -> None:
    text = replace_once(
        SCENARIO_YAML,
        "    visibility: known\n",
        "    visibility: known\n    unlock:\n      condition: Never.\n",
    )
    paths = write_case(tmp_path, scenario=text)
    assert summary(check_paths(paths.values()).problems) == [
        (
            "test-scenario.yaml",
            line_of(text, "- id: diagnosis"),
            5,
            "facts[0]",
            "error",
            "only a guarded fact has an unlock condition",
        )
    ]


def test_duplicate_fact_ids(tmp_path: Path) -> None:
    text = replace_once(SCENARIO_YAML, "- id: worry", "- id: diagnosis")
    paths = write_case(tmp_path, scenario=text)
    assert summary(check_paths(paths.values()).problems) == [
        ("test-scenario.yaml", 1, 1, "", "error", "duplicate fact id(s): diagnosis")
    ]


def test_duplicate_rubric_items(tmp_path: Path) -> None:
    text = RUBRIC_YAML + "  - id: listens\n    title: Again\n    behaviour: Again.\n"
    path = write(tmp_path, "rubrics", "test-rubric.yaml", text)
    assert summary(check(path).problems) == [
        ("test-rubric.yaml", 1, 1, "", "error", "duplicate item id(s): listens")
    ]


def test_level_out_of_range_and_unknown_emotion(tmp_path: Path) -> None:
    text = replace_once(SCENARIO_YAML, "label: anxious", "label: furious")
    text = replace_once(text, "  trust: 0.5", "  trust: 1.5")
    paths = write_case(tmp_path, scenario=text)
    problems = summary(check_paths(paths.values()).problems)
    assert [p[:4] for p in problems] == [
        ("test-scenario.yaml", line_of(text, "furious"), 12, "emotional.start.label"),
        ("test-scenario.yaml", line_of(text, "trust: 1.5"), 10, "emotional.trust"),
    ]
    assert problems[0][5].startswith("Input should be 'neutral', 'anxious'")
    assert problems[1][5] == "Input should be less than or equal to 1"


def test_unknown_nested_key_suggests_the_field_of_that_model(tmp_path: Path) -> None:
    text = replace_once(PERSONA_YAML, "  accent: neutral British", "  acent: neutral British")
    path = write(tmp_path, "personas", "test-patient.yaml", text)
    assert summary(check(path).problems) == [
        # The missing key is placed at the start of its mapping.
        (
            "test-patient.yaml",
            line_of(text, "  gender: female"),
            3,
            "voice.accent",
            "error",
            "required field is missing",
        ),
        (
            "test-patient.yaml",
            line_of(text, "acent:"),
            3,
            "voice.acent",
            "error",
            "unknown key 'acent'; did you mean 'accent'?",
        ),
    ]


def test_unknown_key_without_a_close_match(tmp_path: Path) -> None:
    text = PERSONA_YAML + "zodiac: libra\n"
    path = write(tmp_path, "personas", "test-patient.yaml", text)
    assert summary(check(path).problems) == [
        (
            "test-patient.yaml",
            line_of(text, "zodiac"),
            1,
            "zodiac",
            "error",
            "unknown key 'zodiac'",
        ),
    ]


# --- persona overrides ---------------------------------------------------------------------


def with_overrides(overrides: str) -> str:
    return replace_once(SCENARIO_YAML, "facts:\n", f"persona_overrides:\n{overrides}facts:\n")


def test_override_with_an_unknown_key(tmp_path: Path) -> None:
    text = with_overrides("  communication:\n    verbositty: low\n  agee: 70\n")
    paths = write_case(tmp_path, scenario=text)
    library = check_paths(paths.values())
    assert summary(library.problems) == [
        (
            "test-scenario.yaml",
            line_of(text, "verbositty"),
            5,
            "persona_overrides.communication.verbositty",
            "error",
            "unknown key 'verbositty'; did you mean 'verbosity'?",
        ),
        (
            "test-scenario.yaml",
            line_of(text, "agee"),
            3,
            "persona_overrides.agee",
            "error",
            "unknown key 'agee'; did you mean 'age'?",
        ),
    ]
    assert library.cases == {}


def test_override_with_a_wrong_value(tmp_path: Path) -> None:
    text = with_overrides("  voice:\n    rate: sluggish\n")
    paths = write_case(tmp_path, scenario=text)
    [problem] = check_paths(paths.values()).problems
    assert (problem.line, problem.column) == (line_of(text, "sluggish"), 11)
    assert problem.field == "persona_overrides.voice.rate"
    assert problem.message == "Input should be 'slow', 'normal' or 'fast'"


def test_override_on_a_shipped_persona(tmp_path: Path, shipped: CaseLibrary) -> None:
    text = replace_once(BAD_REFERENCES, "persona: margaret-oconel", "persona: margaret-oconnell")
    text = replace_once(text, "  - sicg-goal\n", "  - sicg-goals\n")
    text = replace_once(text, "  - zzzz\n", "")
    text = replace_once(
        text, "facts:\n", "persona_overrides:\n  communication:\n    humour: none\nfacts:\n"
    )
    path = write(tmp_path, "scenarios", "y.yaml", text)
    assert summary(check(path, shipped).problems) == [
        (
            "y.yaml",
            line_of(text, "humour: none"),
            13,
            "persona_overrides.communication.humour",
            "error",
            "Input should be 'low', 'moderate' or 'high'",
        )
    ]
    path.write_text(text.replace("humour: none", "humour: high"))
    library = check(path, shipped)
    assert library.problems == []
    assert library.case("y").persona.communication.humour.value == "high"
    assert shipped.personas["margaret-oconnell"].communication.humour.value == "moderate"


# --- known bugs ----------------------------------------------------------------------------


def test_error_inside_a_merged_mapping_is_reported(tmp_path: Path) -> None:
    text = replace_once(
        SCENARIO_YAML,
        "  - id: diagnosis\n    statement: She knows her illness is advanced.\n"
        "    visibility: known\n",
        "  - &base\n    id: diagnosis\n    statement: She knows.\n    visibility: knwon\n"
        "  - <<: *base\n    id: other\n",
    )
    paths = write_case(tmp_path, scenario=text)
    fields = [p.field for p in check_paths(paths.values()).problems]
    assert fields == ["facts[0].visibility", "facts[1].visibility"]


def test_non_string_key_is_reported_on_its_line(tmp_path: Path) -> None:
    text = PERSONA_YAML + "1: one\n"
    path = write(tmp_path, "personas", "test-patient.yaml", text)
    [problem] = check(path).problems
    assert problem.message == "unknown key '1'"
    assert (problem.line, problem.column) == (line_of(text, "1: one"), 1)


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    path = write(tmp_path, "personas", "bomb.yaml", "\n".join(lines) + "\n")
    [problem] = check(path).problems
    assert problem.message == "aliases expand this file to more than 100000 values"
