"""`simpatient bench evaluation` and the labelled set it measures the evaluator against."""

import json
from pathlib import Path

import pytest
from test_evaluator import GOOD, POOR, RUBRIC

from simpatient.cli import main
from simpatient.content import CaseLibrary
from simpatient.dialogue.encoders import LexicalEncoder, MiniLMEncoder, PhraseMatcher
from simpatient.evaluator import bench
from simpatient.evaluator.tier2 import LLMJudge
from simpatient.evaluator.transcript import Transcript, from_file
from simpatient.settings import JudgeSettings

REPO = Path(__file__).resolve().parents[1]
LABELLED = REPO / "evaluation" / "labelled"


def test_agreement_counts_exact_and_within_one() -> None:
    a = bench.agreement([(0, 0), (2, 1), (2, 0), (1, 1)])
    assert (a.n, a.exact, a.within_one) == (4, 0.5, 0.75)
    assert bench.agreement([]) == bench.Agreement(0, None, None)


def test_item_agreement_leaves_out_items_without_a_score() -> None:
    labels = [
        bench.Label("t1", "r", "a", 2, ""),
        bench.Label("t2", "r", "a", 0, ""),
        bench.Label("t1", "r", "b", 1, ""),
    ]
    predicted: dict[bench.Key, int | None] = {
        ("t1", "r", "a"): 2,
        ("t2", "r", "a"): 2,
        ("t1", "r", "b"): None,  # a judge error: not a disagreement
    }
    per_item, overall = bench.item_agreement(labels, predicted)
    assert per_item == {"r/a": bench.Agreement(2, 0.5, 0.5)}
    assert overall == bench.Agreement(2, 0.5, 0.5)


def test_ranking_is_the_share_of_good_poor_pairs_the_good_one_wins() -> None:
    totals = {("g1", "r"): 10, ("g2", "r"): 6, ("p1", "r"): 6, ("p2", "r"): 2, ("m", "r"): 1}
    qualities = {"g1": "good", "g2": "good", "p1": "poor", "p2": "poor", "m": "mixed"}
    assert bench.ranking(totals, qualities) == {"r": bench.Ranking(4, 0.75, 1)}


def test_self_agreement_counts_judge_errors_as_different() -> None:
    first: dict[bench.Key, int | None] = {
        ("t", "r", "a"): 1,
        ("t", "r", "b"): 2,
        ("t", "r", "c"): None,
    }
    second: dict[bench.Key, int | None] = {
        ("t", "r", "a"): 1,
        ("t", "r", "b"): 1,
        ("t", "r", "c"): None,
    }
    assert bench.self_agreement(first, second) == {
        "items": 3,
        "identical": 0.333,
        "same_outcome": 0.667,
        "judge_errors": 1,
    }


def test_percentiles_are_nearest_rank() -> None:
    assert bench.percentiles([float(i) for i in range(1, 21)]) == {
        "n": 20,
        "p50": 10.5,
        "p95": 19.0,
    }
    assert bench.percentiles([]) == {"n": 0, "p50": None, "p95": None}


def _write_set(folder: Path, transcripts: dict[str, Transcript], labels: list[str]) -> None:
    """A labelled set on disk: plain-text transcripts, index.csv and labels.csv."""
    (folder / "transcripts").mkdir(parents=True)
    index = ["transcript,file,source,quality,split,scenario"]
    for name, transcript in transcripts.items():
        lines = [
            f"{'Doctor' if t.speaker == 'learner' else 'Patient'}: {t.text}"
            for t in transcript.turns
        ]
        (folder / "transcripts" / f"{name}.txt").write_text("\n".join(lines) + "\n")
        split = "tune" if name == "good" else "heldout"
        index.append(f"{name},transcripts/{name}.txt,own,{name},{split},")
    (folder / "index.csv").write_text("\n".join(index) + "\n")
    (folder / "labels.csv").write_text("transcript,rubric,item,score,note\n" + "\n".join(labels))


def test_the_benchmark_on_a_tiny_set_with_known_answers(tmp_path: Path) -> None:
    _write_set(
        tmp_path,
        {"good": GOOD, "poor": POOR},
        [
            "poor,test-rubric,perception,0,never asks",
            "poor,test-rubric,empathy,2,deliberately wrong: tier 1 gives the poor one 0",
            "good,test-rubric,perception,2,asks first",
        ],
    )
    labelled = bench.load_set(tmp_path)
    library = CaseLibrary(rubrics={RUBRIC.id: RUBRIC})
    assert labelled.problems(library) == []
    matcher = PhraseMatcher(LexicalEncoder())
    report = bench.run(labelled, library, matcher)
    summary = report.summary()
    assert summary["transcripts"] == 2
    assert summary["labels"] == 3
    assert summary["tier1_seconds"]["n"] == 2
    # tier 1 gives the poor conversation 0 on every item (tests/test_evaluator.py)
    heldout = summary["tier1_vs_labels"]["heldout"]
    assert heldout["items"]["test-rubric/perception"] == {"n": 1, "exact": 1.0, "within_one": 1.0}
    assert heldout["items"]["test-rubric/empathy"] == {"n": 1, "exact": 0.0, "within_one": 0.0}
    assert heldout["overall"] == {"n": 2, "exact": 0.5, "within_one": 0.5}
    good_perception = report.tier1.scores[("good", "test-rubric", "perception")]
    assert good_perception is not None
    tune = summary["tier1_vs_labels"]["tune"]["overall"]
    assert tune == {"n": 1, "exact": float(good_perception == 2), "within_one": 1.0}
    assert summary["tier1_vs_labels"]["all"]["overall"]["n"] == 3
    assert summary["tier1_ranking"]["all"]["test-rubric"] == {
        "pairs": 1,
        "good_above_poor": 1.0,
        "ties": 0,
    }
    assert "tier2_seconds" not in summary
    assert "test-rubric/perception" in bench.describe(summary)


