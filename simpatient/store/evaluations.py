"""Evaluations waiting, running and done, with the progress a learner sees; and the
faculty ratings uploaded for calibration."""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import sessionmaker

from simpatient.store.database import as_utc, now
from simpatient.store.schema import EvaluationRow, FacultyRatingRow


@dataclass(frozen=True, slots=True)
class EvaluationRecord:
    id: int
    session_id: str
    status: str  # queued | running | done | failed
    progress: float
    stage: str
    error: str | None
    result: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class FacultyRating:
    session_id: str
    rubric: str
    item: str
    score: int
    rater: str


class EvaluationStore:
    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def enqueue(self, session_id: str) -> int:
        """Queue an evaluation of the session (again, if it was evaluated before)."""
        with self._sessions.begin() as db:
            row = EvaluationRow(
                session_id=session_id,
                status="queued",
                progress=0.0,
                stage="waiting for the evaluator",
                error=None,
                result={},
                report_html=None,
                created_at=now(),
                finished_at=None,
            )
            db.add(row)
            db.flush()
            return row.id

    def claim_next(self) -> EvaluationRecord | None:
        """Take the oldest queued evaluation and mark it running (one worker at a time)."""
        with self._sessions.begin() as db:
            row = db.scalars(
                select(EvaluationRow)
                .where(EvaluationRow.status == "queued")
                .order_by(EvaluationRow.id)
                .limit(1)
            ).first()
            if row is None:
                return None
            row.status, row.stage = "running", "starting"
            return _record(row)

    def requeue_interrupted(self) -> int:
        """At start-up: evaluations left running by a stopped process go back in the queue."""
        with self._sessions.begin() as db:
            done = db.execute(
                update(EvaluationRow)
                .where(EvaluationRow.status == "running")
                .values(status="queued", progress=0.0, stage="waiting for the evaluator")
            )
            return int(getattr(done, "rowcount", 0) or 0)

    def progress(self, evaluation_id: int, fraction: float, stage: str) -> None:
        with self._sessions.begin() as db:
            row = db.get_one(EvaluationRow, evaluation_id)
            row.progress, row.stage = round(min(1.0, max(0.0, fraction)), 3), stage

    def finish(self, evaluation_id: int, result: dict[str, Any], report_html: str) -> None:
        with self._sessions.begin() as db:
            row = db.get_one(EvaluationRow, evaluation_id)
            row.status, row.progress, row.stage = "done", 1.0, "done"
            row.result, row.report_html, row.finished_at = result, report_html, now()

    def fail(self, evaluation_id: int, error: str) -> None:
        with self._sessions.begin() as db:
            row = db.get_one(EvaluationRow, evaluation_id)
            row.status, row.stage, row.error, row.finished_at = "failed", "failed", error, now()

    def latest(self, session_id: str) -> EvaluationRecord | None:
        with self._sessions() as db:
            row = db.scalars(
                select(EvaluationRow)
                .where(EvaluationRow.session_id == session_id)
                .order_by(EvaluationRow.id.desc())
                .limit(1)
            ).first()
            return _record(row) if row else None

    def latest_done(self, session_ids: Collection[str]) -> dict[str, EvaluationRecord]:
        """For each session that has one, its most recent finished evaluation."""
        with self._sessions() as db:
            rows = db.scalars(
                select(EvaluationRow)
                .where(EvaluationRow.session_id.in_(session_ids), EvaluationRow.status == "done")
                .order_by(EvaluationRow.id)
            )
            return {row.session_id: _record(row) for row in rows}

    def report_html(self, session_id: str) -> str | None:
        with self._sessions() as db:
            return db.scalars(
                select(EvaluationRow.report_html)
                .where(EvaluationRow.session_id == session_id, EvaluationRow.status == "done")
                .order_by(EvaluationRow.id.desc())
                .limit(1)
            ).first()

    def replace_ratings(self, ratings: Iterable[FacultyRating], uploaded_by: int) -> int:
        """Store faculty ratings; a rater's new rating of an item replaces the old one."""
        count = 0
        with self._sessions.begin() as db:
            for r in ratings:
                db.execute(
                    delete(FacultyRatingRow).where(
                        FacultyRatingRow.session_id == r.session_id,
                        FacultyRatingRow.rubric == r.rubric,
                        FacultyRatingRow.item == r.item,
                        FacultyRatingRow.rater == r.rater,
                    )
                )
                db.add(
                    FacultyRatingRow(
                        session_id=r.session_id,
                        rubric=r.rubric,
                        item=r.item,
                        score=r.score,
                        rater=r.rater,
                        uploaded_by=uploaded_by,
                        uploaded_at=now(),
                    )
                )
                count += 1
        return count

    def ratings(self, session_ids: Collection[str]) -> list[FacultyRating]:
        with self._sessions() as db:
            rows = db.scalars(
                select(FacultyRatingRow).where(FacultyRatingRow.session_id.in_(session_ids))
            )
            return [FacultyRating(r.session_id, r.rubric, r.item, r.score, r.rater) for r in rows]


def _record(row: EvaluationRow) -> EvaluationRecord:
    return EvaluationRecord(
        row.id,
        row.session_id,
        row.status,
        row.progress,
        row.stage,
        row.error,
        dict(row.result),
        as_utc(row.created_at),
        as_utc(row.finished_at) if row.finished_at else None,
    )
