"""pytest plugin (-p tests.without_dqlite): run as if neither libdqlite nor the dqlite
Python packages were installed, to show the unit tests need neither."""

import ctypes
import importlib.abc
import sys
from collections.abc import Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

import pytest

BLOCKED_PACKAGES = ("sqlalchemydqlite", "dqlitedbapi", "dqliteclient", "dqlitewire")


class _BlockDqlitePackages(importlib.abc.MetaPathFinder):
    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if name.partition(".")[0] in BLOCKED_PACKAGES:
            raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
        return None


class _CDLLWithoutDqlite(ctypes.CDLL):
    def __init__(self, name: str | None, *args: Any, **kwargs: Any) -> None:
        if name is not None and "dqlite" in str(name):
            raise OSError(f"{name}: cannot open shared object file (blocked)")
        super().__init__(name, *args, **kwargs)


def pytest_configure(config: pytest.Config) -> None:
    already = [m for m in sys.modules if m.partition(".")[0] in BLOCKED_PACKAGES]
    if already:
        raise pytest.UsageError(f"dqlite modules were imported before blocking: {already}")
    sys.meta_path.insert(0, _BlockDqlitePackages())
    ctypes.CDLL = _CDLLWithoutDqlite  # type: ignore[misc,assignment]


def pytest_report_header() -> str:
    return f"dqlite made unavailable: {', '.join(BLOCKED_PACKAGES)} and libdqlite.so.0"


@pytest.fixture(autouse=True, scope="session")
def _dqlite_really_is_unavailable() -> None:
    for package in BLOCKED_PACKAGES:
        with pytest.raises(ModuleNotFoundError):
            __import__(package)
    with pytest.raises(OSError, match="blocked"):
        ctypes.CDLL("libdqlite.so.0")
