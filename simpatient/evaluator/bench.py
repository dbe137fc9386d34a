"""`simpatient bench evaluation`: speed and trustworthiness of the rubric evaluator.

Over the labelled set in ``evaluation/labelled/`` (transcripts, ``index.csv`` naming each
one's source, quality and split, ``labels.csv`` with one human score per rubric item) it
measures the time per session of tier 1 (MiniLM embeddings included) and, with a judge, of
tier 2; the judge's self-agreement (the same transcripts judged twice, temperature 0, same
seed); each tier's agreement with the labels per item (exact and within one point), kept
apart for the split tier 1 was tuned on and the held-out split; and whether tier 1 ranks
every deliberately good conversation above every deliberately poor one of the same rubric.
"""

import csv
import itertools
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from simpatient.content import CaseLibrary
from simpatient.dialogue.encoders import PhraseMatcher
from simpatient.evaluator import tier1
from simpatient.evaluator.evaluation import Evaluation, evaluate
from simpatient.evaluator.tier2 import LLMJudge
from simpatient.evaluator.transcript import Transcript, from_file

SPLITS = ("tune", "heldout")
#: (transcript, rubric, item)
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Labelled:
    """One transcript of the labelled set and what ``index.csv`` says about it."""

    id: str
    path: Path
    source: str  # primock57 | own
    quality: str  # good | poor | mixed | natural
    split: str  # tune | heldout
    scenario: str


@dataclass(frozen=True)
class Label:
    transcript: str
    rubric: str
    item: str
    score: int
    note: str


@dataclass
class LabelledSet:
    folder: Path
    transcripts: dict[str, Labelled]
    labels: list[Label]

    def rubrics_of(self, transcript_id: str) -> list[str]:
        """The rubrics a transcript is labelled with, in the order of its labels."""
        found = [label.rubric for label in self.labels if label.transcript == transcript_id]
        return list(dict.fromkeys(found))

    def problems(self, library: CaseLibrary) -> list[str]:
        """Labels that name no transcript, rubric or item, or score outside the scale."""
        found = []
        for label in self.labels:
            rubric = library.rubrics.get(label.rubric)
            where = f"{label.transcript}/{label.rubric}/{label.item}"
            if label.transcript not in self.transcripts:
                found.append(f"{where}: no such transcript in index.csv")
            if rubric is None:
                found.append(f"{where}: no such rubric")
            elif label.item not in {i.id for i in rubric.items}:
                found.append(f"{where}: no such item in {label.rubric}")
            if not 0 <= label.score <= tier1.MAX_SCORE:
                found.append(f"{where}: score {label.score} outside 0-{tier1.MAX_SCORE}")
        keys = [(label.transcript, label.rubric, label.item) for label in self.labels]
        found += [f"{'/'.join(k)}: labelled twice" for k in sorted(set(keys)) if keys.count(k) > 1]
        return found


def load_set(folder: Path) -> LabelledSet:
    with (folder / "index.csv").open(newline="", encoding="utf-8") as f:
        transcripts = {
            row["transcript"]: Labelled(
                row["transcript"],
                folder / row["file"],
                row["source"],
                row["quality"],
                row["split"],
                row["scenario"],
            )
            for row in csv.DictReader(f)
        }
    with (folder / "labels.csv").open(newline="", encoding="utf-8") as f:
        labels = [
            Label(row["transcript"], row["rubric"], row["item"], int(row["score"]), row["note"])
            for row in csv.DictReader(f)
        ]
    return LabelledSet(folder, transcripts, labels)


@dataclass(frozen=True)
class Agreement:
    n: int
    exact: float | None
    within_one: float | None


def agreement(pairs: Sequence[tuple[int, int]]) -> Agreement:
    """Exact and within-one-point agreement of (label, predicted) score pairs."""
    if not pairs:
        return Agreement(0, None, None)
    exact = sum(a == b for a, b in pairs) / len(pairs)
    near = sum(abs(a - b) <= 1 for a, b in pairs) / len(pairs)
    return Agreement(len(pairs), round(exact, 3), round(near, 3))


