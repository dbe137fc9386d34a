"""Pages every account uses: sign-in, the case list and brief, sessions and reports."""

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from simpatient.server.auth import CurrentAccount, Staff, check_csrf, session_visible, sign_in
from simpatient.store import Account, AccountStore, Role
from simpatient.store.accounts import AccountError

router = APIRouter()


def page(request: Request, name: str, status_code: int = 200, **context: object) -> Response:
    """A page from web_client/templates (autoescaped: every value is text, never markup)."""
    templates = request.app.state.templates
    return templates.TemplateResponse(request, name, context, status_code)  # type: ignore[no-any-return]


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    if not request.app.state.services.accounts.all():
        return RedirectResponse("/setup", status_code=303)
    return page(request, "login.html", next=next, error=None)


@router.get("/setup")
def setup_page(request: Request) -> Response:
    """First start: the first account, a director, is made here; afterwards, never."""
    if request.app.state.services.accounts.all():
        return RedirectResponse("/login", status_code=303)
    return page(request, "setup.html", error=None)


@router.post("/setup", dependencies=[Depends(check_csrf)])
def setup(
    request: Request,
    username: Annotated[str, Form()],
    display_name: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    accounts: AccountStore = request.app.state.services.accounts
    if accounts.all():
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the first account exists already")
    try:
        account = accounts.create(username.strip(), password, Role.director, display_name)
    except AccountError as e:
        return page(request, "setup.html", 400, error=str(e))
    sign_in(request, account)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/login", dependencies=[Depends(check_csrf)])
def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    account = request.app.state.services.accounts.authenticate(username.strip(), password)
    if account is None:
        return page(request, "login.html", 401, next=next, error="Wrong username or password.")
    sign_in(request, account)
    # only same-site paths: an open redirect would let a link send people elsewhere
    target = next if next.startswith("/") and not urlparse(next).netloc else "/"
    return RedirectResponse(target, status_code=303)


@router.post("/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home(account: CurrentAccount) -> Response:
    return RedirectResponse("/cases" if account.role is Role.learner else "/dashboard", 303)


@router.get("/cases")
def cases(request: Request, account: CurrentAccount) -> Response:
    library = request.app.state.services.library
    cases = sorted(library.cases.values(), key=lambda c: c.scenario.title)
    return page(request, "cases.html", account=account, cases=cases)


@router.get("/cases/{scenario_id}")
def brief(request: Request, scenario_id: str, account: CurrentAccount) -> Response:
    library = request.app.state.services.library
    if scenario_id not in library.cases:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case '{scenario_id}'")
    return page(request, "brief.html", account=account, case=library.case(scenario_id))


@router.get("/sessions")
def my_sessions(request: Request, account: CurrentAccount) -> Response:
    services = request.app.state.services
    records = services.sessions.list(learner_ids=[account.id])
    latest = {r.id: services.evaluations.latest(r.id) for r in records}
    return page(
        request,
        "sessions.html",
        account=account,
        sessions=list(reversed(records)),
        evaluations=latest,
        library=services.library,
    )


@router.get("/sessions/{session_id}")
def sessionpage(request: Request, session_id: str, account: CurrentAccount) -> Response:
    session_visible(request, account, session_id)
    services = request.app.state.services
    record = services.sessions.get(session_id)
    return page(
        request,
        "session.html",
        account=account,
        session=record,
        evaluation=services.evaluations.latest(session_id),
        library=services.library,
    )


@router.get("/api/sessions/{session_id}/evaluation")
def evaluation_status(
    request: Request, session_id: str, account: CurrentAccount
) -> dict[str, object]:
    session_visible(request, account, session_id)
    evaluation = request.app.state.services.evaluations.latest(session_id)
    if evaluation is None:
        return {"status": "none", "progress": 0.0, "stage": "not queued"}
    return {
        "status": evaluation.status,
        "progress": evaluation.progress,
        "stage": evaluation.stage,
        "error": evaluation.error,
    }


@router.get("/reports/{session_id}", response_class=HTMLResponse)
def report(request: Request, session_id: str, account: CurrentAccount) -> Response:
    session_visible(request, account, session_id)
    html = request.app.state.services.evaluations.report_html(session_id)
    if html is None:
        return RedirectResponse(f"/sessions/{session_id}", status_code=303)
    return HTMLResponse(html)


@router.get("/admin/users")
def users_page(request: Request, account: Staff) -> Response:
    return _users(request, account, None, None)


def _users(request: Request, account: Account, error: str | None, added: str | None) -> Response:
    accounts: AccountStore = request.app.state.services.accounts
    return page(
        request,
        "users.html",
        400 if error else 200,
        account=account,
        users=[a for a in accounts.all() if a.id == account.id or _manages(account, a)],
        roles=_roles_for(account),
        error=error,
        added=added,
    )


def _roles_for(account: Account) -> list[Role]:
    """Directors add any account; educators add learners."""
    return list(Role) if account.role is Role.director else [Role.learner]


def _manages(staff: Account, other: Account) -> bool:
    if other.role is Role.learner:
        return staff.sees_cohort(other.cohorts[0] if other.cohorts else None)
    return staff.role is Role.director


@router.post("/admin/users", dependencies=[Depends(check_csrf)])
def add_user(
    request: Request,
    account: Staff,
    username: Annotated[str, Form()],
    display_name: Annotated[str, Form()],
    password: Annotated[str, Form()],
    role: Annotated[Role, Form()],
    cohort: Annotated[str, Form()] = "",
) -> Response:
    accounts: AccountStore = request.app.state.services.accounts
    cohorts = tuple(c.strip() for c in cohort.split(",") if c.strip())
    if role not in _roles_for(account):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "educators add learners only")
    if role is Role.learner and not all(account.sees_cohort(c) for c in cohorts or [None]):
        return _users(request, account, "you can add learners to your own cohorts only", None)
    try:
        added = accounts.create(username.strip(), password, role, display_name, cohorts)
    except AccountError as e:
        return _users(request, account, str(e), None)
    return _users(request, account, None, added.username)
