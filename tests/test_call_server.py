"""Calls through the real web service: uvicorn on a free local port, signalling over HTTP
with sign-in and CSRF, an aiortc peer standing in for the browser, the EchoPipeline on the
server. Covers the session lifecycle (rejoin, abandonment, hanging up) and bad input."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aioice.ice
import httpx
import pytest
from call_app import call_services, client_for, sign_in, start_call
from speech_data import clip
from webrtc_client import Client, audio_levels, eventually, loud_span, new_client

from simpatient.pipeline.bench_call import serving
from simpatient.server.services import Services
from simpatient.transport import EchoPipeline

Scenario = Callable[[httpx.AsyncClient, str], Awaitable[None]]


@pytest.fixture
def app() -> Iterator[tuple[Services, list[EchoPipeline], str]]:
    services, pipelines = call_services(max_sessions=1, rejoin_grace_s=3.0)
    with serving(services) as url:
        yield services, pipelines, url


def run(url: str, scenario: Scenario, user: str = "ana") -> None:
    async def main() -> None:
        async with client_for(url) as http:
            await scenario(http, await sign_in(http, user))

    asyncio.run(asyncio.wait_for(main(), timeout=60))


async def call_id(http: httpx.AsyncClient, csrf: str) -> str:
    started = await start_call(http, csrf)
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    assert location.startswith("/calls/")
    return location.rsplit("/", 1)[1]


async def join(http: httpx.AsyncClient, csrf: str, session_id: str) -> Client:
    client = new_client()
    offer = await client.offer()
    response = await http.post(
        f"/api/calls/{session_id}/offer",
        json={"sdp": offer.sdp, "type": offer.type},
        headers={"X-CSRF-Token": csrf},
    )
    assert response.status_code == 200, response.text
    await client.answered(response.json()["sdp"], response.json()["type"])
    await eventually(lambda: client.pc.connectionState == "connected", what="connected")
    return client


def test_a_call_echoes_survives_a_rejoin_and_ends_when_abandoned(
    app: tuple[Services, list[EchoPipeline], str],
) -> None:
    services, pipelines, url = app

    async def scenario(http: httpx.AsyncClient, csrf: str) -> None:
        session_id = await call_id(http, csrf)
        page = await http.get(f"/calls/{session_id}")
        assert page.status_code == 200
        assert 'id="captions"' in page.text
        assert f'href="/rehearsals/{session_id}"' in page.text, "the text fallback"

        first = await join(http, csrf, session_id)
        caption = await first.wait_for_event("caption_patient")
        assert "Echo test" in caption["text"]
        listening = asyncio.ensure_future(audio_levels(first.tracks["audio"], 6.0))
        first.mic.push(clip("goforward"))  # 2.8 s of speech, then silence
        latency = await first.wait_for_event("latency", timeout=8)
        loud_span(await listening)  # the learner's words came back
        assert 0 < latency["voice_to_voice_s"] < 1.5
        echo = pipelines[0]
        assert echo.heard[0].duration > 2.0, "the server heard the whole utterance"

        await first.pc.close()  # the connection drops
        live = services.live.get(session_id)
        assert live is not None
        assert live.call is not None
        await eventually(lambda: live.call is not None and live.call.peer is None, what="drop")
        second = await join(http, csrf, session_id)  # within the grace period
        assert live.call.connections == 2
        assert echo.runs == 2
        assert await second.wait_for_event("listening")
        assert services.live.get(session_id) is live, "the same session, rejoined"

        await second.pc.close()  # and now the learner is gone for good
        await eventually(lambda: services.live.get(session_id) is None, timeout=10)
        record = services.sessions.get(session_id)
        assert record.status == "ended"
        assert record.end_reason == "connection lost"
        assert [t.speaker for t in record.turns] == ["patient"], "the opening line is kept"
        gone = await http.post(
            f"/api/calls/{session_id}/offer", json={}, headers={"X-CSRF-Token": csrf}
        )
        assert gone.status_code == 404

    run(url, scenario)


def test_a_client_that_vanishes_is_noticed_and_its_session_ended(
    app: tuple[Services, list[EchoPipeline], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No goodbye (a closed laptop, a lost network): ICE consent checks (RFC 7675) notice;
    aioice's 6 checks 5 s apart are shortened so the test takes seconds, not 30."""
    services, pipelines, url = app
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.2)
    monkeypatch.setattr(aioice.ice, "CONSENT_FAILURES", 3)

    async def scenario(http: httpx.AsyncClient, csrf: str) -> None:
        session_id = await call_id(http, csrf)
        client = await join(http, csrf, session_id)
        await client.wait_for_event("listening")
        for transceiver in client.pc.getTransceivers():  # its sockets go silent at once
            for protocol in transceiver.receiver.transport.transport._connection._protocols:
                protocol.transport.close()
        await eventually(lambda: services.live.get(session_id) is None, timeout=20, what="ended")
        assert pipelines[0].closed
        record = services.sessions.get(session_id)
        assert record.end_reason == "connection lost"
        assert record.turns, "the saved turns stay"

    run(url, scenario)