def item_agreement(
    labels: Iterable[Label], predicted: dict[Key, int | None]
) -> tuple[dict[str, Agreement], Agreement]:
    """Per ``rubric/item`` and overall, over the labels with a predicted score (an item the
    evaluator could not score, such as a judge error, is left out and counted elsewhere)."""
    by_item: dict[str, list[tuple[int, int]]] = {}
    for label in labels:
        score = predicted.get((label.transcript, label.rubric, label.item))
        if score is not None:
            by_item.setdefault(f"{label.rubric}/{label.item}", []).append((label.score, score))
    per_item = {key: agreement(pairs) for key, pairs in sorted(by_item.items())}
    return per_item, agreement([p for pairs in by_item.values() for p in pairs])


@dataclass(frozen=True)
class Ranking:
    pairs: int
    good_above_poor: float | None  # share of (good, poor) pairs where good scored more
    ties: int


def ranking(totals: dict[tuple[str, str], int], qualities: dict[str, str]) -> dict[str, Ranking]:
    """Per rubric: does every deliberately good conversation outscore every deliberately
    poor one? ``totals`` maps (transcript, rubric) to that rubric's points."""
    out = {}
    for rubric in sorted({r for _, r in totals}):
        scored = {t: p for (t, r), p in totals.items() if r == rubric}
        good = [p for t, p in scored.items() if qualities.get(t) == "good"]
        poor = [p for t, p in scored.items() if qualities.get(t) == "poor"]
        pairs = list(itertools.product(good, poor))
        above = sum(g > p for g, p in pairs)
        share = round(above / len(pairs), 3) if pairs else None
        out[rubric] = Ranking(len(pairs), share, sum(g == p for g, p in pairs))
    return out


def self_agreement(
    first: dict[Key, int | None], second: dict[Key, int | None]
) -> dict[str, float | int | None]:
    """Share of items the judge scored identically on two runs (an item that was a judge
    error in either run counts as not identical), and share with the same outcome, a judge
    error both times included: how deterministic the judge is, whatever its verdicts."""
    keys = sorted(set(first) & set(second))
    same = sum(first[k] is not None and first[k] == second[k] for k in keys)
    outcome = sum(first[k] == second[k] for k in keys)
    errors = sum(first[k] is None or second[k] is None for k in keys)
    return {
        "items": len(keys),
        "identical": round(same / len(keys), 3) if keys else None,
        "same_outcome": round(outcome / len(keys), 3) if keys else None,
        "judge_errors": errors,
    }


def percentiles(values: Sequence[float]) -> dict[str, float | int | None]:
    """p50 and p95 (nearest rank) of per-session seconds."""
    if not values:
        return {"n": 0, "p50": None, "p95": None}
    data = sorted(values)
    p95 = data[min(len(data) - 1, round(0.95 * (len(data) - 1)))]
    return {"n": len(data), "p50": round(statistics.median(data), 3), "p95": round(p95, 3)}


@dataclass
class TierRun:
    """One pass of a tier over the chosen transcripts: timings and item scores."""

    seconds: list[float] = field(default_factory=list)
    scores: dict[Key, int | None] = field(default_factory=dict)

    def add(self, transcript_id: str, seconds: float, result: Evaluation) -> None:
        self.seconds.append(seconds)
        for item in result.items:
            self.scores[(transcript_id, item.rubric, item.item)] = item.score

    def totals(self) -> dict[tuple[str, str], int]:
        out: dict[tuple[str, str], int] = {}
        for (t, r, _), score in self.scores.items():
            out[(t, r)] = out.get((t, r), 0) + (score or 0)
        return out


