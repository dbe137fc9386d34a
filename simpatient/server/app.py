"""The FastAPI application: middleware, error pages and the routers of each area."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from simpatient.server import call, cases_admin, dashboard, pages, rehearsal
from simpatient.server.auth import SignInRequired, csrf_token
from simpatient.server.services import Services, secret_key

logger = logging.getLogger(__name__)

#: Sign-in lasts a working day; the cookie is signed, HttpOnly and SameSite=Lax.
SESSION_MAX_AGE_S = 12 * 3600


def create_app(services: Services) -> FastAPI:
    settings = services.settings.server

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services.worker.start()
        yield
        services.close()

    app = FastAPI(title="simpatient", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.services = services
    templates = Jinja2Templates(directory=settings.web_root / "templates")
    templates.env.globals["csrf_token"] = csrf_token
    app.state.templates = templates
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret_key(services.settings),
        session_cookie="simpatient_session",
        max_age=SESSION_MAX_AGE_S,
        same_site="lax",
        https_only=bool(settings.public_url and settings.public_url.startswith("https://")),
    )
    app.mount("/static", StaticFiles(directory=settings.web_root / "static"), name="static")
    app.include_router(pages.router)
    app.include_router(rehearsal.router)
    app.include_router(call.router)
    app.include_router(dashboard.router)
    app.include_router(cases_admin.router)

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "sign in first"}, status_code=401)
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/") or request.method != "GET":
            return JSONResponse({"detail": exc.detail}, exc.status_code, headers=exc.headers)
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status": exc.status_code, "detail": exc.detail},
            exc.status_code,
        )

    @app.middleware("http")
    async def _security_headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app
