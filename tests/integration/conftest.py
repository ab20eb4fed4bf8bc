from tests.dqlite import dqlite_node

__all__ = ["dqlite_node"]
