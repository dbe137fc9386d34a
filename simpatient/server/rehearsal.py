"""Text rehearsals in the browser: start one, talk turn by turn (the reply streams in as
the patient model writes it), end it and queue its evaluation. The call adds voice and
video around the same session; text stays for a learner without a microphone."""

import asyncio
import logging
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from simpatient.pipeline.session_factory import open_text_rehearsal
from simpatient.server.auth import CurrentAccount, check_csrf
from simpatient.server.pages import page
from simpatient.server.services import Busy, LiveRehearsal, Services
from simpatient.store import Account

logger = logging.getLogger(__name__)
router = APIRouter()

#: A case's time limit is in minutes (a test shortens the minute).
SECONDS_PER_MINUTE = 60.0
#: Longest learner turn accepted, in characters (about two spoken minutes).
MAX_TURN_CHARS = 2000


class LearnerTurn(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TURN_CHARS)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _live(request: Request, session_id: str, account_id: int) -> LiveRehearsal:
    live = _services(request).live.get(session_id)
    if live is None or live.learner_id != account_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no live rehearsal with that id")
    return live


async def open_session(
    request: Request, account: Account, scenario_id: str, mode: str = "text"
) -> LiveRehearsal | Response:
    """Start a session of ``scenario_id`` for ``account`` (a text rehearsal, or the
    conversation of a call) and register it as live; the busy page when every slot is
    taken."""
    services = _services(request)
    if scenario_id not in services.library.cases:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case '{scenario_id}'")
    try:
        services.live.reserve()
    except Busy:
        return page(request, "busy.html", 503, account=account)
    try:
        # the persona prompt is evaluated here (seconds on a CPU), off the event loop
        rehearsal = await run_in_threadpool(
            open_text_rehearsal,
            services.runtime,
            services.library.case(scenario_id),
            services.sessions,
            account.id,
        )
        rehearsal.mode = mode
        await run_in_threadpool(rehearsal.start)
    except BaseException:
        services.live.release_reservation()
        raise
    assert rehearsal.session_id is not None
    live = LiveRehearsal(rehearsal, account.id)
    services.live.add(rehearsal.session_id, live)
    logger.info("%s started %s (%s, %s)", account.username, scenario_id, mode, rehearsal.session_id)
    _end_at_time_limit(services, rehearsal.session_id, live)
    return live


def _end_at_time_limit(services: Services, session_id: str, live: LiveRehearsal) -> None:
    """The case's time limit ends the session (a no-op if it has ended already)."""
    limit_s = live.rehearsal.conversation.case.scenario.time_limit_minutes * SECONDS_PER_MINUTE
    tasks: set[asyncio.Task[None]] = set()

    def expire() -> None:
        task = asyncio.ensure_future(end_session(services, session_id, live, "time limit reached"))
        tasks.add(task)  # kept until done: the loop holds tasks only weakly
        task.add_done_callback(tasks.discard)

    asyncio.get_running_loop().call_later(limit_s, expire)


async def end_session(
    services: Services, session_id: str, live: LiveRehearsal, reason: str
) -> None:
    """End a live session: not in the middle of a reply; its evaluation is queued.
    Finishes even when the request that asked for it is cancelled (the browser left)."""

    def end() -> bool:
        with live.lock:
            if services.live.get(session_id) is not live:
                return False  # ended already: the learner and the rejoin timer at once
            live.rehearsal.end(reason)  # saved before it stops being live
            services.live.pop(session_id)
            return True

    async def ending() -> None:
        if live.call is not None:  # hang up first: nothing more reaches the conversation
            await live.call.close()
        if await run_in_threadpool(end):
            services.worker.submit(session_id)

    await asyncio.shield(asyncio.ensure_future(ending()))


@router.post("/rehearsals", dependencies=[Depends(check_csrf)])
async def start(
    request: Request, account: CurrentAccount, scenario_id: Annotated[str, Form()]
) -> Response:
    opened = await open_session(request, account, scenario_id)
    if isinstance(opened, Response):
        return opened
    return RedirectResponse(f"/rehearsals/{opened.rehearsal.session_id}", status_code=303)


@router.get("/rehearsals/{session_id}")
async def rehearsal_page(request: Request, session_id: str, account: CurrentAccount) -> Response:
    live = _live(request, session_id, account.id)
    if live.call is not None and live.call.peer is None:
        # the learner of a call without a connection (no microphone) goes on in text: the
        # call's pipeline and its timer for a rejoin go; the conversation stays
        await live.call.close()
        live.call = None
    record = _services(request).sessions.get(session_id)
    return page(
        request,
        "rehearsal.html",
        account=account,
        case=live.rehearsal.conversation.case,
        session=record,
    )


@router.post("/api/rehearsals/{session_id}/turns", dependencies=[Depends(check_csrf)])
def turn(request: Request, session_id: str, body: LearnerTurn, account: CurrentAccount) -> Response:
    live = _live(request, session_id, account.id)
    if not live.lock.acquire(blocking=False):
        raise HTTPException(status.HTTP_409_CONFLICT, "the patient is still answering")

    def chunks() -> Iterator[str]:
        # Starlette iterates a sync generator in its thread pool, so the model never runs
        # on the event loop; the learner's turn is saved before the first chunk.
        try:
            for chunk in live.rehearsal.turn(body.text.strip()):
                yield chunk + " "
        finally:
            live.lock.release()

    return StreamingResponse(chunks(), media_type="text/plain; charset=utf-8")


@router.post("/rehearsals/{session_id}/end", dependencies=[Depends(check_csrf)])
async def end(request: Request, session_id: str, account: CurrentAccount) -> Response:
    live = _live(request, session_id, account.id)
    await end_session(_services(request), session_id, live, "ended by the learner")
    return RedirectResponse(f"/sessions/{session_id}", status_code=303)
