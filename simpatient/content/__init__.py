"""Everything an educator writes: personas, scenarios, rubrics, and their validation."""

from simpatient.content.library import Case, CaseLibrary, check_paths, load_library
from simpatient.content.persona import Persona
from simpatient.content.problems import Problem, Severity
from simpatient.content.rubric import Rubric
from simpatient.content.scenario import Emotion, Scenario, Visibility

__all__ = [
    "Case",
    "CaseLibrary",
    "Emotion",
    "Persona",
    "Problem",
    "Rubric",
    "Scenario",
    "Severity",
    "Visibility",
    "check_paths",
    "load_library",
]
