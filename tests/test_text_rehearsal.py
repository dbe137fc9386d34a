"""The text rehearsal loop around the model, on a scripted backend (fast, deterministic)."""

from pathlib import Path

from simpatient.content import CaseLibrary
from simpatient.dialogue.conversation import PatientConversation
from simpatient.dialogue.scripted_backend import ScriptedBackend
from simpatient.pipeline.text_rehearsal import HOLDING_LINE, TextRehearsal
from simpatient.settings import Settings
from simpatient.store import SessionStore


def _rehearsal(library: CaseLibrary, tmp_path: Path) -> tuple[TextRehearsal, ScriptedBackend]:
    settings = Settings()
    backend = ScriptedBackend(Path("unused"), settings.llm)
    conversation = PatientConversation(
        library.case("david-medication-error"), backend, settings.llm
    )
    store = SessionStore.open(f"sqlite:///{tmp_path / 's.db'}")
    return TextRehearsal(conversation, store, {"llm": "scripted"}), backend


def test_every_turn_is_saved_with_timings(library: CaseLibrary, tmp_path: Path) -> None:
    rehearsal, backend = _rehearsal(library, tmp_path)
    backend.replies = ["David: Okay. What exactly went wrong?", "I see. Who decided that?"]
    opening = rehearsal.start()
    assert list(rehearsal.turn("I need to tell you about an error.")) == [
        "Okay.",
        "What exactly went wrong?",
    ]
    assert list(rehearsal.turn("The dose was entered twice.")) == ["I see.", "Who decided that?"]
    rehearsal.end("learner ended")
    assert rehearsal.session_id is not None
    record = rehearsal.store.get(rehearsal.session_id)
    assert [(t.speaker, t.text) for t in record.turns] == [
        ("patient", opening),
        ("learner", "I need to tell you about an error."),
        ("patient", "Okay. What exactly went wrong?"),
        ("learner", "The dose was entered twice."),
        ("patient", "I see. Who decided that?"),
    ]
    timings = record.turns[2].timings
    assert timings["first_token_s"] is not None
    assert timings["first_sentence_s"] >= timings["first_token_s"]
    assert record.status == "ended"
    # the second prompt extends the first: history holds the first exchange
    second_prompt = backend.prompts[1]
    assert second_prompt[-2].content == "David: Okay. What exactly went wrong?"
    assert 'Doctor says: "The dose was entered twice."' in second_prompt[-1].content


def test_backend_failure_mid_turn_gives_a_holding_line_and_recovers(
    library: CaseLibrary, tmp_path: Path
) -> None:
    rehearsal, backend = _rehearsal(library, tmp_path)
    backend.replies = ["No. That is not right.", "Fine. Go on."]
    backend.fail_after_words = 3
    rehearsal.start()
    assert list(rehearsal.turn("Something went wrong on the ward, Mr Zebedee.")) == [
        "No.",
        HOLDING_LINE,
    ]
    assert rehearsal.last_turn is not None
    assert rehearsal.last_turn.failed
    backend.fail_after_words = None
    assert list(rehearsal.turn("Let me say that again.")) == ["Fine.", "Go on."]
    assert rehearsal.session_id is not None
    turns = rehearsal.store.get(rehearsal.session_id).turns
    assert [t.text for t in turns[1:]] == [
        "Something went wrong on the ward, Mr Zebedee.",
        f"No. {HOLDING_LINE}",
        "Let me say that again.",
        "Fine. Go on.",
    ]
    assert turns[2].timings["error"] == "backend"
    # the failed exchange is not in the model's history; the retried one is
    history = [m.content for m in rehearsal.conversation.messages]
    assert not any("Mr Zebedee" in h for h in history)
    assert any("Let me say that again." in h for h in history)
