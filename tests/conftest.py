"""Shared fixtures: the shipped case library, an isolated store, the real embedded LLM."""

from pathlib import Path

import pytest

from simpatient.content import CaseLibrary, load_library
from simpatient.dialogue.llm import LLMBackend
from simpatient.pipeline.session_factory import load_llm
from simpatient.settings import Settings

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own session store; models stay in the real SIMPATIENT_HOME."""
    monkeypatch.setenv("SIMPATIENT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SIMPATIENT_LIBRARY", str(REPO))


@pytest.fixture(scope="session")
def library() -> CaseLibrary:
    return load_library(REPO)


@pytest.fixture(scope="session")
def real_settings() -> Settings:
    """The embedded CPU profile, seeded so a run is repeatable on one machine."""
    return Settings(llm={"seed": 1234})


@pytest.fixture(scope="session")
def embedded_llm(real_settings: Settings) -> LLMBackend:
    """The real embedded LLM (make setup fetches it), loaded once for the whole run."""
    return load_llm(real_settings)
