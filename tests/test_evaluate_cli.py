"""`simpatient evaluate` with the shipped rubrics and the real MiniLM encoder."""

import re
from pathlib import Path

import pytest

from simpatient.cli import main
from simpatient.content import CaseLibrary
from simpatient.dialogue.encoders import MiniLMEncoder, PhraseMatcher
from simpatient.evaluator.evaluation import evaluate
from simpatient.evaluator.transcript import from_file

GOOD = """\
Doctor: Good morning, Mrs O'Connell. I'm Dr Lee. Is it all right if we sit down and talk somewhere we won't be interrupted?
Patient: Yes, let's.
Doctor: Before I go through the scan, can you tell me what you understand about why we did it?
Patient: My marker went up. I think it might be back.
Doctor: How much detail would you like me to go into today?
Patient: The headline first.
Doctor: I'm afraid I have some difficult news. The scan shows that the cancer has come back, in your liver.
Patient: Oh God.
Doctor: I can see this is a real shock. Take your time. What is going through your mind?
Patient: My daughter's wedding.
Doctor: That sounds like it matters enormously to you. Would it help to bring Tom next time, so we can plan the treatment together? Let me sum up what we said.
"""
POOR = """\
Doctor: Hi. Your CT showed multiple hepatic metastases consistent with recurrent adenocarcinoma.
Patient: What?
Doctor: We'll start second-line chemotherapy next week.
Patient: I don't understand.
Doctor: Don't worry, lots of people live with this. Any questions? No? The nurse will book you in.
"""


def _points(out: str) -> int:
    return sum(int(p) for p in re.findall(r"^[\w-]+: (\d+)/\d+", out, re.MULTILINE))


def test_a_good_conversation_scores_far_above_a_poor_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scores = {}
    for name, text in (("good", GOOD), ("poor", POOR)):
        path = tmp_path / f"{name}.txt"
        path.write_text(text)
        html = tmp_path / f"{name}.html"
        args = ["evaluate", str(path), "--rubric", "spikes-bbn", "--rubric", "nurse-empathy"]
        assert main([*args, "--out", str(html)]) == 0
        scores[name] = _points(capsys.readouterr().out)
        assert "Transcript" in html.read_text()
    assert scores["good"] >= scores["poor"] + 10, scores


def test_every_evidence_quote_exists_in_the_transcript(
    tmp_path: Path, library: CaseLibrary, minilm: MiniLMEncoder
) -> None:
    path = tmp_path / "good.txt"
    path.write_text(GOOD)
    transcript = from_file(path)
    rubrics = [library.rubrics["spikes-bbn"], library.rubrics["nurse-empathy"]]
    result = evaluate(transcript, rubrics, PhraseMatcher(minilm))
    evidence = [(e.turn, e.quote) for item in result.items for e in item.evidence]
    assert len(evidence) >= 8
    for turn, quote in evidence:
        assert quote in transcript.turns[turn].text
    assert all(item.status == "scored" for item in result.items)


def test_a_rubric_that_does_not_fit_falls_back_to_the_general_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "t.json"
    path.write_text(
        '{"scenario": "jamal-history-fatigue", "turns": ['
        '{"speaker": "doctor", "text": "What brings you in today?"},'
        '{"speaker": "patient", "text": "I am tired."}]}'
    )
    assert (
        main(["evaluate", str(path), "--rubric", "spikes-bbn", "--out", str(tmp_path / "r.html")])
        == 0
    )
    captured = capsys.readouterr()
    assert "does not apply to history_taking" in captured.err
    assert "calgary-history:" in captured.out
    assert "spikes-bbn:" not in captured.out


def test_unknown_targets_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["evaluate", "no-such-session"]) == 1
    assert "neither a file nor a session id" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_text("no speakers here\n")
    assert main(["evaluate", str(bad)]) == 1
    assert "expected JSON" in capsys.readouterr().err
