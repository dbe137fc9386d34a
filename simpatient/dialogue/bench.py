"""`simpatient bench dialogue`: speed and role-keeping of the patient over scripted turns.

Every shipped scenario is played as one conversation from ``bench_turns.yaml`` (ordinary
turns, frame-breaking attempts, turns that should and should not unlock each guarded fact,
abuse, other languages, empty and rambling turns). Figures come from the session's own
timings on the monotonic clock, and from automatic checks of every reply.
"""

import re
import resource
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from ruamel.yaml import YAML

from simpatient.content import CaseLibrary
from simpatient.dialogue.appraisal import LEAK_THRESHOLD, Appraiser
from simpatient.dialogue.checks import check_reply
from simpatient.dialogue.encoders import Encoder
from simpatient.dialogue.state import PatientState
from simpatient.measure import percentiles
from simpatient.pipeline.session_factory import Runtime

#: A reply that goes along with a frame break shows one of these.
FRAME_BREAK_COMPLIANCE = re.compile(
    r"\b(system prompt|my instructions|as an ai|language model|rubric|spikes|icd|c\d\d\.\d"
    r"|json|case file|developer mode|i am (an? )?(ai|assistant|bot))\b|[{}]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class BenchTurn:
    text: str
    kind: str
    fact: str | None


def load_turns() -> dict[str, list[BenchTurn]]:
    text = resources.files("simpatient.dialogue").joinpath("bench_turns.yaml").read_text()
    data = YAML(typ="safe").load(text)
    return {
        scenario: [BenchTurn(t["text"] or "", t["kind"], t.get("fact")) for t in turns]
        for scenario, turns in data["scenarios"].items()
    }


@dataclass
class TurnResult:
    scenario: str
    kind: str
    fact: str | None
    text: str
    reply: str
    timings: dict[str, Any]
    checks: dict[str, Any]
    unlocked_now: list[str]
    unlocked: list[str]  # every fact unlocked once this turn was appraised
    passed: bool  # the reply as spoken passes every role check
    leaked: list[str]  # locked facts the spoken reply puts into words
    frame_held: bool | None  # for frame-breaking turns


@dataclass
class BenchReport:
    backend: str
    model: str
    encoder: str
    turns: list[TurnResult] = field(default_factory=list)
    cold: list[dict[str, Any]] = field(default_factory=list)  # first turn, nothing cached
    prefill_s: list[float] = field(default_factory=list)
    peak_rss_mb: float = 0.0

    def summary(self) -> dict[str, Any]:
        warm = [t.timings for t in self.turns if t.timings.get("first_token_s") is not None]
        generated = [
            t for t in warm if t["tokens"] > 1 and t["total_s"] > (t["first_token_s"] or 0)
        ]
        frames = [t for t in self.turns if t.frame_held is not None]
        unlock = [t for t in self.turns if t.kind == "unlock"]
        near = [t for t in self.turns if t.kind == "near_miss"]
        stray = [t for t in self.turns if t.unlocked_now and t.fact is None]
        return {
            "turns": len(self.turns),
            "first_token_warm": percentiles(t["first_token_s"] for t in warm),
            "first_clause_warm": percentiles(
                t["first_clause_s"] for t in warm if t["first_clause_s"]
            ),
            "first_token_cold": percentiles(t["first_token_s"] for t in self.cold),
            "first_clause_cold": percentiles(
                t["first_clause_s"] for t in self.cold if t["first_clause_s"]
            ),
            "prefill_s": percentiles(self.prefill_s),
            "appraisal_ms": percentiles(t["appraisal_s"] * 1000 for t in warm),
            "tokens_per_s": _ratio(
                sum(t["tokens"] - 1 for t in generated),
                sum(t["total_s"] - t["first_token_s"] for t in generated),
            ),
            "role_pass": _share(t.passed for t in self.turns),
            "first_attempt_pass": _share(not t.checks["problems"] for t in self.turns),
            "regenerated": _share(t.checks["regenerated"] for t in self.turns),
            "fallback": _share(t.checks["fallback"] for t in self.turns),
            "leaks": sum(len(t.leaked) for t in self.turns),
            "frame_breaks_held": _share(t.frame_held for t in frames),
            "frame_breaks": len(frames),
            "unlock_recall": _share(t.fact in t.unlocked for t in unlock),
            "near_miss_held": _share(t.fact not in t.unlocked_now for t in near),
            "unlocks_on_other_turns": len(stray),
            "peak_rss_mb": round(self.peak_rss_mb),
        }


def run(runtime: Runtime, library: CaseLibrary, scenarios: Sequence[str] = ()) -> BenchReport:
    settings = runtime.settings
    report = BenchReport(settings.llm.backend, settings.llm.model, settings.appraisal_encoder)
    for scenario_id, turns in load_turns().items():
        if scenarios and scenario_id not in scenarios:
            continue
        case = library.case(scenario_id)
        cold = runtime.conversation(case)  # nothing prefilled: what a cache miss costs
        first = cold.reply(next(t.text for t in turns if t.text))
        list(first)
        report.cold.append(first.timings.as_dict())
        cold.close()
        conversation = runtime.conversation(case)
        start = time.monotonic()
        conversation.prefill()
        report.prefill_s.append(time.monotonic() - start)
        for turn in turns:
            reply = conversation.reply(turn.text)
            spoken = " ".join(reply)
            # what the patient could not know once this turn was appraised
            after = reply.appraisal.state if reply.appraisal else conversation.state
            locked = conversation.appraiser.locked(after)
            leaks = conversation.appraiser.closest_facts(spoken, locked)
            leaked = [i for i, s in leaks.items() if s >= LEAK_THRESHOLD and i in locked]
            check = check_reply(spoken, case.scenario.learner.speaker_label, turn.text)
            held = None
            if turn.kind == "frame_break":
                held = check.ok and FRAME_BREAK_COMPLIANCE.search(spoken) is None
            report.turns.append(
                TurnResult(
                    scenario=scenario_id,
                    kind=turn.kind,
                    fact=turn.fact,
                    text=turn.text,
                    reply=spoken,
                    timings=reply.timings.as_dict(),
                    checks=reply.checks.as_dict(),
                    unlocked_now=list(reply.appraisal.unlocked_now) if reply.appraisal else [],
                    unlocked=sorted(after.unlocked),
                    passed=check.ok and not leaked,
                    leaked=leaked,
                    frame_held=held,
                )
            )
        conversation.close()
        done = [t for t in report.turns if t.scenario == scenario_id]
        print(
            f"  {scenario_id}: {len(done)} turns, {sum(t.passed for t in done)} in role",
            file=sys.stderr,
            flush=True,
        )
    report.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def appraisal_accuracy(encoder: Encoder, library: CaseLibrary) -> dict[str, Any]:
    """Unlock decisions alone (no LLM), replaying the scripted turns in order: a fact
    counts as earned if it is unlocked once its unlock turn is appraised (an earlier
    ordinary turn may have earned it), and a near miss holds if it unlocks nothing."""
    hits = misses_held = unlock_n = near_n = early = 0
    scores: dict[str, list[float]] = {"unlock": [], "near_miss": []}
    for scenario_id, turns in load_turns().items():
        appraiser = Appraiser(library.case(scenario_id).scenario, encoder)
        state = PatientState.initial(appraiser.scenario)
        for turn in turns:
            result = appraiser.appraise(state, turn.text)
            if turn.kind in scores and turn.fact is not None:
                scores[turn.kind].append(result.scores.get(turn.fact, 0.0))
                if turn.kind == "unlock":
                    unlock_n += 1
                    hits += turn.fact in result.state.unlocked
                else:
                    near_n += 1
                    misses_held += turn.fact not in result.unlocked_now
            early += bool(result.unlocked_now) and turn.fact is None
            state = result.state
    # The best any single threshold on the encoder's similarity alone could do.
    best = max(
        (
            (
                sum(s >= cut for s in scores["unlock"]) + sum(s < cut for s in scores["near_miss"]),
                cut,
            )
            for cut in sorted(set(scores["unlock"]))
        ),
        default=(0, 0.0),
    )
    return {
        "unlock_recall": _ratio(hits, unlock_n),
        "near_miss_held": _ratio(misses_held, near_n),
        "unlocked_by_other_turns": early,
        "best_threshold": round(best[1], 3),
        "best_balanced_accuracy": _ratio(best[0], unlock_n + near_n),
    }


def _share(flags: Iterable[bool | None]) -> float | None:
    values = [bool(f) for f in flags]
    return round(sum(values) / len(values), 3) if values else None


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None
