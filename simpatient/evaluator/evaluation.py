"""An evaluation: tier-1 item scores, checked evidence, metrics, totals computed in code."""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from simpatient.content import CaseLibrary, Rubric
from simpatient.dialogue.encoders import PhraseMatcher
from simpatient.errors import SimPatientError
from simpatient.evaluator import metrics, patient_view, tier1
from simpatient.evaluator.tier1 import ItemResult
from simpatient.evaluator.tier2 import LLMJudge
from simpatient.evaluator.transcript import Transcript

logger = logging.getLogger(__name__)

#: The rubric used when a scenario's own rubrics do not apply, and for transcript files.
GENERAL_RUBRIC = "calgary-history"
#: Fewer learner turns than this is too little conversation to score; a single turn is
#: scored (an abrupt clinician may say everything at once) with a warning.
MIN_LEARNER_TURNS = 1
#: Called with the fraction done and what is being done, for the learner's progress bar.
Progress = Callable[[float, str], None]


def _no_progress(fraction: float, stage: str) -> None:
    logger.debug("%.0f%% %s", fraction * 100, stage)


@dataclass
class Evaluation:
    transcript: Transcript
    rubrics: list[Rubric]
    items: list[ItemResult]
    metrics: metrics.Metrics
    patient: patient_view.PatientView
    warnings: list[str] = field(default_factory=list)  # shown at the top of the report

    def totals(self) -> dict[str, dict[str, int]]:
        """Per rubric: points scored, points possible, items scored, judge errors."""
        out = {}
        for rubric in self.rubrics:
            mine = [i for i in self.items if i.rubric == rubric.id]
            scored = [i for i in mine if i.score is not None]
            out[rubric.id] = {
                "points": sum(i.score or 0 for i in scored),
                "possible": tier1.MAX_SCORE * len(scored),
                "scored": len(scored),
                "judge_errors": sum(i.status == "judge_error" for i in mine),
            }
        return out

    def next_steps(self, count: int = 3) -> list[ItemResult]:
        """The items with the most room to improve, for 'try next time'."""
        open_items = [i for i in self.items if i.score is not None and i.score < tier1.MAX_SCORE]
        return sorted(open_items, key=lambda i: (i.score or 0, i.rubric))[:count]

    def as_dict(self) -> dict[str, Any]:
        return {
            "totals": self.totals(),
            "metrics": self.metrics.as_dict(),
            "patient_view": {
                "mean": self.patient.mean,
                "comment": self.patient.comment,
                "answers": [{**vars(a), "label": a.label} for a in self.patient.answers],
            },
            "warnings": self.warnings,
            "items": [{**vars(i), "evidence": [vars(e) for e in i.evidence]} for i in self.items],
        }


def evaluate(
    transcript: Transcript,
    rubrics: list[Rubric],
    matcher: PhraseMatcher,
    judge: "LLMJudge | None" = None,
    progress: Progress = _no_progress,
    warnings: list[str] | None = None,
) -> Evaluation:
    """Tier 1 always; with a judge, tier 2 re-scores each item with tier 1 as context."""
    warnings = list(warnings or [])
    talk = metrics.compute(transcript)
    view = patient_view.rate(transcript, talk)
    if len(transcript.learner_turns) < MIN_LEARNER_TURNS:
        warnings.append(
            f"The conversation is too short to score: {len(transcript.learner_turns)} "
            f"turn(s) from the clinician; at least {MIN_LEARNER_TURNS} are needed."
        )
        items = [
            tier1.ItemResult(r.id, i.id, i.title, 1, None, "not_assessable", rationale="too short")
            for r in rubrics
            for i in r.items
        ]
        return Evaluation(transcript, rubrics, items, talk, view, warnings)
    if len(transcript.learner_turns) == 1:
        warnings.append("A very short conversation: these scores rest on a single turn.")
    progress(0.05, "scoring with the phrase matcher (tier 1)")
    items = tier1.score(transcript, rubrics, matcher)
    if judge is not None:
        by_id = {(r.id, i.id): (r, i) for r in rubrics for i in r.items}
        judged = []
        for n, t in enumerate(items):
            progress(0.1 + 0.85 * n / len(items), f"LLM judge: item {n + 1} of {len(items)}")
            judged.append(judge.judge(transcript, *by_id[(t.rubric, t.item)], t))
        items = judged
    for item in items:
        check_evidence(transcript, item)
    return Evaluation(transcript, rubrics, items, talk, view, warnings)


def rubrics_for(
    library: CaseLibrary, scenario_id: str | None, asked: list[str]
) -> tuple[list[Rubric], list[str]]:
    """The rubrics to score a conversation with, and warnings for the report: the asked
    ones, else the scenario's, else the general one; a rubric that does not apply to the
    scenario's conversation type is swapped for the general one."""
    if asked:
        missing = [r for r in asked if r not in library.rubrics]
        if missing:
            raise SimPatientError(
                f"no rubric {', '.join(missing)}; known: {', '.join(sorted(library.rubrics))}"
            )
        rubrics = [library.rubrics[r] for r in asked]
    elif scenario_id in library.cases:
        rubrics = list(library.case(scenario_id).rubrics)
    else:
        rubrics = [library.rubrics[GENERAL_RUBRIC]]
    warnings = []
    if scenario_id in library.cases:
        kind = library.case(scenario_id).scenario.conversation_type
        for rubric in [r for r in rubrics if kind not in r.applies_to]:
            warnings.append(
                f"Rubric '{rubric.id}' does not apply to {kind.value} conversations; "
                f"scored with '{GENERAL_RUBRIC}' instead."
            )
            rubrics = [r for r in rubrics if r is not rubric]
            if library.rubrics[GENERAL_RUBRIC] not in rubrics:
                rubrics.append(library.rubrics[GENERAL_RUBRIC])
    return rubrics, warnings


def check_evidence(transcript: Transcript, item: ItemResult) -> None:
    """A quote that is not in the transcript makes the item a judge error, never a score."""
    missing = [e for e in item.evidence if not transcript.contains(e.turn, e.quote)]
    if missing:
        logger.warning("%s/%s quotes text not in turn %d", item.rubric, item.item, missing[0].turn)
        item.status, item.score = "judge_error", None
        item.rationale = f"evidence not found in the transcript: “{missing[0].quote}”"
