"""Persistent storage of sessions and turns."""

from simpatient.store.sessions import SessionRecord, SessionStore, TurnRecord, now

__all__ = ["SessionRecord", "SessionStore", "TurnRecord", "now"]
