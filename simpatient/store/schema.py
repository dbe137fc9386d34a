"""Tables of the session store. Changes go through an Alembic migration in migrations/."""

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
    }


class SessionRow(Base):
    __tablename__ = "sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    scenario_id: Mapped[str] = mapped_column(String(64), index=True)
    persona_id: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))  # "text" rehearsal or "call"
    status: Mapped[str] = mapped_column(String(16))  # active | ended | failed
    end_reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)  # models and settings used
    # None for sessions run from the command line; set for every session in the service
    learner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    turns: Mapped[list["TurnRow"]] = relationship(
        back_populates="session", order_by="TurnRow.index", cascade="all, delete-orphan"
    )


class TurnRow(Base):
    __tablename__ = "turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    index: Mapped[int]
    speaker: Mapped[str] = mapped_column(String(16))  # learner | patient
    text: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime]
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)  # per-stage seconds
    # learner turns: what the appraisal made of them; patient turns: the patient's state
    # after the reply and the checks it went through
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    session: Mapped[SessionRow] = relationship(back_populates="turns")


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(256))  # argon2id, salted
    role: Mapped[str] = mapped_column(String(16))  # learner | educator | director
    # a learner's cohort, or the cohorts a director oversees (none: every cohort)
    cohorts: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]


class EvaluationRow(Base):
    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # queued | running | done | failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # 0-1, shown to the learner
    stage: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)  # Evaluation.as_dict()
    report_html: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class FacultyRatingRow(Base):
    __tablename__ = "faculty_ratings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(String(32), index=True)
    rubric: Mapped[str] = mapped_column(String(64))
    item: Mapped[str] = mapped_column(String(64))
    score: Mapped[int]
    rater: Mapped[str] = mapped_column(String(128))
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]
