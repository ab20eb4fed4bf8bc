"""/todos: create, read, list, update and delete todos."""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from domain.paging import DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET
from domain.todos import KEY_MAX_LENGTH, VALUE_MAX_LENGTH, Todo, TodoFilter
from entrypoints.dependencies import unit_of_work
from entrypoints.problems import problem_responses
from service import todos as use_cases
from service.contexts import TodosUnitOfWork

UnitOfWorkDep = Annotated[TodosUnitOfWork, Depends(unit_of_work(TodosUnitOfWork))]
router = APIRouter(prefix="/todos", tags=["todos"], responses=problem_responses(404, 409))

Key = Annotated[str, Field(min_length=1, max_length=KEY_MAX_LENGTH)]
Value = Annotated[str, Field(max_length=VALUE_MAX_LENGTH)]


class TodoIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    key: Key
    value: Value = ""


class TodoChange(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    value: Value | None = None
    done: bool | None = None


class TodoOut(BaseModel):
    key: str
    value: str
    done: bool

    @classmethod
    def of(cls, todo: Todo) -> "TodoOut":
        return cls(key=todo.key.text, value=todo.value.text, done=todo.done)


class TodoPage(BaseModel):
    items: list[TodoOut]
    total: int


class TodoQuery(BaseModel):
    """The list endpoint's query parameters; every one narrows the result."""

    model_config = ConfigDict(extra="forbid")
    key_contains: str | None = Field(None, max_length=KEY_MAX_LENGTH)
    value_contains: str | None = Field(None, max_length=VALUE_MAX_LENGTH)
    done: bool | None = None
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_todo(body: TodoIn, uow: UnitOfWorkDep, response: Response) -> TodoOut:
    """Create a todo; 409 if the key is taken."""
    todo = await use_cases.create_todo(uow, body.key, body.value)
    response.headers["Location"] = f"/todos/{quote(todo.key.text, safe='')}"
    return TodoOut.of(todo)


@router.get("")
async def list_todos(query: Annotated[TodoQuery, Query()], uow: UnitOfWorkDep) -> TodoPage:
    """List todos ordered by key, with the total number that match."""
    page = await use_cases.list_todos(uow, TodoFilter(**query.model_dump()))
    return TodoPage(items=[TodoOut.of(todo) for todo in page.items], total=page.total)


@router.get("/{key:path}")
async def get_todo(key: str, uow: UnitOfWorkDep) -> TodoOut:
    return TodoOut.of(await use_cases.get_todo(uow, key))


@router.patch("/{key:path}")
async def update_todo(key: str, body: TodoChange, uow: UnitOfWorkDep) -> TodoOut:
    """Change the value, the done flag, or both."""
    todo = await use_cases.update_todo(uow, key, value=body.value, done=body.done)
    return TodoOut.of(todo)


@router.delete("/{key:path}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_todo(key: str, uow: UnitOfWorkDep) -> None:
    await use_cases.delete_todo(uow, key)
