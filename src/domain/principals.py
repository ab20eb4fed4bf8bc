"""Who is asking: the subject a verified token names, and the roles it carries. Use cases take
a principal and decide with it; the routes only pass it on."""

from dataclasses import dataclass

from domain.errors import Forbidden, NotFound
from domain.fields import check_text

ADMIN = "admin"  # reads everything; granted with the CLI, never through the API
ROLES = frozenset({ADMIN})
SUBJECT_MAX_LENGTH = 255


def check_owner(field: str, owner: object) -> str:
    """A principal's subject, or "" for rows from before owners: no principal has it, so
    those belong to nobody until an operator gives them an owner."""
    return check_text(field, owner, min_length=0, max_length=SUBJECT_MAX_LENGTH)


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str  # the identity context's person id, or an external issuer's `sub`
    roles: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        check_text("subject", self.subject, min_length=1, max_length=SUBJECT_MAX_LENGTH)

    @property
    def is_admin(self) -> bool:
        return ADMIN in self.roles

    def may_read(self, owner: str) -> bool:
        return owner == self.subject or self.is_admin

    def check_may_read(self, owner: str, entity: str, identity: object) -> None:
        """NotFound unless the principal may read it: someone else's resource does not
        exist for them, so a 404 tells nothing a wrong guess would not."""
        if not self.may_read(owner):
            raise NotFound(entity, identity)

    def check_may_change(self, owner: str, entity: str, identity: object) -> None:
        """Only the owner changes a resource; an admin, who may see it, is refused openly."""
        self.check_may_read(owner, entity, identity)
        if owner != self.subject:
            raise Forbidden(f"only the owner of {entity} {identity!r} may change it")

    def check_role(self, role: str) -> None:
        if role not in self.roles:
            raise Forbidden(f"this needs the {role!r} role")