def test_labels_that_do_not_fit_the_rubrics_are_reported(tmp_path: Path) -> None:
    _write_set(
        tmp_path,
        {"poor": POOR},
        [
            "poor,test-rubric,perception,3,beyond the scale",
            "poor,test-rubric,no-such-item,1,",
            "poor,no-such-rubric,x,1,",
            "ghost,test-rubric,empathy,1,",
            "poor,test-rubric,empathy,1,",
            "poor,test-rubric,empathy,2,twice",
        ],
    )
    problems = bench.load_set(tmp_path).problems(CaseLibrary(rubrics={RUBRIC.id: RUBRIC}))
    assert len(problems) == 5
    assert any("outside 0-2" in p for p in problems)
    assert any("no such item" in p for p in problems)
    assert any("no such rubric" in p for p in problems)
    assert any("no such transcript" in p for p in problems)
    assert any("labelled twice" in p for p in problems)


def test_every_labelled_transcript_parses_and_every_label_fits(library: CaseLibrary) -> None:
    labelled = bench.load_set(LABELLED)
    assert labelled.problems(library) == []
    for entry in labelled.transcripts.values():
        transcript = from_file(entry.path)
        assert transcript.learner_turns, entry.id
        assert entry.split in bench.SPLITS
        assert labelled.rubrics_of(entry.id), f"{entry.id} has no labels"
        for rubric in labelled.rubrics_of(entry.id):  # every item of a rubric is labelled
            items = {
                lb.item
                for lb in labelled.labels
                if (lb.transcript, lb.rubric) == (entry.id, rubric)
            }
            assert items == {i.id for i in library.rubrics[rubric].items}, (entry.id, rubric)
    assert sum(e.source == "primock57" for e in labelled.transcripts.values()) >= 4


def test_every_rubric_the_scenarios_use_has_good_and_poor_transcripts(
    library: CaseLibrary,
) -> None:
    labelled = bench.load_set(LABELLED)
    used = {r.id for case in library.cases.values() for r in case.rubrics}
    for rubric in used:
        qualities = [
            labelled.transcripts[t].quality
            for t in labelled.transcripts
            if rubric in labelled.rubrics_of(t)
        ]
        assert "good" in qualities, rubric
        assert "poor" in qualities, rubric


def test_the_command_on_a_subset_with_the_real_encoder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], minilm: MiniLMEncoder
) -> None:
    out = tmp_path / "bench.json"
    args = ["bench", "evaluation", "--transcript", "spikes-good-1"]
    assert main([*args, "--transcript", "spikes-poor-1", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "tier1 seconds per session" in printed
    summary = json.loads(out.read_text())
    assert summary["transcripts"] == 2
    assert summary["labels"] == 2 * (8 + 7)  # SPIKES and NURSE items for each
    assert summary["tier1_vs_labels"]["all"]["overall"]["n"] == summary["labels"]
    spikes = summary["tier1_ranking"]["all"]["spikes-bbn"]
    assert spikes == {"pairs": 1, "good_above_poor": 1.0, "ties": 0}
    assert main(["bench", "evaluation", "--transcript", "no-such-transcript"]) == 1
    assert "not in the labelled set" in capsys.readouterr().err


@pytest.mark.llm
def test_tier_two_twice_against_a_real_server(
    llama_server: str, library: CaseLibrary, tmp_path: Path
) -> None:
    """SmolLM2's verdicts mean nothing: this exercises the timing and self-agreement."""
    full = library.rubrics["spikes-bbn"]
    small = CaseLibrary(rubrics={full.id: full.model_copy(update={"items": full.items[:2]})})
    _write_set(
        tmp_path,
        {"poor": from_file(LABELLED / "transcripts" / "spikes-poor-1.txt")},
        ["poor,spikes-bbn,setting,0,", "poor,spikes-bbn,perception,0,"],
    )
    settings = JudgeSettings(
        model="smollm2",
        base_url=llama_server,
        max_tokens=200,
        timeout_s=60,
        response_format="json_object",
    )  # type: ignore[call-arg]
    judge = LLMJudge(settings)
    judge.load()
    report = bench.run(bench.load_set(tmp_path), small, PhraseMatcher(LexicalEncoder()), judge)
    summary = report.summary()
    assert summary["tier2_seconds"]["n"] == 1
    assert report.tier2 is not None
    assert report.tier2_again is not None
    first, second = report.tier2.scores, report.tier2_again.scores
    assert (
        set(first)
        == set(second)
        == {("poor", "spikes-bbn", "setting"), ("poor", "spikes-bbn", "perception")}
    )
    assert all(score in (0, 1, 2, None) for score in [*first.values(), *second.values()])
    same = sum(first[k] is not None and first[k] == second[k] for k in first)
    assert summary["tier2_self_agreement"]["identical"] == round(same / 2, 3)
    assert summary["tier2_self_agreement"]["same_outcome"] == round(
        sum(first[k] == second[k] for k in first) / 2, 3
    )
    assert "tier2_vs_labels" in summary
