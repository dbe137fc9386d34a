"""Tables of the session store. Changes go through an Alembic migration in migrations/."""

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
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
