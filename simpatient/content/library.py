"""Load, check and resolve a case library: personas, scenarios and rubrics on disk.

A file's kind comes from the folder it sits in (``personas/``, ``scenarios/``,
``rubrics/``), so educators never write boilerplate. Every problem in every file is
collected, none stops the run, and only valid objects enter the library.
"""

import difflib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from simpatient.content.lint import lint_persona, lint_scenario
from simpatient.content.persona import Persona
from simpatient.content.problems import Problem, Severity, dotted, problems_from_validation
from simpatient.content.rubric import Rubric
from simpatient.content.scenario import Scenario
from simpatient.content.yamlfile import YamlDocument, YamlFileError, load_yaml
from simpatient.errors import ContentError

KINDS: dict[str, type[BaseModel]] = {
    "personas": Persona,
    "scenarios": Scenario,
    "rubrics": Rubric,
}
#: Where each kind lives under a library root.
LIBRARY_FOLDERS = ("personas", "scenarios", "evaluation/rubrics")
SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Case:
    """A scenario with its persona (overrides applied) and its rubrics: ready to run."""

    scenario: Scenario
    persona: Persona
    rubrics: tuple[Rubric, ...]


@dataclass
class CaseLibrary:
    personas: dict[str, Persona] = field(default_factory=dict)
    scenarios: dict[str, Scenario] = field(default_factory=dict)
    rubrics: dict[str, Rubric] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)  # every file checked
    _docs: dict[tuple[str, str], YamlDocument] = field(default_factory=dict, repr=False)
    # Scenarios that failed the schema: their references are still checked.
    _invalid_scenarios: list[YamlDocument] = field(default_factory=list, repr=False)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.error]

    def case(self, scenario_id: str) -> Case:
        """The resolved case for ``scenario_id``, or a ContentError naming what is wrong."""
        if scenario_id in self.cases:
            return self.cases[scenario_id]
        doc = self._docs.get(("scenarios", scenario_id))
        if doc is not None:
            detail = "\n".join(str(p) for p in self.errors if p.path == doc.path)
            raise ContentError(f"scenario '{scenario_id}' is invalid:\n{detail}")
        hint = difflib.get_close_matches(scenario_id, list(self._scenario_ids()), n=1)
        raise ContentError(
            f"no scenario '{scenario_id}'"
            + (f"; did you mean '{hint[0]}'?" if hint else "")
            + f" (known: {', '.join(sorted(self._scenario_ids())) or 'none'})"
        )

    def path_of(self, kind: str, object_id: str) -> Path:
        """The file a persona, scenario or rubric was loaded from."""
        return self._docs[(kind, object_id)].path

    def _scenario_ids(self) -> Iterator[str]:
        return (key[1] for key in self._docs if key[0] == "scenarios")


def load_library(root: Path) -> CaseLibrary:
    """Load every case file under the library ``root`` and resolve the scenarios."""
    return check_paths([root / folder for folder in LIBRARY_FOLDERS if (root / folder).exists()])


def check_paths(paths: Iterable[Path], fallback: CaseLibrary | None = None) -> CaseLibrary:
    """Validate the files and folders in ``paths``; references missing among them are
    looked up in ``fallback`` (usually the project's own library)."""
    library = CaseLibrary()
    for path in _case_files(paths, library.problems):
        _load_file(path, library)
    _resolve(library, fallback or CaseLibrary())
    library.problems.sort(key=lambda p: (str(p.path), p.line, p.column))
    return library


def _case_files(paths: Iterable[Path], problems: list[Problem]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        elif path.exists():
            yield path
        else:
            problems.append(Problem(path, 0, 0, "", "no such file or folder"))


def _kind_of(path: Path) -> str | None:
    return next((kind for kind in KINDS if kind in path.parent.parts[-1:]), None)


def _load_file(path: Path, library: CaseLibrary) -> None:
    library.files.append(path)
    kind = _kind_of(path)
    if kind is None:
        library.problems.append(
            Problem(
                path,
                0,
                0,
                "",
                "cannot tell what this file is: put personas in "
                "personas/, scenarios in scenarios/ and rubrics in rubrics/",
            )
        )
        return
    try:
        doc = load_yaml(path)
    except YamlFileError as e:
        library.problems.append(Problem(path, e.line, e.column, "", e.reason))
        return
    model = KINDS[kind]
    try:
        obj: Any = model.model_validate(doc.data())
    except ValidationError as e:
        library.problems.extend(problems_from_validation(doc, e, model))
        raw_id = doc.data().get("id")
        if isinstance(raw_id, str):
            library._docs.setdefault((kind, raw_id), doc)
        if kind == "scenarios":
            library._invalid_scenarios.append(doc)
        return
    key = (kind, obj.id)
    if key in library._docs:
        first = library._docs[key].path
        line, col = doc.position(("id",))
        library.problems.append(
            Problem(path, line, col, "id", f"duplicate {kind[:-1]} id '{obj.id}' (also in {first})")
        )
        return
    library._docs[key] = doc
    if obj.id != path.stem:
        line, col = doc.position(("id",))
        library.problems.append(
            Problem(
                path,
                line,
                col,
                "id",
                f"id '{obj.id}' differs from the file name '{path.stem}'",
                Severity.warning,
            )
        )
    getattr(library, kind)[obj.id] = obj
    if isinstance(obj, Persona):
        library.problems.extend(lint_persona(obj, doc))


def _resolve(library: CaseLibrary, fallback: CaseLibrary) -> None:
    personas = {**fallback.personas, **library.personas}
    rubrics = {**fallback.rubrics, **library.rubrics}
    for doc in library._invalid_scenarios:
        library.problems.extend(_raw_references(doc, personas, rubrics))
    for scenario in library.scenarios.values():
        doc = library._docs[("scenarios", scenario.id)]
        problems = list(lint_scenario(scenario, doc))
        persona = _reference(scenario.persona, personas, "persona", doc, ("persona",), problems)
        found = [
            _reference(rid, rubrics, "rubric", doc, ("rubrics", i), problems)
            for i, rid in enumerate(scenario.rubrics)
        ]
        for i, rubric in enumerate(found):
            if rubric is not None and scenario.conversation_type not in rubric.applies_to:
                line, col = doc.position(("rubrics", i))
                problems.append(
                    Problem(
                        doc.path,
                        line,
                        col,
                        f"rubrics[{i}]",
                        f"rubric '{rubric.id}' does not apply to "
                        f"'{scenario.conversation_type.value}' conversations",
                        Severity.warning,
                    )
                )
        merged = _apply_overrides(persona, scenario, doc, problems) if persona else None
        library.problems.extend(problems)
        if (
            merged is not None
            and all(r is not None for r in found)
            and not any(p.severity is Severity.error for p in problems)
        ):
            library.cases[scenario.id] = Case(scenario, merged, tuple(r for r in found if r))


def _raw_references(
    doc: YamlDocument, personas: dict[str, Persona], rubrics: dict[str, Rubric]
) -> list[Problem]:
    """Check the references of a scenario that failed the schema, so one run reports
    every problem, as far as the references are readable."""
    problems: list[Problem] = []
    data = doc.data()
    if isinstance(data.get("persona"), str):
        _reference(data["persona"], personas, "persona", doc, ("persona",), problems)
    raw_rubrics = data.get("rubrics")
    if isinstance(raw_rubrics, list):
        for i, rid in enumerate(raw_rubrics):
            if isinstance(rid, str):
                _reference(rid, rubrics, "rubric", doc, ("rubrics", i), problems)
    return problems


def _reference(
    ref: str,
    known: dict[str, Any],
    what: str,
    doc: YamlDocument,
    loc: tuple[str | int, ...],
    problems: list[Problem],
) -> Any:
    if ref in known:
        return known[ref]
    hint = difflib.get_close_matches(ref, list(known), n=1)
    line, col = doc.position(loc)
    problems.append(
        Problem(
            doc.path,
            line,
            col,
            dotted(loc),
            f"no {what} '{ref}'" + (f"; did you mean '{hint[0]}'?" if hint else ""),
        )
    )
    return None


def _apply_overrides(
    persona: Persona, scenario: Scenario, doc: YamlDocument, problems: list[Problem]
) -> Persona | None:
    if not scenario.persona_overrides:
        return persona
    prefix: tuple[str | int, ...] = ("persona_overrides",)
    data = _deep_merge(persona.model_dump(mode="json"), scenario.persona_overrides)
    try:
        merged = Persona.model_validate(data)
    except ValidationError as e:
        problems.extend(problems_from_validation(doc, e, Persona, prefix))
        return None
    # Report only what the overrides introduce; the persona's own file reports the rest.
    inherited = {(p.field, p.message) for p in lint_persona(persona, doc, prefix)}
    problems.extend(
        p for p in lint_persona(merged, doc, prefix) if (p.field, p.message) not in inherited
    )
    return merged


def _deep_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
