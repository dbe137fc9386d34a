"""Deployment settings: ``SIMPATIENT_*`` environment variables and an optional TOML file.

A *profile* picks coherent defaults: ``cpu`` is the embedded default that runs on a
laptop from pip-installed models; ``gpu`` names deployment models. Both go through the
same code paths; any single value can still be overridden, e.g.
``SIMPATIENT_LLM__THREADS=1`` or ``[llm] threads = 1`` in the file named by
``SIMPATIENT_CONFIG``.
"""

import os
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from simpatient.errors import SettingsError

Profile = Literal["cpu", "gpu"]


class LLMSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    backend: str = Field(description="name of the LLM backend in the registry")
    model: str = Field(description="a model name from `simpatient models list` or a path")
    threads: int = Field(ge=1, description="CPU threads for prompt and decoding")
    gpu_layers: int = Field(description="layers offloaded to the GPU; -1 for all")
    context: int = Field(default=8192, ge=512, description="tokens; a 20-minute talk fits")
    max_reply_tokens: int = Field(default=60, ge=8, description="cap on one spoken reply")
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    seed: int | None = Field(default=None, description="fixed seed for repeatable replies")
    # For the "openai" backend (vLLM, the llama.cpp server, Ollama, hosted APIs):
    base_url: str = Field(default="http://127.0.0.1:8000/v1", description="the server's API root")
    api_key: SecretStr | None = Field(default=None, description="sent as a Bearer token")
    connect_timeout_s: float = Field(default=5.0, gt=0)
    first_token_timeout_s: float = Field(default=60.0, gt=0)
    chunk_timeout_s: float = Field(default=15.0, gt=0, description="longest gap between chunks")
    retries: int = Field(default=2, ge=0, description="retries before the first token")


class JudgeSettings(BaseModel):
    """The tier-2 rubric judge: a capable model behind an OpenAI-compatible server."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="the served model's name")
    base_url: str = Field(description="the server's API root, e.g. http://gpu-host:8000/v1")
    api_key: SecretStr | None = None
    timeout_s: float = Field(default=120.0, gt=0, description="for one item's verdict")
    max_tokens: int = Field(default=400, ge=64)
    seed: int = 0  # with temperature 0: the same verdict for the same transcript
    response_format: Literal["json_schema", "json_object"] = Field(
        default="json_schema",
        description="json_schema for OpenAI and vLLM; json_object for llama-cpp-python's server",
    )


PROFILES: dict[str, dict[str, Any]] = {
    "cpu": {
        "llm": {
            "backend": "llama_cpp",
            "model": "qwen2.5-coder-1.5b-instruct-q4km",
            "threads": 2,
            "gpu_layers": 0,
        },
    },
    "gpu": {
        "llm": {
            "backend": "llama_cpp",
            "model": "qwen2.5-7b-instruct-q4km",
            "threads": 8,
            "gpu_layers": -1,
            "context": 8192,
        },
    },
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SIMPATIENT_", env_nested_delimiter="__", extra="forbid"
    )

    profile: Profile = "cpu"
    home: Path = Field(
        default_factory=lambda: platformdirs.user_cache_path("simpatient"),
        description="where `simpatient models fetch` puts model files",
    )
    data_dir: Path = Field(
        default_factory=lambda: platformdirs.user_data_path("simpatient"),
        description="where the default SQLite session store lives",
    )
    database_url: str | None = Field(default=None, description="SQLAlchemy URL of the store")
    library: Path = Field(default=Path("."), description="folder holding personas/, scenarios/")
    judge: JudgeSettings | None = Field(
        default=None,
        description="tier-2 rubric judge: an OpenAI-compatible server (SIMPATIENT_JUDGE__*)",
    )
    appraisal_encoder: Literal["minilm", "lexical"] = Field(
        default="minilm", description="sentence encoder that appraises learner turns"
    )
    llm: LLMSettings

    @model_validator(mode="before")
    @classmethod
    def _profile_defaults(cls, data: Any) -> Any:
        """Fill what the user left unset from the profile's defaults."""
        if not isinstance(data, dict):
            return data
        profile = data.get("profile", "cpu")
        defaults = PROFILES.get(profile, PROFILES["cpu"])
        merged = dict(data)
        for section, values in defaults.items():
            given = merged.get(section)
            if isinstance(given, BaseModel):
                given = given.model_dump(exclude_unset=True)
            merged[section] = {**values, **(given or {})}
        return merged

    @classmethod
    def load(cls) -> "Settings":
        """Read the settings, turning a bad value into an error that names the variable."""
        try:
            return cls()
        except ValidationError as e:
            lines = [
                f"  SIMPATIENT_{'__'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
                for err in e.errors()
            ]
            raise SettingsError("invalid settings:\n" + "\n".join(lines)) from None
        except (OSError, ValueError) as e:  # an unreadable or malformed config file
            raise SettingsError(f"cannot read the settings file: {e}") from None

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'sessions.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config = os.environ.get("SIMPATIENT_CONFIG")
        sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
        if config:
            sources += (TomlConfigSettingsSource(settings_cls, toml_file=Path(config)),)
        return sources
