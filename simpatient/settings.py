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


class VADSettings(BaseModel):
    """Voice activity (Silero) and turn-taking thresholds, in milliseconds of audio."""

    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(default=0.5, gt=0, lt=1, description="speech probability: voiced")
    neg_threshold: float = Field(
        default=0.35, gt=0, lt=1, description="below this a window counts as silence"
    )
    min_speech_ms: int = Field(
        default=96, ge=32, description="voiced audio before an onset is reported (clicks, taps)"
    )
    confirm_ms: int = Field(
        default=450,
        ge=32,
        description="speech after the onset that marks a real turn or interruption; shorter "
        "speech is a backchannel ('mm-hm', 'okay') or noise",
    )
    pause_ms: int = Field(
        default=160, ge=32, description="silence after which the transcript is refreshed"
    )
    silence_ms: int = Field(default=700, ge=64, description="silence that ends a turn")
    complete_silence_ms: int = Field(
        default=350,
        ge=64,
        description="silence that ends a turn whose transcript is already a complete thought",
    )
    threads: int = Field(default=1, ge=1)


class ASRSettings(BaseModel):
    """Speech recognition: the faster-whisper model and the guards on its output."""

    model_config = ConfigDict(extra="forbid")

    backend: str = Field(description="name of the ASR backend in the registry")
    model: str = Field(description="a model name from `simpatient models list` or a path")
    device: Literal["cpu", "cuda", "auto"] = Field(description="cuda falls back to the CPU")
    compute_type: str = Field(description="CTranslate2 type, e.g. int8 (CPU), float16 (GPU)")
    threads: int = Field(ge=1, description="CPU threads for one decode")
    beam_size: int = Field(default=2, ge=1, description="beam >= 2 resists hallucinated loops")
    language: str | None = Field(default="en", description="None: detect per turn")
    partial_interval_ms: int = Field(
        default=1000,
        ge=100,
        description="new audio between partial transcripts (a CPU decode takes 0.5-1 s)",
    )
    max_segment_s: float = Field(
        default=20.0, gt=2, le=28, description="longer speech is cut and decoded in pieces"
    )
    no_speech_threshold: float = Field(default=0.6, ge=0, le=1)
    logprob_threshold: float = Field(
        default=-1.0, description="a segment this unlikely and likely silent is dropped"
    )
    compression_ratio_threshold: float = Field(
        default=2.4, gt=1, description="above this a segment is a repetition loop"
    )
    max_words_per_s: float = Field(
        default=6.0, gt=0, description="more words than this per second of audio is invented"
    )


class TTSSettings(BaseModel):
    """Speech synthesis: which engines may speak and how; the voice itself comes from the
    persona (``simpatient.speech.tts.voices``)."""

    model_config = ConfigDict(extra="forbid")

    engines: list[str] = Field(
        default=["piper", "festival", "flite", "espeak"],
        description="engines a persona's voice may be drawn from, best first; the rest of "
        "the list is the fallback when one is missing or fails",
    )
    voice: str | None = Field(
        default=None, description="force one voice for every persona, e.g. 'flite:slt'"
    )
    threads: int = Field(default=1, ge=1, description="CPU threads for neural voices (piper)")
    device: Literal["cpu", "cuda"] = Field(default="cpu", description="for piper and Coqui")
    coqui_model: str = Field(
        default="tts_models/en/vctk/vits", description="a Coqui model already in its cache"
    )
    sentence_pause_s: float = Field(
        default=0.12, ge=0, description="silence after each sentence, scaled by the prosody"
    )


