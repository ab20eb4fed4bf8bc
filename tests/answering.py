"""Units of work answering a request sent with an idempotency key, as the API's routes make them
(entrypoints/idempotency.py), for tests that call use cases directly."""

from domain.idempotency import IdempotencyKey
from domain.principals import Principal
from service.idempotency import Answer, Answering, KeyedRequest
from service.unit_of_work import AbstractUnitOfWork

CREATED = 201


def answer_of(result: object) -> Answer:
    return Answer(CREATED, repr(result))


def answering[U: AbstractUnitOfWork](uow: U, principal: Principal, key: str, asked: object) -> U:
    """`uow`, storing the answer to `asked` (its repr is its fingerprint) under `key`."""
    request = KeyedRequest(principal.subject, IdempotencyKey(key), repr(asked))
    uow.answering = Answering(request, answer_of)
    return uow
