"""The tier-1 evaluator: transcripts in, evidence-backed scores and an HTML report out."""

import json
from pathlib import Path

import pytest

from simpatient.content import Rubric
from simpatient.dialogue.encoders import LexicalEncoder, PhraseMatcher
from simpatient.evaluator import metrics, report
from simpatient.evaluator.evaluation import check_evidence, evaluate
from simpatient.evaluator.tier1 import Evidence, ItemResult
from simpatient.evaluator.transcript import Transcript, TranscriptError, Turn, from_file

RUBRIC = Rubric.model_validate(
    {
        "id": "test-rubric",
        "title": "Test rubric",
        "instrument": "test",
        "applies_to": ["other"],
        "items": [
            {
                "id": "perception",
                "title": "Asks what the patient understands",
                "behaviour": "Asks an open question about the patient's understanding.",
                "exemplars": [
                    "What do you understand about why we did the scan?",
                    "Can you tell me what you know so far about your illness?",
                ],
                "counter_exemplars": ["The scan shows the cancer is back."],
                "anchors": {
                    "not_done": "Never asks.",
                    "partly": "Asks once, closed.",
                    "done": "Asks openly before the news.",
                },
            },
            {
                "id": "empathy",
                "title": "Names the emotion",
                "behaviour": "Names the emotion the patient shows.",
                "exemplars": [
                    "I can see this is a shock for you.",
                    "It sounds like you are frightened.",
                ],
                "counter_exemplars": ["Don't worry about it."],
            },
        ],
    }
)


def _transcript(*lines: tuple[str, str]) -> Transcript:
    return Transcript(tuple(Turn(i, s, t, float(i * 10)) for i, (s, t) in enumerate(lines)))


GOOD = _transcript(
    ("patient", "Morning. Let's get on with it."),
    ("learner", "Before we look at the results, what do you understand about why we did the scan?"),
    ("patient", "I think it might be back."),
    ("learner", "I'm sorry, it is back. I can see this is a shock for you."),
    ("patient", "I'm scared."),
)
POOR = _transcript(
    ("patient", "Morning."),
    ("learner", "The scan shows the cancer is back. Don't worry about it."),
    ("patient", "Oh."),
)


def test_a_good_conversation_outscores_a_poor_one() -> None:
    matcher = PhraseMatcher(LexicalEncoder())
    good = evaluate(GOOD, [RUBRIC], matcher)
    poor = evaluate(POOR, [RUBRIC], matcher)
    assert good.totals()["test-rubric"]["points"] > poor.totals()["test-rubric"]["points"]
    perception = next(i for i in good.items if i.item == "perception")
    assert perception.score is not None
    assert perception.score >= 1
    assert perception.evidence[0].turn == 1
    assert perception.evidence[0].start_s == 10.0
    assert all(i.score == 0 for i in poor.items)  # counter-exemplars are not credited


def test_every_quote_in_a_report_is_in_its_transcript() -> None:
    result = evaluate(GOOD, [RUBRIC], PhraseMatcher(LexicalEncoder()))
    quotes = [(e.turn, e.quote) for i in result.items for e in i.evidence]
    assert quotes
    for turn, quote in quotes:
        assert GOOD.contains(turn, quote)


def test_a_quote_not_in_the_transcript_is_a_judge_error_not_a_score() -> None:
    item = ItemResult(
        "r", "i", "Item", 2, 2, "scored", [Evidence(1, "I never said this", 10.0, 0.9)]
    )
    check_evidence(GOOD, item)
    assert item.status == "judge_error"
    assert item.score is None
    assert "I never said this" in item.rationale


def test_metrics_count_questions_jargon_and_cues() -> None:
    t = Transcript(
        (
            Turn(0, "patient", "Hello.", state={"state": {"emotion": "anxious", "intensity": 0.4}}),
            Turn(1, "learner", "How are you feeling? Did you sleep?"),
            Turn(
                2,
                "patient",
                "Badly.",
                state={"state": {"emotion": "tearful", "intensity": 0.8, "told": []}},
            ),
            Turn(
                3,
                "learner",
                "Is the pain worse? The CT shows metastases.",
                state={"appraisal": {"unlocked_now": ["pain"]}},
            ),
            Turn(
                4,
                "patient",
                "What?",
                state={"state": {"emotion": "shocked", "intensity": 0.9, "told": ["ct-result"]}},
            ),
            Turn(5, "learner", "I'm sorry."),
            Turn(
                6,
                "patient",
                "Still?",
                state={"state": {"emotion": "shocked", "intensity": 0.9, "told": ["ct-result"]}},
            ),
        )
    )
    m = metrics.compute(t)
    assert (m.open_questions, m.closed_questions) == (1, 1)
    assert [term for _, term in m.jargon] == ["ct", "metastases"]
    assert [(c.turn, c.emotion, c.response_turn) for c in m.cues] == [
        (2, "tearful", 3),
        (4, "shocked", 5),
    ]  # the same emotion carried over (turn 6) is not a new cue
    assert m.facts_unlocked == [(3, "pain")]
    assert m.first_news_turn == 3


def test_hostile_transcript_text_is_escaped_in_the_report() -> None:
    hostile = _transcript(
        ("patient", "Hi."), ("learner", "<script>alert('x')</script> What do you understand?")
    )
    html = report.render(
        evaluate(hostile, [RUBRIC], PhraseMatcher(LexicalEncoder())), "<b>case</b>"
    )
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "&lt;b&gt;case&lt;/b&gt;" in html


def test_transcript_files_in_both_formats(tmp_path: Path) -> None:
    text = tmp_path / "t.txt"
    text.write_text("Doctor: Hello, I'm Dr Lee.\nMaggie: Morning.\n\nDr. Lee: How are you?\n")
    turns = from_file(text).turns
    assert [(t.speaker, t.text) for t in turns] == [
        ("learner", "Hello, I'm Dr Lee."),
        ("patient", "Morning."),
        ("learner", "How are you?"),
    ]
    data = tmp_path / "t.json"
    data.write_text(
        json.dumps(
            {
                "scenario": "x",
                "turns": [
                    {"speaker": "doctor", "text": "Hi", "start": 1.5},
                    {"speaker": "patient", "text": "Hello"},
                ],
            }
        )
    )
    parsed = from_file(data)
    assert parsed.scenario_id == "x"
    assert parsed.turns[0].start_s == 1.5


@pytest.mark.parametrize(
    "content", ["just some words\nwith no speakers", "[]", "{not json", '[{"who": "doctor"}]']
)
def test_unknown_transcript_formats_name_the_expected_ones(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(TranscriptError, match="expected JSON"):
        from_file(path)


def test_an_item_judged_by_absence_loses_points_for_each_counter_example() -> None:
    rubric = Rubric.model_validate(
        {
            "id": "absence",
            "title": "Absence",
            "instrument": "test",
            "applies_to": ["other"],
            "items": [
                {
                    "id": "no-blocking",
                    "title": "Does not block emotion",
                    "behaviour": "Never brushes the patient's feelings aside.",
                    "exemplars": ["Take your time."],
                    "counter_exemplars": ["Don't worry about it.", "Let's stay positive."],
                    "evidence_required": False,
                }
            ],
        }
    )
    matcher = PhraseMatcher(LexicalEncoder())
    [clean] = evaluate(GOOD, [rubric], matcher).items
    assert (clean.score, clean.evidence) == (2, [])
    [blocked] = evaluate(POOR, [rubric], matcher).items
    assert blocked.score == 1
    assert [e.quote for e in blocked.evidence] == ["Don't worry about it."]
    assert "went against it" in blocked.rationale
