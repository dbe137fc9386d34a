"""An evaluation: tier-1 item scores, checked evidence, metrics, totals computed in code."""

import logging
from dataclasses import dataclass
from typing import Any

from simpatient.content import Rubric
from simpatient.dialogue.encoders import PhraseMatcher
from simpatient.evaluator import metrics, tier1
from simpatient.evaluator.tier1 import ItemResult
from simpatient.evaluator.tier2 import LLMJudge
from simpatient.evaluator.transcript import Transcript

logger = logging.getLogger(__name__)


@dataclass
class Evaluation:
    transcript: Transcript
    rubrics: list[Rubric]
    items: list[ItemResult]
    metrics: metrics.Metrics

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
            "items": [{**vars(i), "evidence": [vars(e) for e in i.evidence]} for i in self.items],
        }


def evaluate(
    transcript: Transcript,
    rubrics: list[Rubric],
    matcher: PhraseMatcher,
    judge: "LLMJudge | None" = None,
) -> Evaluation:
    """Tier 1 always; with a judge, tier 2 re-scores each item with tier 1 as context."""
    items = tier1.score(transcript, rubrics, matcher)
    if judge is not None:
        by_id = {(r.id, i.id): (r, i) for r in rubrics for i in r.items}
        items = [judge.judge(transcript, *by_id[(t.rubric, t.item)], t) for t in items]
    for item in items:
        check_evidence(transcript, item)
    return Evaluation(transcript, rubrics, items, metrics.compute(transcript))


def check_evidence(transcript: Transcript, item: ItemResult) -> None:
    """A quote that is not in the transcript makes the item a judge error, never a score."""
    missing = [e for e in item.evidence if not transcript.contains(e.turn, e.quote)]
    if missing:
        logger.warning("%s/%s quotes text not in turn %d", item.rubric, item.item, missing[0].turn)
        item.status, item.score = "judge_error", None
        item.rationale = f"evidence not found in the transcript: “{missing[0].quote}”"
