"""The web service end to end in-process (FastAPI's TestClient, the real stores, tier-1
evaluator with the real MiniLM encoder, the background worker thread); the patient model is
the scripted backend, since what is tested here is the service around it."""

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from simpatient.dialogue.encoders import MiniLMEncoder
from simpatient.dialogue.scripted_backend import ScriptedBackend
from simpatient.pipeline.session_factory import Runtime
from simpatient.server.app import create_app
from simpatient.server.main import build_services
from simpatient.server.services import Services
from simpatient.settings import Settings
from simpatient.store import Role

PASSWORD = "correct horse battery"
SCENARIO = "maggie-recurrence-bbn"
GOOD_TURNS = [
    "Hello Mrs O'Connell, I'm Dr Lee. Is it all right if we talk about your scan results today?",
    "Before I go through them, what is your understanding of why we did the scan?",
    "How much detail would you like me to go into today?",
    "I'm afraid I have some difficult news. The scan shows the cancer has come back in the liver.",
    "I can see this is a real shock. Take your time. What is going through your mind?",
]


@pytest.fixture
def services(minilm: MiniLMEncoder, tmp_path: Path) -> Iterator[Services]:
    settings = Settings(server={"max_sessions": 1, "secret_key": "test-key-" + "x" * 32})
    backend = ScriptedBackend(Path("unused"), settings.llm)
    services = build_services(settings, Runtime(settings, backend, minilm))
    services.worker.poll_s = 0.1
    accounts = services.accounts
    accounts.create("ana", PASSWORD, Role.learner, "Ana Silva", ("2026a",))
    accounts.create("ben", PASSWORD, Role.learner, "Ben <b>Okoro</b>", ("2026b",))
    accounts.create("dir", PASSWORD, Role.director, "Dr Director", ("2026a",))
    accounts.create("prog", PASSWORD, Role.director, "Program Director")
    return services


@pytest.fixture
def app(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as client:
        yield client


def _csrf(client: TestClient, path: str = "/login") -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).text)
    assert match, "every page carries the CSRF token"
    return match.group(1)


def _login(client: TestClient, username: str) -> str:
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": _csrf(client)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return _csrf(client, "/cases")