@dataclass
class BenchReport:
    labelled: LabelledSet
    chosen: list[str]
    tier1: TierRun
    tier2: TierRun | None = None
    tier2_again: TierRun | None = None

    def agreement_by_split(self, run: TierRun) -> dict[str, Any]:
        """Agreement with the labels for each split, for all, and for each source (the
        public PriMock57 consultations apart from the conversations written for the set)."""
        groups = [*SPLITS, "all", *sorted({t.source for t in self.labelled.transcripts.values()})]
        out = {}
        for group in groups:
            labels = [
                label
                for label in self.labelled.labels
                if label.transcript in self.chosen and group in self._groups(label.transcript)
            ]
            per_item, overall = item_agreement(labels, run.scores)
            out[group] = {
                "overall": asdict(overall),
                "items": {k: asdict(v) for k, v in per_item.items()},
            }
        return out

    def _groups(self, transcript_id: str) -> tuple[str, str, str]:
        labelled = self.labelled.transcripts[transcript_id]
        return ("all", labelled.split, labelled.source)

    def rankings(self, run: TierRun) -> dict[str, Any]:
        qualities = {t: self.labelled.transcripts[t].quality for t in self.chosen}
        totals = run.totals()
        heldout = {
            k: v for k, v in totals.items() if self.labelled.transcripts[k[0]].split == "heldout"
        }
        return {
            "all": {r: asdict(v) for r, v in ranking(totals, qualities).items()},
            "heldout": {r: asdict(v) for r, v in ranking(heldout, qualities).items()},
        }

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "transcripts": len(self.chosen),
            "labels": sum(label.transcript in self.chosen for label in self.labelled.labels),
            "tier1_seconds": percentiles(self.tier1.seconds),
            "tier1_vs_labels": self.agreement_by_split(self.tier1),
            "tier1_ranking": self.rankings(self.tier1),
        }
        if self.tier2 is not None and self.tier2_again is not None:
            out["tier2_seconds"] = percentiles(self.tier2.seconds)
            out["tier2_self_agreement"] = self_agreement(self.tier2.scores, self.tier2_again.scores)
            out["tier2_vs_labels"] = self.agreement_by_split(self.tier2)
        return out


def run(
    labelled: LabelledSet,
    library: CaseLibrary,
    matcher: PhraseMatcher,
    judge: LLMJudge | None = None,
    only: Sequence[str] = (),
) -> BenchReport:
    """Tier 1 over the chosen transcripts (all by default); with a judge, tier 2 twice.
    Tier 2's time per session includes tier 1's, whose findings it is given as context."""
    chosen = [t for t in labelled.transcripts if not only or t in only]
    missing = sorted(set(only) - set(labelled.transcripts))
    if missing:
        raise KeyError(f"not in the labelled set: {', '.join(missing)}")
    loaded: dict[str, Transcript] = {t: from_file(labelled.transcripts[t].path) for t in chosen}
    report = BenchReport(labelled, chosen, TierRun())
    passes = [report.tier1]
    if judge is not None:
        report.tier2, report.tier2_again = TierRun(), TierRun()
        passes += [report.tier2, report.tier2_again]
    for index, run_ in enumerate(passes):
        for transcript_id in chosen:
            rubrics = [library.rubrics[r] for r in labelled.rubrics_of(transcript_id)]
            start = time.monotonic()
            result = evaluate(loaded[transcript_id], rubrics, matcher, judge if index > 0 else None)
            run_.add(transcript_id, time.monotonic() - start, result)
    return report


def describe(summary: dict[str, Any]) -> str:
    """The summary as printed: timings, agreement per item and split, rankings."""

    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines = [f"{summary['transcripts']} transcripts, {summary['labels']} labelled items"]
    for tier in ("tier1", "tier2"):
        if f"{tier}_seconds" not in summary:
            continue
        t = summary[f"{tier}_seconds"]
        lines.append(f"{tier} seconds per session: p50 {t['p50']}, p95 {t['p95']} (n={t['n']})")
        by_split = summary[f"{tier}_vs_labels"]
        lines.append(f"{tier} vs labels, per item (n exact within-one): tune | heldout | all")
        keys = sorted({k for part in by_split.values() for k in part["items"]})
        for key in [*keys, "overall"]:
            cells = []
            for split in (*SPLITS, "all"):
                part = by_split[split]
                a = part["overall"] if key == "overall" else part["items"].get(key)
                cells.append(
                    f"{a['n']:3} {share(a['exact'])} {share(a['within_one'])}" if a else "  -"
                )
            lines.append(f"  {key:42} " + " | ".join(cells))
        by_source = {g: v["overall"] for g, v in by_split.items() if g not in (*SPLITS, "all")}
        lines.append(f"{tier} vs labels by source: {by_source}")
    if "tier2_self_agreement" in summary:
        lines.append(f"tier2 self-agreement (two runs): {summary['tier2_self_agreement']}")
    ranks = summary["tier1_ranking"]
    lines.append("tier1 ranks good above poor (pairs share ties): all | heldout")
    for rubric, r in ranks["all"].items():
        h = ranks["heldout"].get(rubric)
        held = f"{h['pairs']} {share(h['good_above_poor'])} {h['ties']}" if h else "-"
        lines.append(
            f"  {rubric:24} {r['pairs']} {share(r['good_above_poor'])} {r['ties']} | {held}"
        )
    return "\n".join(lines)
