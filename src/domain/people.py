"""The Person aggregate of the identity context: someone who signs in with an email and a
password, and the roles they hold."""

import abc
from dataclasses import dataclass, field
from datetime import datetime

from domain.errors import InvalidValue
from domain.fields import Email, check_bool, check_id, check_moment
from domain.principals import ROLES, Principal

PASSWORD_MIN_LENGTH = 8  # NIST SP 800-63B's floor for a password the user chose
PASSWORD_MAX_LENGTH = 128
PASSWORD_HASH_MAX_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Password:
    """A password as typed; its text never appears in a repr, so never in a log line."""

    text: str = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise InvalidValue("password", "must be a string")
        if not PASSWORD_MIN_LENGTH <= len(self.text) <= PASSWORD_MAX_LENGTH:
            raise InvalidValue(
                "password",
                f"must be {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters long",
            )
        if "\x00" in self.text:
            raise InvalidValue("password", "must not contain the NUL character")
        try:  # the hasher takes UTF-8: a lone surrogate would fail it, not refuse the password
            self.text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidValue("password", "must be valid Unicode (no lone surrogates)") from None


def check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidValue("role", f"must be one of {sorted(ROLES)}")
    return role


@dataclass(slots=True)
class Person:
    id: int
    email: Email
    password_hash: str = field(repr=False)
    created_at: datetime
    roles: frozenset[str] = frozenset()
    disabled: bool = False

    def __post_init__(self) -> None:
        check_id("id", self.id)
        check_moment("created_at", self.created_at)
        check_bool("disabled", self.disabled)
        for role in self.roles:
            check_role(role)

    @property
    def subject(self) -> str:
        """What tokens and owned rows name this person by."""
        return str(self.id)

    def principal(self) -> Principal:
        return Principal(self.subject, self.roles)

    def grant(self, role: str) -> None:
        self.roles = self.roles | {check_role(role)}

    def revoke(self, role: str) -> None:
        self.roles = self.roles - {check_role(role)}

    def disable(self) -> None:
        self.disabled = True

    def enable(self) -> None:
        self.disabled = False


def subject_of(person_id: int) -> str:
    return str(person_id)


def person_id_of(subject: str) -> int | None:
    """The person a subject names, if it names one of this identity context's people."""
    return int(subject) if subject.isascii() and subject.isdigit() else None


class AbstractPersonRepository(abc.ABC):
    @abc.abstractmethod
    async def next_id(self) -> int: ...

    @abc.abstractmethod
    async def add(self, person: Person) -> None:
        """Store a new person; raise AlreadyExists if the email (in any case) is taken."""

    @abc.abstractmethod
    async def get(self, id: int) -> Person | None: ...

    @abc.abstractmethod
    async def get_by_email(self, email: Email) -> Person | None:
        """The person whose email is `email` in any letter case."""

    @abc.abstractmethod
    async def update(self, person: Person) -> None:
        """Store the new hash, roles and disabled flag of a person `get` returned."""