def test_a_call_never_joined_ends_unless_the_learner_goes_on_in_text(
    app: tuple[Services, list[EchoPipeline], str],
) -> None:
    services, pipelines, url = app

    async def scenario(http: httpx.AsyncClient, csrf: str) -> None:
        never = await call_id(http, csrf)  # the page never connects (closed at once)
        await eventually(lambda: services.live.get(never) is None, timeout=10, what="ended")
        assert services.sessions.get(never).end_reason == "connection lost"
        assert pipelines[0].closed

        in_text = await call_id(http, csrf)  # no microphone: "continue in text"
        assert (await http.get(f"/rehearsals/{in_text}")).status_code == 200
        assert pipelines[1].closed
        await asyncio.sleep(3.5)  # past the grace period: a text session has no timer
        assert services.live.get(in_text) is not None
        assert (await http.get(f"/calls/{in_text}")).status_code == 404

    run(url, scenario)


def test_hanging_up_ends_the_session(app: tuple[Services, list[EchoPipeline], str]) -> None:
    services, pipelines, url = app

    async def scenario(http: httpx.AsyncClient, csrf: str) -> None:
        session_id = await call_id(http, csrf)
        client = await join(http, csrf, session_id)
        ended = await http.post(f"/calls/{session_id}/end", data={"csrf_token": csrf})
        assert ended.status_code == 303
        assert ended.headers["location"] == f"/sessions/{session_id}"
        assert services.sessions.get(session_id).end_reason == "ended by the learner"
        assert services.live.get(session_id) is None
        await eventually(lambda: client.pc.connectionState in ("closed", "failed"), what="hung up")
        assert (await http.get(f"/calls/{session_id}")).status_code == 404
        assert (await start_call(http, csrf)).status_code == 303, "the slot is free again"
        assert len(pipelines) == 2

    run(url, scenario)


BAD_OFFERS: list[tuple[dict[str, Any], str]] = [
    ({"content": b"{not json"}, "not JSON"),
    ({"json": ["v=0"]}, "expected"),
    ({"json": {"type": "offer"}}, "not SDP"),
    ({"json": {"sdp": "v=0\r\nnonsense", "type": "answer"}}, "expected an SDP offer"),
    (
        {"json": {"sdp": "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", "type": "offer"}},
        "no microphone",
    ),
]


def test_bad_signalling_gets_a_clear_answer(app: tuple[Services, list[EchoPipeline], str]) -> None:
    services, _pipelines, url = app

    async def scenario(http: httpx.AsyncClient, csrf: str) -> None:
        session_id = await call_id(http, csrf)
        endpoint = f"/api/calls/{session_id}/offer"
        headers = {"X-CSRF-Token": csrf, "Content-Type": "application/json"}
        for body, message in BAD_OFFERS:
            response = await http.post(endpoint, headers=headers, **body)
            assert response.status_code == 400, (body, response.text)
            assert message in response.json()["detail"]
        form = await http.post(endpoint, data={"csrf_token": csrf, "sdp": "v=0"})
        assert form.status_code == 400
        assert "application/json" in form.json()["detail"]
        huge = await http.post(endpoint, headers=headers, content=b"x" * 200_000)
        assert huge.status_code == 413
        no_csrf = await http.post(endpoint, json={"sdp": "v=0", "type": "offer"})
        assert no_csrf.status_code == 403
        assert (
            await http.post("/api/calls/nope/offer", json={}, headers=headers)
        ).status_code == 404
        assert (await http.get("/calls/nope")).status_code == 404
        busy = await start_call(http, csrf)  # one slot, taken by this call
        assert busy.status_code == 503
        assert "All patients are busy" in busy.text
        # the call is still usable after all of that
        client = await join(http, csrf, session_id)
        await client.wait_for_event("caption_patient")
        await client.pc.close()
        assert services.live.get(session_id) is not None

    run(url, scenario)


def test_another_learners_call_is_not_found(app: tuple[Services, list[EchoPipeline], str]) -> None:
    _services, _pipelines, url = app
    session_ids: list[str] = []

    async def ana(http: httpx.AsyncClient, csrf: str) -> None:
        session_ids.append(await call_id(http, csrf))

    async def ben(http: httpx.AsyncClient, csrf: str) -> None:
        session_id = session_ids[0]
        assert (await http.get(f"/calls/{session_id}")).status_code == 404
        offer = await http.post(
            f"/api/calls/{session_id}/offer", json={}, headers={"X-CSRF-Token": csrf}
        )
        assert offer.status_code == 404
        end = await http.post(f"/calls/{session_id}/end", data={"csrf_token": csrf})
        assert end.status_code == 404

    run(url, ana)
    run(url, ben, user="ben")


def test_shutting_down_hangs_up_and_saves_the_session() -> None:
    services, pipelines = call_services()
    server = contextlib.ExitStack()
    url = server.enter_context(serving(services))

    async def scenario(http: httpx.AsyncClient, csrf: str) -> None:
        session_id = await call_id(http, csrf)
        client = await join(http, csrf, session_id)
        await client.wait_for_event("listening")
        await asyncio.to_thread(server.close)  # uvicorn stops with the call connected
        await eventually(lambda: client.pc.connectionState == "closed", what="hung up")
        assert pipelines[0].closed
        record = services.sessions.get(session_id)
        assert record.status == "ended"
        assert record.end_reason == "server shut down"

    run(url, scenario)
