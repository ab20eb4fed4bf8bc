"""The HTTP API: one router per resource, all of them listed here once."""

from fastapi import APIRouter

from entrypoints.api.accounts import router as accounts_router
from entrypoints.api.auth import router as auth_router
from entrypoints.api.operations import router as operations_router
from entrypoints.api.posts import router as posts_router
from entrypoints.api.todos import router as todos_router
from entrypoints.api.transfers import router as transfers_router
from entrypoints.api.users import router as users_router

ROUTERS: tuple[APIRouter, ...] = (
    operations_router,
    auth_router,
    todos_router,
    users_router,
    posts_router,
    accounts_router,
    transfers_router,
    # (make aggregate adds its router above this line)
)
