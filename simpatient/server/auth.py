"""Who is asking: signed session cookies, CSRF tokens, and the role checks of each page.

The cookie (Starlette's SessionMiddleware, signed with itsdangerous) holds the account id
and a CSRF token. Every state-changing request must echo the token, as a form field or an
``X-CSRF-Token`` header: a page of another site can make the browser send our cookie but
cannot read the token."""

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from simpatient.store import Account, AccountStore, Role

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class SignInRequired(Exception):
    """Raised by the dependencies below; the app answers 401 for the API, a redirect to
    the sign-in page for pages."""


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = request.session.get("csrf")
    if not sent or not isinstance(expected, str) or not secrets.compare_digest(sent, expected):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token; reload")


def sign_in(request: Request, account: Account) -> None:
    request.session.clear()  # a new session id on sign-in: no session fixation
    request.session["uid"] = account.id
    csrf_token(request)


def current_account(request: Request) -> Account:
    uid = request.session.get("uid")
    accounts: AccountStore = request.app.state.services.accounts
    account = accounts.get(uid) if isinstance(uid, int) else None
    if account is None:
        raise SignInRequired
    return account


CurrentAccount = Annotated[Account, Depends(current_account)]


def staff(account: CurrentAccount) -> Account:
    """Educators and directors."""
    if account.role is Role.learner:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "for educators and directors")
    return account


Staff = Annotated[Account, Depends(staff)]


def session_visible(request: Request, account: Account, session_id: str) -> None:
    """404 unless ``account`` may see the session: its learner, or staff of the learner's
    cohort. (404 rather than 403: a session's existence is not for others to learn.)"""
    services = request.app.state.services
    try:
        record = services.sessions.get(session_id)
    except LookupError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such session") from None
    if record.learner_id == account.id:
        return
    learner = services.accounts.get(record.learner_id) if record.learner_id else None
    cohort = learner.cohorts[0] if learner and learner.cohorts else None
    if account.role is Role.learner or learner is None or not account.sees_cohort(cohort):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such session")