class AvatarSettings(BaseModel):
    """The patient's face: which renderer draws it and the video it makes."""

    model_config = ConfigDict(extra="forbid")

    backend: str = Field(default="cpu", description="avatar renderer: cpu or musetalk")
    width: int = Field(default=640, ge=64, le=3840)
    height: int = Field(default=480, ge=64, le=2160)
    fps: int = Field(default=25, ge=5, le=60)
    seed: int = Field(default=0, description="seeds blinks, gaze and head motion")
    musetalk_model: Path | None = Field(
        default=None, description="MuseTalk 1.5 folder (unet, vae, whisper); none: CPU face"
    )
    musetalk_base_video: Path | None = Field(
        default=None, description="folder of <persona-id>.mp4 base videos for MuseTalk"
    )
    device: Literal["cpu", "cuda"] = Field(default="cpu", description="for the neural backend")


PROFILES: dict[str, dict[str, Any]] = {
    "cpu": {
        "llm": {
            "backend": "llama_cpp",
            "model": "qwen2.5-coder-1.5b-instruct-q4km",
            "threads": 2,
            "gpu_layers": 0,
        },
        "asr": {
            "backend": "faster_whisper",
            "model": "whisper-base",
            "device": "cpu",
            "compute_type": "int8",
            "threads": 2,
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
        # Whisper base until a larger faster-whisper model is in the catalogue; any
        # CTranslate2 Whisper folder can be named by path (SIMPATIENT_ASR__MODEL).
        "asr": {
            "backend": "faster_whisper",
            "model": "whisper-base",
            "device": "cuda",
            "compute_type": "float16",
            "threads": 4,
            "beam_size": 5,
            "partial_interval_ms": 300,
        },
        "tts": {
            "engines": ["coqui", "piper", "festival", "flite", "espeak"],
            "device": "cuda",
            "threads": 4,
        },
        # without weights at avatar.musetalk_model the CPU face is drawn instead
        "avatar": {"backend": "musetalk", "device": "cuda"},
    },
}


class CallSettings(BaseModel):
    """The video call's WebRTC transport."""

    model_config = ConfigDict(extra="forbid")

    stun_urls: list[str] = Field(
        default=[], description="e.g. stun:stun.example.org:3478; none: host candidates only"
    )
    turn_urls: list[str] = Field(default=[], description="e.g. turn:turn.example.org:3478")
    turn_username: str | None = None
    turn_password: SecretStr | None = None
    loopback_candidate: bool = Field(
        default=True,
        description="also offer 127.0.0.1, which aioice leaves out: a browser on this machine "
        "then connects without any network (Chromium needs --allow-loopback-in-peer-connection)",
    )
    rejoin_grace_s: float = Field(
        default=60.0, ge=0, description="a dropped call keeps its session this long for a rejoin"
    )
    connect_timeout_s: float = Field(
        default=30.0, gt=0, description="an answered offer that never connects is dropped"
    )
    # `simpatient worker` (LiveKit Agents); the worker itself reads LIVEKIT_URL,
    # LIVEKIT_API_KEY and LIVEKIT_API_SECRET as LiveKit documents them.
    livekit_api_key: str | None = Field(default=None, description="for learners' room tokens")
    livekit_api_secret: SecretStr | None = None
    livekit_scenario: str = Field(
        default="maggie-recurrence-bbn", description="the case when a job names none"
    )


class ServerSettings(BaseModel):
    """The web service (`simpatient serve`)."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    public_url: str | None = Field(
        default=None, description="https://... when behind a TLS proxy: cookies become Secure"
    )
    secret_key: SecretStr | None = Field(
        default=None, description="signs session cookies; default: a key kept in data_dir"
    )
    max_sessions: int = Field(default=2, ge=1, description="live sessions per process")
    max_upload_bytes: int = Field(default=1_000_000, ge=1024)
    web_root: Path = Field(
        default_factory=lambda: Path(__file__).resolve().parents[1] / "web_client",
        description="the browser pages (templates/ and static/)",
    )


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
    asr: ASRSettings
    vad: VADSettings = Field(default_factory=VADSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    call: CallSettings = Field(default_factory=CallSettings)
    tts: TTSSettings = Field(default_factory=TTSSettings)
    avatar: AvatarSettings = Field(default_factory=AvatarSettings)

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
