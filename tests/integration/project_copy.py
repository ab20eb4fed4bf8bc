"""A copy of this project in a git repository of its own, for the tools that rewrite it
(`make aggregate`, `make fork`), and a way to run commands there on this venv."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.aggregate import ROOT


def attempt(copy: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """Run `command` in `copy`, importing the copy's code rather than this checkout's."""
    paths = [copy / "src", copy, copy / "clients" / "python"]  # the last: its generated client
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(map(str, paths))}
    return subprocess.run(
        command, cwd=copy, env=environment, capture_output=True, text=True, check=False
    )


def run(copy: Path, *command: str) -> str:
    result = attempt(copy, *command)
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def commit(copy: Path) -> None:
    for command in (["add", "-A"], ["commit", "-qm", "change"]):
        run(copy, "git", "-c", "user.name=t", "-c", "user.email=t@t", *command)


def tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """This project's files as git sees them, in a repository of their own."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    copy = tmp_path / "project"
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    # mypy's cache, when `make lint` left one: the copy's mypy then rechecks only what the tools
    # changed (and what depends on it), in seconds instead of half a minute. copy2 keeps the
    # files' times, by which mypy sees which cached results still hold.
    if (ROOT / ".mypy_cache").is_dir():
        shutil.copytree(ROOT / ".mypy_cache", copy / ".mypy_cache")
    run(copy, "git", "init", "-q")
    commit(copy)
    return copy
