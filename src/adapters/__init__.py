"""SQLAlchemy-on-dqlite and in-memory implementations of the domain's ports."""
