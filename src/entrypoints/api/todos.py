"""/todos: create, read, list, update and delete one's own todos; an admin lists everyone's."""

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from domain.principals import SUBJECT_MAX_LENGTH
from domain.todos import KEY_MAX_LENGTH, VALUE_MAX_LENGTH, Todo, TodoFilter
from entrypoints.api.paging import ListQuery, PageInfo
from entrypoints.dependencies import PrincipalDep, unit_of_work
from entrypoints.idempotency import OnceDep
from entrypoints.problems import PROTECTED_OPERATION, problem_responses
from service import todos as use_cases
from service.contexts import TodosUnitOfWork

UnitOfWorkDep = Annotated[TodosUnitOfWork, Depends(unit_of_work(TodosUnitOfWork))]
router = APIRouter(
    prefix="/todos",
    tags=["todos"],
    responses={**problem_responses(404, 409), **PROTECTED_OPERATION},
)

Key = Annotated[str, Field(min_length=1, max_length=KEY_MAX_LENGTH)]
Value = Annotated[str, Field(max_length=VALUE_MAX_LENGTH)]
Owner = Annotated[
    str | None,
    Query(
        max_length=SUBJECT_MAX_LENGTH,
        description="Whose todo: yours if not given. Only an admin may read someone else's.",
    ),
]


class TodoIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    key: Key
    value: Value = ""


class TodoChange(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    value: Value | None = None
    done: bool | None = None


class TodoOut(BaseModel):
    owner: str = Field(description="The subject of the principal who created it.")
    key: str
    value: str
    done: bool

    @classmethod
    def of(cls, todo: Todo) -> "TodoOut":
        return cls(owner=todo.owner, key=todo.key.text, value=todo.value.text, done=todo.done)


class TodoPage(PageInfo):
    items: list[TodoOut]


class TodoQuery(ListQuery):
    """The list endpoint's query parameters; every filter narrows the result."""

    owner: str | None = Field(
        None,
        max_length=SUBJECT_MAX_LENGTH,
        description="Whose todos an admin lists (everyone's if not given); others list their own.",
    )
    key_contains: str | None = Field(None, max_length=KEY_MAX_LENGTH)
    value_contains: str | None = Field(None, max_length=VALUE_MAX_LENGTH)
    done: bool | None = None


def _location(todo: Todo) -> str:
    return f"/todos/{quote(todo.key.text, safe='')}"


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_todo(
    body: TodoIn, principal: PrincipalDep, uow: UnitOfWorkDep, once: OnceDep, response: Response
) -> TodoOut:
    """Create a todo of yours; 409 if you already have one of that key."""
    uow = once(uow, TodoOut.of, _location)
    todo = await use_cases.create_todo(uow, principal, body.key, body.value)
    response.headers["Location"] = _location(todo)
    return TodoOut.of(todo)


@router.get("")
async def list_todos(
    query: Annotated[TodoQuery, Query()], principal: PrincipalDep, uow: UnitOfWorkDep
) -> TodoPage:
    """List your todos (an admin: everyone's) ordered by owner and key, a page at a time."""
    query_object = TodoFilter(**query.filters(), **query.window())
    page = await use_cases.list_todos(uow, principal, query_object)
    return TodoPage(items=[TodoOut.of(todo) for todo in page.items], **PageInfo.of(page))


@router.get("/{key:path}")
async def get_todo(
    key: str, principal: PrincipalDep, uow: UnitOfWorkDep, owner: Owner = None
) -> TodoOut:
    """Read your todo of this key (an admin: anyone's, with `owner`)."""
    return TodoOut.of(await use_cases.get_todo(uow, principal, key, owner=owner))


@router.patch("/{key:path}")
async def update_todo(
    key: str,
    body: TodoChange,
    principal: PrincipalDep,
    uow: UnitOfWorkDep,
    once: OnceDep,
    owner: Owner = None,
) -> TodoOut:
    """Change your todo's value, done flag, or both; an admin may not change anyone else's."""
    todo = await use_cases.update_todo(
        once(uow, TodoOut.of), principal, key, value=body.value, done=body.done, owner=owner
    )
    return TodoOut.of(todo)


@router.delete("/{key:path}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_todo(
    key: str, principal: PrincipalDep, uow: UnitOfWorkDep, once: OnceDep, owner: Owner = None
) -> None:
    """Delete your todo of this key; an admin may not delete anyone else's."""
    await use_cases.delete_todo(once(uow), principal, key, owner=owner)
