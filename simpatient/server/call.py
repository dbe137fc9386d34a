"""The video call: start one from a case's brief, the call page, WebRTC signalling (one
offer, one answer, non-trickle), the rejoin grace period and hanging up.

A call is a session like a text rehearsal (the same conversation, store and end) with a
:class:`~simpatient.transport.CallPipeline` talking through the learner's current
:class:`~simpatient.transport.CallPeer`. A dropped connection keeps the session for
``call.rejoin_grace_s``; a new offer for the same session within it re-attaches."""

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request, status
from fastapi.responses import RedirectResponse, Response

from simpatient.server.auth import CurrentAccount, check_csrf
from simpatient.server.pages import page
from simpatient.server.rehearsal import end_session, open_session
from simpatient.server.services import LiveRehearsal, Services
from simpatient.settings import CallSettings
from simpatient.transport import CallPeer, CallPipeline, SignallingError
from simpatient.transport.peer import MAX_SDP_CHARS, ice_servers

logger = logging.getLogger(__name__)

#: An offer is JSON around the SDP text; more than this is not one.
MAX_OFFER_BYTES = MAX_SDP_CHARS + 1000


class LiveCall:
    """What a call keeps across connections: its pipeline, the connected peer (if any) and
    the timer that ends the session when no one rejoins."""

    def __init__(
        self,
        session_id: str,
        pipeline: CallPipeline,
        settings: CallSettings,
        on_abandoned: Callable[[], Awaitable[None]],
    ) -> None:
        self.session_id = session_id
        self.pipeline = pipeline
        self.settings = settings
        self.peer: CallPeer | None = None
        self.connections = 0
        """Peers attached so far (more than one after a rejoin)."""
        self._on_abandoned = on_abandoned
        self._serving: asyncio.Task[None] | None = None
        self._grace: asyncio.Task[None] | None = None
        self._closed = False

    async def attach(self, peer: CallPeer) -> None:
        """Make ``peer`` the call's connection, replacing (and closing) any earlier one."""
        if self._closed:
            await peer.close()
            raise HTTPException(status.HTTP_404_NOT_FOUND, "the call has ended")
        self._cancel_grace()
        await self._detach()
        self.peer = peer
        self.connections += 1
        self._serving = asyncio.create_task(self._serve(peer))

    async def _serve(self, peer: CallPeer) -> None:
        """Run the pipeline on ``peer`` until the connection is over or the pipeline
        returns; then wait for a rejoin."""
        running = asyncio.create_task(self.pipeline.run(peer))
        watching = asyncio.create_task(self._watch(peer))
        try:
            await asyncio.wait({running, watching}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (running, watching):
                task.cancel()
            outcome, _ = await asyncio.gather(running, watching, return_exceptions=True)
        if isinstance(outcome, Exception):
            logger.error("call %s: the pipeline failed", self.session_id, exc_info=outcome)
        await peer.close()
        if self.peer is peer:  # not replaced by a rejoin meanwhile
            self.peer = None
            logger.info("call %s: connection %s", self.session_id, peer.state)
            self.expect_connection()

    async def _watch(self, peer: CallPeer) -> None:
        """Return when the connection is over, or never came up in time."""
        try:
            setup_s = await peer.wait_connected(self.settings.connect_timeout_s)
        except (TimeoutError, ConnectionError) as e:
            logger.warning("call %s: the connection never came up (%r)", self.session_id, e)
            return
        logger.info("call %s: connected in %.2f s", self.session_id, setup_s)
        await peer.wait_ended()

    def expect_connection(self) -> None:
        """Wait for the learner's browser to (re)connect; without a connection for
        ``rejoin_grace_s``, the session ends."""
        self._cancel_grace()
        logger.info(
            "call %s: waiting %.0f s for a connection",
            self.session_id,
            self.settings.rejoin_grace_s,
        )
        self._grace = asyncio.create_task(self._expire())

    async def _expire(self) -> None:
        await asyncio.sleep(self.settings.rejoin_grace_s)
        logger.info("call %s: no rejoin; ending the session", self.session_id)
        self._grace = None  # the end below closes the call, which must not cancel this task
        await self._on_abandoned()

    def _cancel_grace(self) -> None:
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None

    async def _detach(self) -> None:
        serving, peer = self._serving, self.peer
        self._serving, self.peer = None, None
        if serving is not None:
            serving.cancel()
            await asyncio.gather(serving, return_exceptions=True)
        if peer is not None:
            await peer.close()

    async def close(self) -> None:
        """Hang up for good and close the pipeline (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._cancel_grace()
        await self._detach()
        await self.pipeline.close()


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _call(request: Request, session_id: str, account_id: int) -> tuple[LiveRehearsal, LiveCall]:
    live = _services(request).live.get(session_id)
    if live is None or live.learner_id != account_id or live.call is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no live call with that id")
    return live, live.call


@contextlib.asynccontextmanager
async def _hang_up_on_shutdown(app: FastAPI) -> AsyncIterator[None]:
    yield
    services: Services = app.state.services
    for session_id in services.live.all():
        live = services.live.get(session_id)
        if live is not None and live.call is not None:
            await live.call.close()  # the session itself is ended by Services.close()


router = APIRouter(lifespan=_hang_up_on_shutdown)


@router.post("/calls", dependencies=[Depends(check_csrf)])
async def start(
    request: Request, account: CurrentAccount, scenario_id: Annotated[str, Form()]
) -> Response:
    services = _services(request)
    opened = await open_session(request, account, scenario_id, mode="call")
    if isinstance(opened, Response):
        return opened
    live, session_id = opened, opened.rehearsal.session_id
    assert session_id is not None

    async def abandoned() -> None:
        await end_session(services, session_id, live, "connection lost")

    try:
        pipeline = services.call_pipeline(live.rehearsal)
    except BaseException:
        await end_session(services, session_id, live, "the call could not start")
        raise
    live.call = LiveCall(session_id, pipeline, services.settings.call, abandoned)
    live.call.expect_connection()  # a page that never connects must not hold the slot
    return RedirectResponse(f"/calls/{session_id}", status_code=303)


@router.get("/calls/{session_id}")
def call_page(request: Request, session_id: str, account: CurrentAccount) -> Response:
    live, _call_state = _call(request, session_id, account.id)
    servers = []  # as RTCPeerConnection takes them; TURN credentials only where set
    for server in ice_servers(_services(request).settings.call):
        entry = {"urls": server.urls, "username": server.username, "credential": server.credential}
        servers.append({key: value for key, value in entry.items() if value is not None})
    return page(
        request,
        "call.html",
        account=account,
        case=live.rehearsal.conversation.case,
        session_id=session_id,
        ice_servers=servers,
    )


@router.post("/api/calls/{session_id}/offer", dependencies=[Depends(check_csrf)])
async def offer(request: Request, session_id: str, account: CurrentAccount) -> dict[str, str]:
    """The browser's SDP offer in, the server's answer out: ``{"sdp": ..., "type": ...}``."""
    _live, call = _call(request, session_id, account.id)
    body = await _offer_body(request)
    peer = CallPeer(call.settings, fps=_services(request).settings.avatar.fps)
    try:
        answer = await peer.accept(body.get("sdp"), body.get("type"))
    except SignallingError as e:
        await peer.close()
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(e)) from None
    await call.attach(peer)
    logger.info("call %s: connection %d answered", session_id, call.connections)
    return {"sdp": answer.sdp, "type": answer.type}


async def _offer_body(request: Request) -> dict[str, Any]:
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "send the offer as application/json")
    raw = bytearray()
    async for part in request.stream():  # read no further than an offer can be
        raw += part
        if len(raw) > MAX_OFFER_BYTES:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "the offer is too large")
    try:
        body = json.loads(raw)
    except ValueError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the offer is not JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, 'expected {"sdp": ..., "type": "offer"}')
    return body


@router.post("/calls/{session_id}/end", dependencies=[Depends(check_csrf)])
async def end(request: Request, session_id: str, account: CurrentAccount) -> Response:
    live, _call_state = _call(request, session_id, account.id)
    await end_session(_services(request), session_id, live, "ended by the learner")
    return RedirectResponse(f"/sessions/{session_id}", status_code=303)
