"""The session store: sessions and turns saved as they happen, readable by a new process."""

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from simpatient.store import SessionStore, now


def test_turns_are_saved_in_order_and_read_back_by_a_new_connection(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'store.db'}"
    store = SessionStore.open(url)
    sid = store.start_session("case-a", "persona-a", "text", {"llm": "x"})
    t0 = now()
    store.add_turn(sid, "patient", "Hello.", t0, t0)
    store.add_turn(sid, "learner", "Hi, I'm Dr Lee.", t0, t0 + timedelta(seconds=2))
    store.add_turn(sid, "patient", "Nice to meet you.", t0, t0, {"first_token_s": 0.3})
    store.close()

    reopened = SessionStore.open(url)  # migrations are idempotent
    record = reopened.get(sid)
    assert record.status == "active"
    assert [(t.index, t.speaker, t.text) for t in record.turns] == [
        (0, "patient", "Hello."),
        (1, "learner", "Hi, I'm Dr Lee."),
        (2, "patient", "Nice to meet you."),
    ]
    assert record.turns[1].ended_at - record.turns[1].started_at == timedelta(seconds=2)
    assert record.turns[2].timings == {"first_token_s": 0.3}
    assert record.meta == {"llm": "x"}
    reopened.end_session(sid, reason="learner ended")
    ended = reopened.get(sid)
    assert ended.status == "ended"
    assert ended.end_reason == "learner ended"
    assert ended.ended_at is not None
    assert [s.id for s in reopened.list("case-a")] == [sid]
    assert reopened.list("other") == []


def test_schema_is_managed_by_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    SessionStore.open(url).close()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        version = conn.execute(sa.text("select version_num from alembic_version")).scalar_one()
        tables = set(sa.inspect(conn).get_table_names())
    assert version == "0003"
    assert {"sessions", "turns", "users", "evaluations", "faculty_ratings"} <= tables


def test_migrations_build_exactly_the_declared_schema(tmp_path: Path) -> None:
    """Alembic's autogenerate finds nothing between the migrated database and the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from simpatient.store.schema import Base

    url = f"sqlite:///{tmp_path / 'store.db'}"
    SessionStore.open(url).close()
    with sa.create_engine(url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_a_store_with_sessions_migrates_to_the_latest_schema(tmp_path: Path) -> None:
    """A database made by an earlier version, with sessions and turns in it, upgrades in
    place and keeps them."""
    from alembic import command
    from alembic.config import Config

    from simpatient.store.database import MIGRATIONS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
        connection.exec_driver_sql(
            "INSERT INTO sessions (id, scenario_id, persona_id, mode, status, started_at, meta)"
            " VALUES ('s1', 'maggie-recurrence-bbn', 'margaret-oconnell', 'text', 'ended',"
            " '2026-01-01 10:00:00', '{}')"
        )
        connection.exec_driver_sql(
            'INSERT INTO turns (session_id, "index", speaker, text, started_at, ended_at,'
            " timings, state) VALUES ('s1', 0, 'patient', 'Morning.', '2026-01-01 10:00:00',"
            " '2026-01-01 10:00:01', '{}', '{}')"
        )
    engine.dispose()
    store = SessionStore.open(url)
    record = store.get("s1")
    assert record.learner_id is None
    assert [t.text for t in record.turns] == ["Morning."]
