"""The in-memory twin of the dqlite store: for unit tests, and for trying the API without a
database. Nothing here imports the dqlite stack."""
