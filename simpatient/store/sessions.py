"""The session store: every rehearsal or call, turn by turn, as it happens.

Each turn is committed the moment it is added, so a crash or a killed process loses at
most the turn in flight. SQLite by default; any SQLAlchemy URL (PostgreSQL) by setting.
"""

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from simpatient.errors import SimPatientError
from simpatient.store.database import as_utc, now, open_engine
from simpatient.store.schema import SessionRow, TurnRow


class SessionNotFound(SimPatientError, LookupError):
    """No session with that id."""


@dataclass(frozen=True, slots=True)
class TurnRecord:
    index: int
    speaker: str
    text: str
    started_at: datetime
    ended_at: datetime
    timings: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: str
    scenario_id: str
    persona_id: str
    mode: str
    status: str
    end_reason: str | None
    started_at: datetime
    ended_at: datetime | None
    meta: dict[str, Any]
    turns: tuple[TurnRecord, ...]
    learner_id: int | None = None


class SessionStore:
    """Sessions and turns in a database; open it with :meth:`open`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> "SessionStore":
        """Connect to ``url``, creating the SQLite file and applying migrations."""
        return cls(open_engine(url))

    def close(self) -> None:
        self._engine.dispose()

    def start_session(
        self,
        scenario_id: str,
        persona_id: str,
        mode: str,
        meta: dict[str, Any] | None = None,
        learner_id: int | None = None,
    ) -> str:
        session_id = uuid.uuid4().hex
        with self._sessions.begin() as db:
            db.add(
                SessionRow(
                    id=session_id,
                    scenario_id=scenario_id,
                    persona_id=persona_id,
                    mode=mode,
                    status="active",
                    end_reason=None,
                    started_at=now(),
                    ended_at=None,
                    meta=meta or {},
                    learner_id=learner_id,
                )
            )
        return session_id

    def add_turn(
        self,
        session_id: str,
        speaker: str,
        text: str,
        started_at: datetime,
        ended_at: datetime,
        timings: dict[str, Any] | None = None,
        state: dict[str, Any] | None = None,
    ) -> TurnRecord:
        with self._sessions.begin() as db:
            index = len(
                db.scalars(select(TurnRow.id).where(TurnRow.session_id == session_id)).all()
            )
            row = TurnRow(
                session_id=session_id,
                index=index,
                speaker=speaker,
                text=text,
                started_at=started_at,
                ended_at=ended_at,
                timings=timings or {},
                state=state or {},
            )
            db.add(row)
            return _turn(row)

    def end_session(
        self, session_id: str, status: str = "ended", reason: str | None = None
    ) -> None:
        with self._sessions.begin() as db:
            row = db.get_one(SessionRow, session_id)
            row.status, row.end_reason, row.ended_at = status, reason, now()

    def get(self, session_id: str) -> SessionRecord:
        with self._sessions() as db:
            row = db.get(SessionRow, session_id)
            if row is None:
                raise SessionNotFound(f"no session '{session_id}' in the store")
            return _session(row)

    def list(
        self, scenario_id: str | None = None, learner_ids: Collection[int] | None = None
    ) -> list[SessionRecord]:
        """Sessions oldest first, of one scenario and/or of some learners."""
        query = select(SessionRow).order_by(SessionRow.started_at)
        if scenario_id is not None:
            query = query.where(SessionRow.scenario_id == scenario_id)
        if learner_ids is not None:
            query = query.where(SessionRow.learner_id.in_(learner_ids))
        with self._sessions() as db:
            return [_session(row) for row in db.scalars(query)]


def _turn(row: TurnRow) -> TurnRecord:
    return TurnRecord(
        row.index,
        row.speaker,
        row.text,
        as_utc(row.started_at),
        as_utc(row.ended_at),
        dict(row.timings),
        dict(row.state),
    )


def _session(row: SessionRow) -> SessionRecord:
    return SessionRecord(
        id=row.id,
        scenario_id=row.scenario_id,
        persona_id=row.persona_id,
        mode=row.mode,
        status=row.status,
        end_reason=row.end_reason,
        started_at=as_utc(row.started_at),
        ended_at=as_utc(row.ended_at) if row.ended_at else None,
        meta=dict(row.meta),
        turns=tuple(_turn(t) for t in row.turns),
        learner_id=row.learner_id,
    )
