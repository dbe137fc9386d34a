"""Persistent storage: sessions and turns, accounts, evaluations, faculty ratings."""

from simpatient.store.accounts import Account, AccountStore, Role
from simpatient.store.database import now, open_engine
from simpatient.store.evaluations import EvaluationRecord, EvaluationStore, FacultyRating
from simpatient.store.sessions import SessionNotFound, SessionRecord, SessionStore, TurnRecord

__all__ = [
    "Account",
    "AccountStore",
    "EvaluationRecord",
    "EvaluationStore",
    "FacultyRating",
    "Role",
    "SessionNotFound",
    "SessionRecord",
    "SessionStore",
    "TurnRecord",
    "now",
    "open_engine",
]
