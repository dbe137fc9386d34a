"""Text rehearsals on the real embedded LLM (Qwen2.5-Coder-1.5B GGUF via llama.cpp).

Slow by nature (a few seconds of prompt processing per scenario, then well under a
second per reply on two cores); marked ``llm`` so ``pytest -m "not llm"`` skips them.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simpatient.content import CaseLibrary
from simpatient.dialogue.checks import check_reply
from simpatient.pipeline.session_factory import Runtime, open_text_rehearsal

pytestmark = pytest.mark.llm

SCRIPTS = {
    "maggie-recurrence-bbn": [
        "Good morning, Mrs O'Connell. I'm Dr Lee. Is it all right if we sit and talk?",
        "Before I go through the scan, can you tell me what you understand so far?",
        "I'm sorry to say the scan shows the cancer has come back, in your liver.",
        "That is a lot to take in. What is going through your mind?",
        "Would it help to have Tom here when we talk about treatment?",
    ],
    "maggie-goals-of-care": [
        "Hello Maggie. Could we talk about what's happening and what matters most to you?",
        "What is your understanding of where things are with the cancer now?",
        "If time is shorter than we hope, what would be most important to you?",
        "What worries you most when you think about the months ahead?",
        "What gives you strength at the moment?",
    ],
    "hector-hospice-transition": [
        "Good morning, Don Héctor. How are you feeling today?",
        "Can you tell me what the doctors have told you about your heart?",
        "Your heart is getting weaker, and the medicines are not helping as much as before.",
        "What is most important to you now, for the time you have?",
        "Some people choose to have nurses help them at home. How would you feel about that?",
    ],
    "david-medication-error": [
        "Mr Chen, I'm Dr Lee. I need to talk with you about what happened after your surgery.",
        "You were given a second dose of your blood thinner that you should not have had.",
        "That is our mistake, and I am very sorry.",
        "What questions do you have for me?",
        "We are reviewing how the order was entered so this does not happen again.",
    ],
    "grace-declines-blood": [
        "Thank you for telling me, Mrs Mensah. Can you tell me more about your wishes?",
        "Your blood count is low, so I want to plan the operation carefully with you.",
        "Would you accept iron through a drip before surgery to build up your blood?",
        "Some patients accept a machine that returns their own blood. How do you feel about that?",
        "Is there anyone you would like involved in these decisions?",
    ],
    "jamal-history-fatigue": [
        "Hi Mr Washington, I'm Dr Lee. What brings you in today?",
        "When did you first notice feeling tired?",
        "Have you noticed any change in your weight?",
        "How is your appetite, and are you drinking more than usual?",
        "Is there anything worrying you about all this?",
    ],
}


def test_every_shipped_scenario_has_a_script(library: CaseLibrary) -> None:
    assert set(SCRIPTS) == set(library.cases)


@pytest.mark.parametrize("scenario_id", sorted(SCRIPTS))
def test_scripted_rehearsal_stays_in_the_patients_voice(
    scenario_id: str, library: CaseLibrary, embedded: Runtime
) -> None:
    case = library.case(scenario_id)
    rehearsal = open_text_rehearsal(embedded, case)
    rehearsal.start()
    failures = []
    for line in SCRIPTS[scenario_id]:
        reply = " ".join(rehearsal.turn(line))
        check = check_reply(reply, case.scenario.learner.speaker_label, line)
        if not check.ok:
            failures.append(f"{line!r} -> {reply!r}: {', '.join(check.problems)}")
        assert len(reply.split()) <= 70
    rehearsal.end("test")
    assert not failures, "\n".join(failures)
    assert rehearsal.session_id is not None
    turns = rehearsal.store.get(rehearsal.session_id).turns
    assert [t.speaker for t in turns] == ["patient"] + ["learner", "patient"] * 5
    assert all(t.text.strip() for t in turns)


def test_turns_after_the_first_reuse_the_prefilled_prompt(
    library: CaseLibrary, embedded: Runtime
) -> None:
    case = library.case("jamal-history-fatigue")
    rehearsal = open_text_rehearsal(embedded, case)
    prefilled = rehearsal.conversation.prefill()
    rehearsal.start()
    for line in SCRIPTS["jamal-history-fatigue"][:2]:
        list(rehearsal.turn(line))
        assert rehearsal.last_reply is not None
        # only the new learner turn (and the previous reply's tail) are evaluated
        assert rehearsal.last_reply.timings.prompt_tokens < 150 < prefilled


def test_interleaved_sessions_each_keep_their_cache(
    library: CaseLibrary, embedded: Runtime
) -> None:
    """Two learners talking at once: each turn still evaluates only its new tokens."""
    first = open_text_rehearsal(embedded, library.case("jamal-history-fatigue"))
    second = open_text_rehearsal(embedded, library.case("grace-declines-blood"))
    first.start()
    second.start()
    for a, b in zip(
        SCRIPTS["jamal-history-fatigue"][:2], SCRIPTS["grace-declines-blood"][:2], strict=True
    ):
        for rehearsal, line in ((first, a), (second, b)):
            list(rehearsal.turn(line))
            assert rehearsal.last_reply is not None
            assert rehearsal.last_reply.timings.prompt_tokens < 150
    first.end("test")
    second.end("test")


def _chat(scenario: str, env: dict[str, str], *flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "simpatient", "chat", scenario, "--script", "-", *flags],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _turns(db: Path) -> list[tuple[str, str]]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("select speaker, text from turns order by id").fetchall()
    except sqlite3.OperationalError:  # the process is still creating the schema
        return []


def test_a_killed_rehearsal_keeps_every_turn_said(tmp_path: Path) -> None:
    env = {**os.environ, "SIMPATIENT_DATA_DIR": str(tmp_path)}
    db = tmp_path / "sessions.db"
    proc = _chat("jamal-history-fatigue", env)
    assert proc.stdin is not None
    lines = SCRIPTS["jamal-history-fatigue"][:3]
    for said, line in enumerate(lines, start=1):
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 120
        # wait until this learner turn is committed (and, for all but the last, answered)
        want = 1 + 2 * said - (1 if line == lines[-1] else 0)
        while len(_turns(db)) < want:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, _turns(db)
            time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # mid-session: the third reply may be in flight
    proc.wait(timeout=30)
    turns = _turns(db)
    speakers = [s for s, _ in turns]
    assert speakers[:6] == ["patient", "learner", "patient", "learner", "patient", "learner"]
    assert [t for s, t in turns if s == "learner"] == lines
    assert len(turns) in (6, 7)  # the reply in flight is saved whole or not at all
    with sqlite3.connect(db) as conn:
        status = conn.execute("select status from sessions").fetchall()
    assert status == [("active",)]  # never ended: the kill left no time to close it


def test_chat_command_runs_a_script_from_stdin(tmp_path: Path) -> None:
    env = {**os.environ, "SIMPATIENT_DATA_DIR": str(tmp_path)}
    proc = _chat("grace-declines-blood", env, "--debug")
    out, err = proc.communicate(
        "Thank you for telling me. What matters most to you?\n", timeout=300
    )
    assert proc.returncode == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("Grace: Good afternoon, Doctor.")
    assert lines[1] == "you: Thank you for telling me. What matters most to you?"
    assert lines[2].startswith("Grace: ")
    assert len(lines[2]) > len("Grace: ") + 3
    assert "saved (end of script)" in err
    assert "You are Grace Mensah" in err  # --debug shows the prompt
    assert "[state: " in err  # ... and the patient state after each turn
    assert "first clause" in err
