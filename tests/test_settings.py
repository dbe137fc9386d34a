"""Settings: profiles, environment variables, the TOML file, and clear errors."""

from pathlib import Path

import pytest

from simpatient.errors import SettingsError
from simpatient.settings import Settings


def test_cpu_profile_is_the_embedded_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIMPATIENT_PROFILE", raising=False)
    settings = Settings.load()
    assert settings.profile == "cpu"
    assert settings.llm.backend == "llama_cpp"
    assert settings.llm.model == "qwen2.5-coder-1.5b-instruct-q4km"
    assert settings.llm.gpu_layers == 0
    assert settings.store_url.startswith("sqlite:///")


def test_gpu_profile_with_one_value_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMPATIENT_PROFILE", "gpu")
    monkeypatch.setenv("SIMPATIENT_LLM__THREADS", "3")
    settings = Settings.load()
    assert settings.llm.model == "qwen2.5-7b-instruct-q4km"
    assert settings.llm.gpu_layers == -1
    assert settings.llm.threads == 3  # the override wins over the profile
    assert settings.llm.context == 8192  # the rest of the profile still applies


def test_toml_file_below_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "simpatient.toml"
    config.write_text('database_url = "sqlite:///x.db"\n[llm]\nmax_reply_tokens = 40\nseed = 9\n')
    monkeypatch.setenv("SIMPATIENT_CONFIG", str(config))
    monkeypatch.setenv("SIMPATIENT_LLM__SEED", "11")
    settings = Settings.load()
    assert settings.store_url == "sqlite:///x.db"
    assert settings.llm.max_reply_tokens == 40
    assert settings.llm.seed == 11
    assert settings.llm.threads == 2  # from the cpu profile


def test_bad_values_name_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SIMPATIENT_LLM__THREADS", "zero")
    with pytest.raises(SettingsError, match="SIMPATIENT_LLM__THREADS"):
        Settings.load()
    monkeypatch.delenv("SIMPATIENT_LLM__THREADS")
    config = tmp_path / "bad.toml"
    config.write_text("[llm\n")
    monkeypatch.setenv("SIMPATIENT_CONFIG", str(config))
    with pytest.raises(SettingsError, match="cannot read the settings file"):
        Settings.load()
