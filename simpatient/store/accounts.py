"""Local accounts: learners, educators and directors, with argon2id password hashes.

A learner belongs to one cohort; a director oversees a list of cohorts (an empty list
means every cohort: the program director)."""

import re
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from simpatient.errors import SimPatientError
from simpatient.store.database import now
from simpatient.store.schema import UserRow

#: Shorter passwords are refused (NIST SP 800-63B asks for at least 8).
MIN_PASSWORD = 8
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verifying against this when the user does not exist keeps the time the same, so the
# login's response time does not tell which usernames exist.
_DUMMY_HASH = _hasher.hash("not a password")


class Role(StrEnum):
    learner = "learner"
    educator = "educator"
    director = "director"


class AccountError(SimPatientError):
    """An account that cannot be created as asked."""


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    username: str
    display_name: str
    role: Role
    cohorts: tuple[str, ...]

    def sees_cohort(self, cohort: str | None) -> bool:
        """Whether this educator or director may see learners of ``cohort``."""
        return self.role is not Role.learner and (not self.cohorts or cohort in self.cohorts)


class AccountStore:
    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def create(
        self,
        username: str,
        password: str,
        role: Role,
        display_name: str | None = None,
        cohorts: tuple[str, ...] = (),
    ) -> Account:
        if not _USERNAME.match(username):
            raise AccountError(
                f"username '{username}': use 2-64 lower-case letters, digits, '.', '_' or '-'"
            )
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"the password needs at least {MIN_PASSWORD} characters")
        if role is Role.learner and len(cohorts) > 1:
            raise AccountError("a learner belongs to one cohort")
        row = UserRow(
            username=username,
            display_name=display_name or username,
            password_hash=_hasher.hash(password),
            role=role.value,
            cohorts=list(cohorts),
            created_at=now(),
        )
        try:
            with self._sessions.begin() as db:
                db.add(row)
        except IntegrityError:
            raise AccountError(f"there is already an account '{username}'") from None
        return _account(row)

    def authenticate(self, username: str, password: str) -> Account | None:
        """The account, if the password is right; None otherwise (same time either way)."""
        with self._sessions.begin() as db:
            row = db.scalars(select(UserRow).where(UserRow.username == username)).first()
            try:
                _hasher.verify(row.password_hash if row else _DUMMY_HASH, password)
            except (VerificationError, InvalidHashError):
                return None
            if row is None:
                return None
            if _hasher.check_needs_rehash(row.password_hash):
                row.password_hash = _hasher.hash(password)
            return _account(row)

    def get(self, account_id: int) -> Account | None:
        with self._sessions() as db:
            row = db.get(UserRow, account_id)
            return _account(row) if row else None

    def all(self) -> list[Account]:
        with self._sessions() as db:
            return [_account(r) for r in db.scalars(select(UserRow).order_by(UserRow.username))]

    def learners_seen_by(self, viewer: Account) -> list[Account]:
        """The learners whose sessions ``viewer`` may see: themself, or their cohorts'."""
        if viewer.role is Role.learner:
            return [viewer]
        learners = [a for a in self.all() if a.role is Role.learner]
        return [a for a in learners if viewer.sees_cohort(a.cohorts[0] if a.cohorts else None)]


def _account(row: UserRow) -> Account:
    return Account(row.id, row.username, row.display_name, Role(row.role), tuple(row.cohorts))
