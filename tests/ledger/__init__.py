"""A small bank that belongs to the tests, not to the examples.

The platform's process, cluster and fault tests run on it, so they keep working in a fork
after `make fork` removed the example aggregates. It is built the way a project adds a bounded
context (a unit of work declaring its repositories, their registrations in a Context, use
cases on that unit of work, a router), but given to the container only by the tests' own
launcher (`python -m tests.ledger.serve`). Its database has no Alembic history: its tables are
on a metadata of their own, created when the store would migrate it, so the project's
migrations never see them.
"""
