"""Errors the domain raises on purpose; the API maps each kind to one HTTP status."""


class DomainError(Exception):
    """Base of every error a use case may raise on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    def __init__(self, entity: str, identity: object) -> None:
        super().__init__(f"{entity} {identity!r} does not exist")
        self.entity = entity
        self.identity = identity


class Conflict(DomainError):
    """The request is valid but clashes with what is stored."""


class AlreadyExists(Conflict):
    def __init__(self, entity: str, identity: object) -> None:
        super().__init__(f"{entity} {identity!r} already exists")
        self.entity = entity
        self.identity = identity


class InvalidValue(DomainError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class StaleWrite(Conflict):
    """Someone else changed the entity since it was read; the use case may retry."""

    def __init__(self, entity: str, identity: object) -> None:
        super().__init__(f"{entity} {identity!r} was changed by someone else")
        self.entity = entity
        self.identity = identity


class Unauthenticated(DomainError):
    """No valid credentials: a missing, malformed, expired or wrongly signed token, or a wrong
    password."""


class Forbidden(DomainError):
    """The principal is known, and lacks the right to do this."""


class TooManyAttempts(DomainError):
    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds
