"""The session store: every rehearsal or call, turn by turn, as it happens.

Each turn is committed the moment it is added, so a crash or a killed process loses at
most the turn in flight. SQLite by default; any SQLAlchemy URL (PostgreSQL) by setting.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from simpatient.errors import SimPatientError
from simpatient.store.schema import SessionRow, TurnRow

MIGRATIONS = Path(__file__).with_name("migrations")


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


def now() -> datetime:
    return datetime.now(UTC)


class SessionStore:
    """Sessions and turns in a database; open it with :meth:`open`."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> "SessionStore":
        """Connect to ``url``, creating the SQLite file and applying migrations."""
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        if parsed.get_backend_name() == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        return cls(engine)

    def close(self) -> None:
        self._engine.dispose()

    def start_session(
        self, scenario_id: str, persona_id: str, mode: str, meta: dict[str, Any] | None = None
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

    def list(self, scenario_id: str | None = None) -> list[SessionRecord]:
        query = select(SessionRow).order_by(SessionRow.started_at)
        if scenario_id is not None:
            query = query.where(SessionRow.scenario_id == scenario_id)
        with self._sessions() as db:
            return [_session(row) for row in db.scalars(query)]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writing session
    cursor.close()


def _as_utc(value: datetime) -> datetime:
    # SQLite returns naive datetimes; everything is stored in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _turn(row: TurnRow) -> TurnRecord:
    return TurnRecord(
        row.index,
        row.speaker,
        row.text,
        _as_utc(row.started_at),
        _as_utc(row.ended_at),
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
        started_at=_as_utc(row.started_at),
        ended_at=_as_utc(row.ended_at) if row.ended_at else None,
        meta=dict(row.meta),
        turns=tuple(_turn(t) for t in row.turns),
    )
