"""Shared builders for the case-file validator tests (tests/test_content_*.py).

The minimal persona, scenario and rubric below are valid and lint-clean on their own; tests
derive broken variants from them with :func:`replace_once` and locate the expected problem
with :func:`line_of` / :func:`column_of`, so expected positions follow the text written.
"""

from pathlib import Path

from simpatient.content import CaseLibrary, Problem, Severity, load_library

REPO_ROOT = Path(__file__).resolve().parents[1]

PERSONA_ID = "test-patient"
SCENARIO_ID = "test-scenario"
RUBRIC_ID = "test-rubric"

PERSONA_YAML = """\
id: test-patient
name: Alex Test
age: 40
sex: female
gender_identity: woman
pronouns: she/her
culture:
  background: Grew up in a small town by the sea.
  languages:
    - English
    - French
  preferred_language: English
health_literacy: moderate
occupation: Librarian
social:
  living_situation: Lives alone in a flat.
  family: One brother who lives abroad.
beliefs:
  faith:
    tradition: null
    practice: not_religious
  attitude_to_medicine: Trusts doctors who explain themselves.
  trust_in_doctors: moderate
communication:
  verbosity: moderate
  directness: high
  humour: low
  deflection: low
  question_asking: high
voice:
  gender: female
  age_band: adult
  accent: neutral British
appearance:
  skin_tone: monk_04
  hair:
    colour: brown
    style: short
"""

SCENARIO_YAML = """\
id: test-scenario
title: A test consultation
conversation_type: goals_of_care
stage_of_care: Advanced illness after two lines of treatment.
setting: A quiet clinic room.
persona: test-patient
facts:
  - id: diagnosis
    statement: She knows her illness is advanced.
    visibility: known
  - id: worry
    statement: She is afraid of dying in hospital.
    visibility: guarded
    unlock:
      condition: The learner asks what worries her most.
      example_phrases:
        - "What worries you most?"
understanding:
  believes: The treatment is no longer working.
  expects: To be offered more treatment.
emotional:
  start:
    label: anxious
    intensity: 0.4
  trust: 0.5
  understanding: 0.5
learner:
  role: Registrar
  brief: >-
    Talk with the patient about what matters most to her now that treatment is no longer
    working, and make a recommendation that fits her values.
  objectives:
    - Explore her goals and worries
rubrics:
  - test-rubric
time_limit_minutes: 15
opening_line: "Hello, doctor. I've been waiting to talk to you."
"""

RUBRIC_YAML = """\
id: test-rubric
title: A test rubric
instrument: Test instrument
applies_to:
  - goals_of_care
items:
  - id: listens
    title: Listens
    behaviour: Lets the patient finish before speaking.
"""


# A scenario for the shipped persona and rubrics, with several independent schema errors:
# a typo'd key (so opening_line is also missing), a missing top-level field (setting), a
# missing nested field (understanding.expects), a wrong enum inside a list item and a wrong
# type.
PLANTED = """\
id: x
title: Planted errors
conversation_type: goals_of_care
stage_of_care: Advanced colon cancer.
persona: margaret-oconnell
facts:
  - id: treatment
    statement: She has had two lines of chemotherapy.
    visibility: known
  - id: wishes
    statement: She does not want to die in intensive care.
    visibility: secret
understanding:
  believes: The cancer is winning.
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
  - sicg-goals
time_limit_minutes: "soon"
oppening_line: "Hello again."
"""


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with the single occurrence of ``old`` replaced (fails if not exactly one)."""
    count = text.count(old)
    assert count == 1, f"expected exactly one {old!r} in the fixture, found {count}"
    return text.replace(old, new)


def line_of(text: str, needle: str) -> int:
    """1-based number of the only line of ``text`` that contains ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(hits) == 1, f"expected one line containing {needle!r}, found {hits}"
    return hits[0]


def column_of(text: str, needle: str) -> int:
    """1-based column where ``needle`` starts on its (only) line."""
    line = text.splitlines()[line_of(text, needle) - 1]
    return line.index(needle) + 1


def write(root: Path, folder: str, name: str, text: str | bytes) -> Path:
    """Write a case file ``root/folder/name`` and return its path."""
    path = root / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def write_case(
    root: Path,
    *,
    persona: str | None = PERSONA_YAML,
    scenario: str | None = SCENARIO_YAML,
    rubric: str | None = RUBRIC_YAML,
) -> dict[str, Path]:
    """Write a small library (personas/, scenarios/, rubrics/) under ``root``."""
    paths = {}
    for kind, folder, name, text in (
        ("persona", "personas", PERSONA_ID, persona),
        ("scenario", "scenarios", SCENARIO_ID, scenario),
        ("rubric", "rubrics", RUBRIC_ID, rubric),
    ):
        if text is not None:
            paths[kind] = write(root, folder, f"{name}.yaml", text)
    return paths


def shipped_library() -> CaseLibrary:
    return load_library(REPO_ROOT)


def summary(problems: list[Problem]) -> list[tuple[str, int, int, str, str, str]]:
    """Problems as comparable tuples: (file name, line, column, field, severity, message)."""
    return [(p.path.name, p.line, p.column, p.field, p.severity.value, p.message) for p in problems]


def warnings(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity is Severity.warning]
