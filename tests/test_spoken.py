"""Cleaning streamed model text into speakable sentences, and the reply checks."""

from simpatient.dialogue.checks import check_reply
from simpatient.dialogue.spoken import clean, sentences, speaker_tag


def test_sentences_come_out_as_soon_as_they_end() -> None:
    pieces = ["Well", ", I", " suppose.", " What", " does that", " mean? I", " don't know"]
    seen = []
    stream = sentences(iter(pieces))
    seen.append(next(stream))
    assert seen == ["Well, I suppose."]
    assert list(stream) == ["What does that mean?"]  # the cut-off fragment is dropped


def test_a_lone_fragment_is_kept() -> None:
    assert list(sentences(["I just", " want to go home"])) == ["I just want to go home"]


def test_speaker_tags_quotes_and_stage_directions_are_removed() -> None:
    tag = speaker_tag("Maggie")
    raw = 'Maggie says: "*sighs* Oh. (pauses) I knew it." **Really.**'
    assert list(sentences([raw], tag)) == ["Oh.", "I knew it.", "Really."]
    assert clean("# Heading\n- item one", None) == "Heading item one"


def test_check_reply_flags_role_slips() -> None:
    assert check_reply("I'm scared, to be honest.", "Doctor").ok
    assert check_reply("", "Doctor").problems == ("empty",)
    slip = check_reply("I'm here to help you through this difficult time.", "Doctor")
    assert not slip.ok
    assert "speaks as the clinician" in slip.problems[0]
    assert not check_reply("Doctor: how are you?", "Doctor").ok
    assert not check_reply(" ".join(["word"] * 80), "Doctor").ok
    assert not check_reply("**Sure**", "Doctor").ok
    echo = check_reply(
        "What do you understand about the scan?", "Doctor", "What do you understand about the scan?"
    )
    assert echo.problems == ("repeats the learner's line",)
    part = check_reply(
        "we expect you to make a full recovery",
        "Doctor",
        "The good news is we expect you to make a full recovery.",
    )
    assert part.problems == ("repeats the learner's line",)
    assert check_reply("I am scared of what comes next.", "Doctor", "What scares you?").ok


def test_check_reply_flags_frame_breaks_and_structured_output() -> None:
    meta = check_reply("I don't have access to the case file.", "Doctor")
    assert meta.problems == ("breaks the frame ('case file')",)
    assert not check_reply("As an AI, I cannot say.", "Doctor").ok
    assert check_reply('{"emotion": "sad"}', "Doctor").problems == ("contains markup",)
    assert check_reply("In the worst case, I'd want to be at home.", "Doctor").ok
