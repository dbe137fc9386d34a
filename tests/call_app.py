"""The web service with calls, for the call tests (served for real, under uvicorn, by
``simpatient.pipeline.bench_call.serving``): a scripted patient model (the call's pipeline
is what these tests exercise), word-overlap appraisal (no torch model to load), two
learners."""

import re
from pathlib import Path
from typing import Any

import httpx

from simpatient.dialogue.encoders import LexicalEncoder
from simpatient.dialogue.scripted_backend import ScriptedBackend
from simpatient.pipeline.session_factory import Runtime
from simpatient.pipeline.text_rehearsal import TextRehearsal
from simpatient.server.main import build_services
from simpatient.server.services import Services
from simpatient.settings import Settings
from simpatient.store import Role
from simpatient.transport import CallPipeline, EchoPipeline

PASSWORD = "correct horse battery"
SCENARIO = "maggie-recurrence-bbn"


def call_services(
    max_sessions: int = 2, rejoin_grace_s: float = 3.0
) -> tuple[Services, list[EchoPipeline]]:
    """The service, and the list its calls' pipelines are appended to as they start."""
    settings = Settings(
        server={"max_sessions": max_sessions, "secret_key": "test-key-" + "x" * 32},
        call={"rejoin_grace_s": rejoin_grace_s},
        appraisal_encoder="lexical",
    )
    backend = ScriptedBackend(Path("unused"), settings.llm)
    services = build_services(settings, Runtime(settings, backend, LexicalEncoder()))
    services.accounts.create("ana", PASSWORD, Role.learner, "Ana Silva", ("2026a",))
    services.accounts.create("ben", PASSWORD, Role.learner, "Ben Okoro", ("2026a",))
    pipelines: list[EchoPipeline] = []

    def echo(_rehearsal: TextRehearsal) -> CallPipeline:
        pipelines.append(EchoPipeline())
        return pipelines[-1]

    services.call_pipeline = echo
    return services, pipelines


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "every page carries the CSRF token"
    return match.group(1)


async def sign_in(client: httpx.AsyncClient, username: str) -> str:
    """Sign ``username`` in; the CSRF token of the session."""
    login = await client.get("/login")
    response = await client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(login.text)},
    )
    assert response.status_code == 303, response.text
    return csrf_of((await client.get("/cases")).text)


async def start_call(client: httpx.AsyncClient, csrf: str) -> httpx.Response:
    return await client.post("/calls", data={"scenario_id": SCENARIO, "csrf_token": csrf})


def client_for(base_url: str, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=30, **kwargs)