def _rehearse(client: TestClient, services: Services, turns: list[str]) -> str:
    csrf = _login(client, "ana")
    backend = services.runtime.llm
    assert isinstance(backend, ScriptedBackend)
    backend.replies = [f"Patient reply number {i}." for i in range(len(turns))]
    started = client.post(
        "/rehearsals", data={"scenario_id": SCENARIO, "csrf_token": csrf}, follow_redirects=False
    )
    assert started.status_code == 303, started.text
    session_id = started.headers["location"].rsplit("/", 1)[1]
    for text in turns:
        reply = client.post(
            f"/api/rehearsals/{session_id}/turns",
            json={"text": text},
            headers={"X-CSRF-Token": csrf},
        )
        assert reply.status_code == 200
        assert reply.text.startswith("Patient reply number")
    ended = client.post(
        f"/rehearsals/{session_id}/end", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert ended.headers["location"] == f"/sessions/{session_id}"
    return session_id


def _wait_for_report(client: TestClient, session_id: str) -> dict[str, object]:
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = client.get(f"/api/sessions/{session_id}/evaluation").json()
        seen.append(status["status"])
        if status["status"] in ("done", "failed"):
            return status
        time.sleep(0.1)
    raise AssertionError(f"no report within 60 s; statuses seen: {seen}")


def test_pages_need_sign_in_and_a_csrf_token(app: TestClient) -> None:
    assert app.get("/cases", follow_redirects=False).headers["location"] == "/login?next=/cases"
    assert app.get("/api/sessions/x/evaluation").status_code == 401
    no_token = app.post("/login", data={"username": "ana", "password": PASSWORD})
    assert no_token.status_code == 403
    wrong = app.post(
        "/login", data={"username": "ana", "password": "wrong password", "csrf_token": _csrf(app)}
    )
    assert wrong.status_code == 401
    assert "Wrong username or password" in wrong.text
    cookie = app.cookies.get("simpatient_session")
    _login(app, "ana")
    assert app.cookies.get("simpatient_session") != cookie, "a new session on sign-in"


def test_sign_in_redirects_only_within_the_site(app: TestClient) -> None:
    response = app.post(
        "/login",
        data={
            "username": "ana",
            "password": PASSWORD,
            "csrf_token": _csrf(app),
            "next": "//evil.example/x",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_a_rehearsal_gets_a_report_in_the_background(app: TestClient, services: Services) -> None:
    session_id = _rehearse(app, services, GOOD_TURNS)
    page = app.get(f"/sessions/{session_id}")
    assert "Feedback" in page.text
    assert _wait_for_report(app, session_id)["status"] == "done"
    record = services.sessions.get(session_id)
    assert [t.speaker for t in record.turns[:3]] == ["patient", "learner", "patient"]
    report = app.get(f"/reports/{session_id}")
    assert report.status_code == 200
    assert "The patient&#39;s view" in report.text or "The patient's view" in report.text
    result = services.evaluations.latest(session_id)
    assert result is not None
    assert result.result["items"]
    texts = {t.index: t.text.lower() for t in record.turns}
    quotes = [(e["turn"], e["quote"]) for i in result.result["items"] for e in i["evidence"]]
    assert quotes, "tier 1 found evidence in a conversation that shows the behaviours"
    for turn, quote in quotes:
        assert " ".join(quote.lower().split()) in " ".join(texts[turn].split())
    assert result.result["patient_view"]["answers"]


def test_hostile_text_is_escaped_in_the_report(app: TestClient, services: Services) -> None:
    session_id = _rehearse(
        app, services, ['<script>alert("x")</script> How are you?', "What do you understand?"]
    )
    _wait_for_report(app, session_id)
    report = app.get(f"/reports/{session_id}").text
    assert "<script>alert" not in report
    assert "&lt;script&gt;alert" in report


def test_empty_and_one_turn_sessions_say_so(app: TestClient, services: Services) -> None:
    one = _rehearse(app, services, ["Hello."])
    none = _rehearse(app, services, [])
    assert _wait_for_report(app, one)["status"] == "done"
    assert "rest on a single turn" in app.get(f"/reports/{one}").text
    assert _wait_for_report(app, none)["status"] == "done"
    assert "too short to score" in app.get(f"/reports/{none}").text


def test_who_sees_what(app: TestClient, services: Services) -> None:
    session_id = _rehearse(app, services, GOOD_TURNS[:2])
    _wait_for_report(app, session_id)
    app.cookies.clear()
    _login(app, "ben")  # another learner
    assert app.get(f"/reports/{session_id}").status_code == 404
    assert app.get(f"/api/sessions/{session_id}/evaluation").status_code == 404
    assert app.get("/dashboard").status_code == 403
    app.cookies.clear()
    _login(app, "dir")  # director of ana's cohort
    assert app.get(f"/reports/{session_id}").status_code == 200
    services.accounts.create("other", PASSWORD, Role.director, cohorts=("2026b",))
    app.cookies.clear()
    _login(app, "other")  # director of another cohort
    assert app.get(f"/reports/{session_id}").status_code == 404
    board = app.get("/dashboard").text
    assert f"/reports/{session_id}" not in board
    assert "Ana Silva" not in board


def test_dashboard_filters_and_csv_export(app: TestClient, services: Services) -> None:
    session_id = _rehearse(app, services, GOOD_TURNS)
    _wait_for_report(app, session_id)
    app.cookies.clear()
    _login(app, "prog")
    board = app.get("/dashboard")
    assert board.status_code == 200
    link = f"/reports/{session_id}"
    assert link in board.text
    assert "Score distribution" in board.text
    assert "n=1" in board.text  # one evaluated session in each item's bar
    assert link not in app.get("/dashboard?cohort=2026b").text
    assert link not in app.get("/dashboard?since=2999-01-01").text
    assert link in app.get(f"/dashboard?learner=ana&scenario={SCENARIO}").text
    export = app.get("/dashboard/export.csv?cohort=2026a")
    assert export.headers["content-type"].startswith("text/csv")
    lines = export.text.splitlines()
    assert lines[0].startswith("session_id,learner,cohort,scenario,date,rubric,item")
    rubric_items = sum(len(r.items) for r in services.library.case(SCENARIO).rubrics)
    assert len(lines) == 1 + rubric_items
    assert all(line.startswith(f"{session_id},ana,2026a,{SCENARIO}") for line in lines[1:])


def test_calibration_upload_and_agreement(app: TestClient, services: Services) -> None:
    session_id = _rehearse(app, services, GOOD_TURNS)
    _wait_for_report(app, session_id)
    app.cookies.clear()
    csrf = _login(app, "dir")
    result = services.evaluations.latest(session_id)
    assert result is not None
    scored = [i for i in result.result["items"] if i["score"] is not None]
    rows = ["session_id,rubric,item,score,rater"]
    rows += [f"{session_id},{i['rubric']},{i['item']},{i['score']},dr-a" for i in scored]
    upload = app.post(
        "/calibration",
        data={"csrf_token": csrf},
        files={"ratings": ("faculty.csv", "\n".join(rows).encode(), "text/csv")},
    )
    assert upload.status_code == 200, upload.text
    assert f"Stored {len(scored)} rating(s)" in upload.text
    assert "All items" in upload.text
    assert "1.00" in upload.text

    bad = "session_id,rubric,item,score\n" + f"{session_id},spikes-bbn,no-such-item,7\n"
    rejected = app.post(
        "/calibration",
        data={"csrf_token": csrf},
        files={"ratings": ("bad.csv", bad.encode(), "text/csv")},
    )
    assert rejected.status_code == 400
    assert "line 2" in rejected.text

    huge = b"session_id,rubric,item,score\n" + b"x" * 2_000_000
    too_big = app.post(
        "/calibration", data={"csrf_token": csrf}, files={"ratings": ("big.csv", huge, "text/csv")}
    )
    assert too_big.status_code == 400
    assert "larger than" in too_big.text


def test_a_full_server_says_busy(app: TestClient, services: Services) -> None:
    csrf = _login(app, "ana")
    first = app.post(
        "/rehearsals", data={"scenario_id": SCENARIO, "csrf_token": csrf}, follow_redirects=False
    )
    assert first.status_code == 303
    second = app.post("/rehearsals", data={"scenario_id": SCENARIO, "csrf_token": csrf})
    assert second.status_code == 503
    assert "busy" in second.text


def test_the_worker_survives_a_failed_evaluation_and_requeues_after_restart(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from simpatient.evaluator import queue

    store = services.sessions
    first, second = (store.start_session(SCENARIO, "margaret-oconnell", "text") for _ in "12")
    real = queue.evaluate
    calls = []

    def fails_once(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the encoder ran out of memory")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(queue, "evaluate", fails_once)
    services.evaluations.enqueue(first)
    services.evaluations.enqueue(second)
    assert services.worker.run_once()
    failed = services.evaluations.latest(first)
    assert failed is not None
    assert failed.status == "failed"
    assert failed.error == "RuntimeError: the encoder ran out of memory"
    assert services.evaluations.claim_next() is not None  # taken, then the process "dies"
    assert services.evaluations.requeue_interrupted() == 1
    assert services.worker.run_once()
    done = services.evaluations.latest(second)
    assert done is not None
    assert done.status == "done"
    assert not services.worker.run_once()  # the queue is empty


def test_first_start_makes_a_director_once(minilm: MiniLMEncoder) -> None:
    settings = Settings(server={"secret_key": "k" * 40})
    backend = ScriptedBackend(Path("unused"), settings.llm)
    services = build_services(settings, Runtime(settings, backend, minilm))
    with TestClient(create_app(services)) as client:
        assert client.get("/login", follow_redirects=False).headers["location"] == "/setup"
        csrf = _csrf(client, "/setup")
        form = {"username": "boss", "display_name": "Dr Boss", "password": "short"}
        refused = client.post("/setup", data={**form, "csrf_token": csrf})
        assert refused.status_code == 400
        assert "at least 8 characters" in refused.text
        made = client.post(
            "/setup",
            data={**form, "password": PASSWORD, "csrf_token": csrf},
            follow_redirects=False,
        )
        assert made.headers["location"] == "/admin/users"
        [boss] = services.accounts.all()
        assert boss.role is Role.director
        again = client.post(
            "/setup", data={**form, "username": "eve", "csrf_token": _csrf(client, "/")}
        )
        assert again.status_code == 403
        assert len(services.accounts.all()) == 1


def test_staff_add_accounts_within_their_reach(app: TestClient, services: Services) -> None:
    csrf = _login(app, "dir")  # director of 2026a
    form = {"display_name": "New Learner", "password": PASSWORD, "csrf_token": csrf}
    ok = app.post(
        "/admin/users", data={**form, "username": "nl", "role": "learner", "cohort": "2026a"}
    )
    assert ok.status_code == 200
    assert "Added nl" in ok.text
    other = app.post(
        "/admin/users", data={**form, "username": "nl2", "role": "learner", "cohort": "2026b"}
    )
    assert other.status_code == 400
    assert "your own cohorts" in other.text
    services.accounts.create("teach", PASSWORD, Role.educator, cohorts=("2026a",))
    app.cookies.clear()
    csrf = _login(app, "teach")
    refused = app.post(
        "/admin/users",
        data={**form, "csrf_token": csrf, "username": "d2", "role": "director"},
    )
    assert refused.status_code == 403
    assert "nl2" not in {a.username for a in services.accounts.all()}
    assert app.get("/admin/users").status_code == 200
    app.cookies.clear()
    _login(app, "ana")
    assert app.get("/admin/users").status_code == 403


def test_the_case_time_limit_ends_the_session(
    app: TestClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from simpatient.server import rehearsal

    monkeypatch.setattr(rehearsal, "SECONDS_PER_MINUTE", 0.05)  # this case: 15 min -> 0.75 s
    csrf = _login(app, "ana")
    started = app.post(
        "/rehearsals", data={"scenario_id": SCENARIO, "csrf_token": csrf}, follow_redirects=False
    )
    session_id = started.headers["location"].rsplit("/", 1)[1]
    deadline = time.monotonic() + 10
    while services.live.get(session_id) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    record = services.sessions.get(session_id)
    assert record.status == "ended"
    assert record.end_reason == "time limit reached"
    assert _wait_for_report(app, session_id)["status"] == "done"


def test_educators_add_cases_checked_like_validate(
    app: TestClient, services: Services, tmp_path: Path
) -> None:
    """A YAML case with errors is refused with its lines; a valid one joins the library."""
    library = tmp_path / "library"
    for folder in ("personas", "scenarios", "evaluation/rubrics"):
        shutil.copytree(Path(__file__).resolve().parents[1] / folder, library / folder)
    services.settings.library = library
    services.accounts.create("teach", PASSWORD, Role.educator, cohorts=("2026a",))
    csrf = _login(app, "teach")
    source = (library / "scenarios" / f"{SCENARIO}.yaml").read_text()
    broken = source.replace("time_limit_minutes: 15", "time_limit_minutes: lots")
    refused = app.post(
        "/admin/cases",
        data={"csrf_token": csrf, "kind": "scenario"},
        files={"case_file": ("maggie-copy.yaml", broken.encode(), "text/yaml")},
    )
    assert refused.status_code == 400
    line = broken.splitlines().index("time_limit_minutes: lots") + 1
    assert f"maggie-copy.yaml:{line}:" in refused.text
    assert "time_limit_minutes" in refused.text
    assert not (library / "scenarios" / "maggie-copy.yaml").exists()
    copy = source.replace(f"id: {SCENARIO}", "id: maggie-copy", 1)
    added = app.post(
        "/admin/cases",
        data={"csrf_token": csrf, "kind": "scenario"},
        files={"case_file": ("maggie-copy.yaml", copy.encode(), "text/yaml")},
    )
    assert added.status_code == 200, added.text
    assert "Added maggie-copy.yaml" in added.text
    assert "maggie-copy" in services.library.cases
    assert app.get("/cases/maggie-copy").status_code == 200
    app.cookies.clear()
    _login(app, "ana")
    assert app.get("/admin/cases").status_code == 403
