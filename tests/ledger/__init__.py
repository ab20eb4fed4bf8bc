"""A small bank that belongs to the tests, not to the examples.

The platform's process, cluster and fault tests run on it, so they keep working in a fork
after `make fork` removed the example aggregates. It is built the way a project adds an
aggregate (repositories registered with the units of work, use cases on the unit of work, a
router), but registered only by the tests' own launcher (`python -m tests.ledger.serve`), with
its tables on a metadata of its own: the project's migrations never see it.
"""
