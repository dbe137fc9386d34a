"""`simpatient chat` on bad input: clear errors, no tracebacks."""

from pathlib import Path

import pytest

from simpatient.cli import main


def test_unknown_scenario_suggests_the_nearest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "maggie-recurrence"]) == 1
    err = capsys.readouterr().err
    assert "no scenario 'maggie-recurrence'; did you mean 'maggie-recurrence-bbn'?" in err
    assert "Traceback" not in err


def test_missing_model_names_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIMPATIENT_HOME", str(tmp_path))
    assert main(["chat", "maggie-recurrence-bbn", "--script", "-"]) == 1
    err = capsys.readouterr().err
    assert "simpatient models fetch qwen2.5-coder-1.5b-instruct-q4km" in err


def test_a_corrupt_model_file_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "broken.gguf"
    garbage.write_bytes(b"GGUF" + bytes(4096))
    monkeypatch.setenv("SIMPATIENT_LLM__MODEL", str(garbage))
    assert main(["chat", "maggie-recurrence-bbn", "--script", "-"]) == 1
    err = capsys.readouterr().err
    assert f"llama.cpp could not load {garbage}" in err
    assert "Traceback" not in err


def test_an_invalid_scenario_file_is_reported_with_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "scenarios" / "broken.yaml"
    bad.parent.mkdir()
    bad.write_text("id: broken\ntitle: A broken case\nconversation_type: gossip\n")
    assert main(["chat", str(bad), "--script", "-"]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:3:20: conversation_type:" in err
    assert "scenario 'broken' is invalid" in err
