"""Educators add or replace a persona, scenario or rubric by uploading its YAML. The file
is checked exactly as `simpatient validate` checks it (every problem with its line, column
and field); only a file without errors goes into the library, which is then reloaded."""

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from simpatient.content import Severity, check_paths, load_library
from simpatient.server.auth import Staff, check_csrf
from simpatient.server.pages import page
from simpatient.server.services import Services
from simpatient.store import Account

router = APIRouter()

#: Where each kind of file lives in the library (the folder says what a file is).
FOLDERS = {"persona": "personas", "scenario": "scenarios", "rubric": "evaluation/rubrics"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}\.ya?ml$")


def _page(
    request: Request, account: Account, problems: list[str], saved: str | None, status: int = 200
) -> Response:
    services: Services = request.app.state.services
    cases = sorted(services.library.cases.values(), key=lambda c: c.scenario.title)
    return page(
        request,
        "cases_admin.html",
        status,
        account=account,
        cases=cases,
        kinds=list(FOLDERS),
        problems=problems,
        saved=saved,
    )


@router.get("/admin/cases")
def cases_admin(request: Request, account: Staff) -> Response:
    return _page(request, account, [], None)


@router.post("/admin/cases", dependencies=[Depends(check_csrf)])
async def upload_case(
    request: Request,
    account: Staff,
    kind: Annotated[str, Form()],
    case_file: Annotated[UploadFile, File()],
) -> Response:
    services: Services = request.app.state.services
    name = Path(case_file.filename or "").name
    if kind not in FOLDERS:
        return _page(request, account, [f"unknown kind '{kind}'"], None, 400)
    if not _NAME.match(name):
        problem = f"'{name}': name the file like its id, e.g. my-case.yaml (a-z, 0-9, -)"
        return _page(request, account, [problem], None, 400)
    limit = services.settings.server.max_upload_bytes
    data = await case_file.read(limit + 1)
    if len(data) > limit:
        return _page(request, account, [f"{name} is larger than {limit // 1000} kB"], None, 413)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / FOLDERS[kind] / name
        staged.parent.mkdir(parents=True)
        staged.write_bytes(data)
        checked = check_paths([staged], services.library)
        # shown as the educator knows the file: its name, not our temporary folder
        problems = [str(p).replace(str(staged), name) for p in checked.problems]
        if any(p.severity is Severity.error for p in checked.problems):
            return _page(request, account, problems, None, 400)
        target = services.settings.library / FOLDERS[kind] / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staged, target)
    services.library = load_library(services.settings.library)
    services.worker.library = services.library
    return _page(request, account, problems, name)
