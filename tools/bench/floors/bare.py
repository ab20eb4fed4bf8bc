"""Bare FastAPI: the app's todo routes and models over a dict; no middleware, no store."""

from entrypoints.api.todos import TodoOut
from tools.bench.floors.serving import SEED_KEYS, SEEDED_VALUE, serve, todo_out


class DictTodos:
    def __init__(self, node: str) -> None:
        self._todos: dict[str, TodoOut] = {}

    async def start(self) -> None:
        self._todos = {key: todo_out(key, SEEDED_VALUE) for key in SEED_KEYS}

    async def stop(self) -> None:
        self._todos.clear()

    async def get(self, key: str) -> TodoOut | None:
        return self._todos.get(key)

    async def add(self, key: str, value: str) -> TodoOut | None:
        if key in self._todos:
            return None
        self._todos[key] = todo = todo_out(key, value)
        return todo


if __name__ == "__main__":
    serve(DictTodos, __doc__)
