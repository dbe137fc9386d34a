"""The director's dashboard: sessions by learner, cohort, scenario and date, score
distributions and trends per rubric item, CSV export, and the calibration view that
compares the AI's scores with faculty ratings."""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response

from simpatient.evaluator import calibration
from simpatient.evaluator.tier1 import MAX_SCORE
from simpatient.server.auth import Staff, check_csrf
from simpatient.server.pages import page
from simpatient.server.services import Services
from simpatient.store import Account, EvaluationRecord, FacultyRating, SessionRecord

router = APIRouter()


@dataclass(frozen=True)
class Filters:
    cohort: str = ""
    learner: str = ""
    scenario: str = ""
    since: date | None = None
    until: date | None = None

    def query(self) -> str:
        parts = {k: v for k, v in vars(self).items() if v}
        return "&".join(f"{k}={v}" for k, v in parts.items())


def filters(
    cohort: str = "",
    learner: str = "",
    scenario: str = "",
    since: Annotated[date | None, Query()] = None,
    until: Annotated[date | None, Query()] = None,
) -> Filters:
    return Filters(cohort, learner, scenario, since, until)


@dataclass(frozen=True)
class Row:
    session: SessionRecord
    learner: Account
    evaluation: EvaluationRecord | None

    @property
    def cohort(self) -> str:
        return self.learner.cohorts[0] if self.learner.cohorts else ""

    def total(self) -> tuple[int, int] | None:
        if self.evaluation is None:
            return None
        totals = self.evaluation.result.get("totals", {}).values()
        return sum(t["points"] for t in totals), sum(t["possible"] for t in totals)


def _rows(services: Services, viewer: Account, f: Filters) -> list[Row]:
    learners = {a.id: a for a in services.accounts.learners_seen_by(viewer)}
    records = services.sessions.list(learner_ids=list(learners))
    rows = []
    for record in records:
        learner = learners[record.learner_id] if record.learner_id is not None else None
        if learner is None or record.status == "active":
            continue
        day = record.started_at.date()
        if (
            (f.cohort and f.cohort not in learner.cohorts)
            or (f.learner and f.learner != learner.username)
            or (f.scenario and f.scenario != record.scenario_id)
            or (f.since and day < f.since)
            or (f.until and day > f.until)
        ):
            continue
        rows.append(Row(record, learner, None))
    done = services.evaluations.latest_done([r.session.id for r in rows])
    return [Row(r.session, r.learner, done.get(r.session.id)) for r in rows]


def _distributions(rows: list[Row]) -> list[dict[str, Any]]:
    """Per rubric item: how many sessions scored 0, 1 and 2."""
    counts: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    titles: dict[tuple[str, str], str] = {}
    for row in rows:
        for item in row.evaluation.result["items"] if row.evaluation else []:
            key = (item["rubric"], item["item"])
            titles[key] = item["title"]
            if item["score"] is not None:
                counts[key][item["score"]] += 1
    return [
        {
            "rubric": rubric,
            "item": item,
            "title": titles[(rubric, item)],
            "counts": [counts[(rubric, item)][s] for s in range(MAX_SCORE + 1)],
            "n": sum(counts[(rubric, item)].values()),
        }
        for rubric, item in sorted(titles)
    ]


def _trend(rows: list[Row]) -> list[dict[str, Any]]:
    """Mean share of points per ISO week, oldest first."""
    weeks: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        total = row.total()
        if total and total[1]:
            year, week, _ = row.session.started_at.isocalendar()
            weeks[f"{year}-W{week:02d}"].append(total[0] / total[1])
    return [{"week": w, "mean": sum(v) / len(v), "n": len(v)} for w, v in sorted(weeks.items())]


@router.get("/dashboard")
def dashboard(
    request: Request, account: Staff, f: Annotated[Filters, Depends(filters)]
) -> Response:
    services: Services = request.app.state.services
    rows = _rows(services, account, f)
    learners = services.accounts.learners_seen_by(account)
    return page(
        request,
        "dashboard.html",
        account=account,
        rows=list(reversed(rows)),
        f=f,
        distributions=_distributions(rows),
        trend=_trend(rows),
        cohorts=sorted({c for a in learners for c in a.cohorts}),
        learners=learners,
        scenarios=sorted(services.library.cases),
        max_score=MAX_SCORE,
    )


@router.get("/dashboard/export.csv")
def export(request: Request, account: Staff, f: Annotated[Filters, Depends(filters)]) -> Response:
    rows = [r for r in _rows(request.app.state.services, account, f) if r.evaluation]
    text = calibration.scores_csv(
        (
            calibration.SessionInfo(
                r.session.id,
                r.learner.username,
                r.cohort,
                r.session.scenario_id,
                r.session.started_at,
            ),
            r.evaluation.result,
        )
        for r in rows
        if r.evaluation is not None
    )
    stamp = datetime.now().strftime("%Y%m%d")
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="simpatient-scores-{stamp}.csv"'},
    )


def _calibration_page(
    request: Request, account: Account, problems: list[str], stored: int | None
) -> Response:
    services: Services = request.app.state.services
    rows = _rows(services, account, Filters())
    evaluations = {r.session.id: r.evaluation.result for r in rows if r.evaluation}
    ratings = services.evaluations.ratings([r.session.id for r in rows])
    result = calibration.calibrate(ratings, evaluations) if ratings else None
    return page(
        request,
        "calibration.html",
        400 if problems else 200,
        account=account,
        result=result,
        problems=problems,
        stored=stored,
        rated_sessions=len({r.session_id for r in ratings}),
    )


@router.get("/calibration")
def calibration_view(request: Request, account: Staff) -> Response:
    return _calibration_page(request, account, [], None)


@router.post("/calibration", dependencies=[Depends(check_csrf)])
async def upload_ratings(
    request: Request, account: Staff, ratings: Annotated[UploadFile, File()]
) -> Response:
    services: Services = request.app.state.services
    limit = services.settings.server.max_upload_bytes
    data = await ratings.read(limit + 1)
    if len(data) > limit:
        return _calibration_page(
            request, account, [f"the file is larger than {limit // 1000} kB"], None
        )
    try:
        parsed = calibration.parse_faculty_csv(data, services.library.rubrics.values())
    except calibration.FacultyCSVError as e:
        return _calibration_page(request, account, [str(p) for p in e.problems], None)
    visible = {r.session.id for r in _rows(services, account, Filters())}
    unknown = sorted({r.session_id for r in parsed} - visible)
    if unknown:
        return _calibration_page(
            request,
            account,
            [f"no finished session {s} among your learners'" for s in unknown[:20]],
            None,
        )
    stored = services.evaluations.replace_ratings(
        (FacultyRating(r.session_id, r.rubric, r.item, r.score, r.rater) for r in parsed),
        account.id,
    )
    return _calibration_page(request, account, [], stored)
