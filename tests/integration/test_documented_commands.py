"""Every `make aggregate` and `make fork` command that README.md, docs/*.md and `make help` show
works as written: run through the Makefile in a copy of this project, after which the project's
lint and unit tests pass. (test_generator.py runs a generated aggregate's dqlite tests too.)

A fenced code block is a sequence: its commands run one after another in one copy, as a reader
would type them; each block gets a copy of its own. In a fork, whose `make fork` is done (and
refused a second time), a sequence runs without it.
"""

import os
import re
import shlex
import sys
from pathlib import Path

import pytest

from tests.integration.project_copy import copy, run
from tools.aggregate import ROOT
from tools.fork import forked_already

__all__ = ["copy"]

TOOLS = ("aggregate", "fork")
FENCED_BLOCK = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
VARIABLE = re.compile(r"^[A-Z]+=")


def command_in(line: str) -> tuple[str, ...] | None:
    """`make <tool> VAR=value ...` at the start of `line`, without what follows its variables
    (a comment, or the description in `make help`); None if the line is no such command."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return None
    if words[:1] != ["make"] or len(words) < 2 or words[1] not in TOOLS:
        return None
    variables = []
    for word in words[2:]:
        if not VARIABLE.match(word):
            break
        variables.append(word)
    return ("make", words[1], *variables)


def sequences_in(text: str) -> list[tuple[tuple[str, ...], ...]]:
    blocks = [block.splitlines() for block in FENCED_BLOCK.findall(text)]
    found = [tuple(filter(None, map(command_in, lines))) for lines in blocks]
    return [sequence for sequence in found if sequence]


def help_sequences() -> list[tuple[tuple[str, ...], ...]]:
    shown = run(ROOT, "make", "--no-print-directory", "help").splitlines()
    return [(command,) for command in map(command_in, shown) if command]


def documented_sequences() -> list[tuple[tuple[str, ...], ...]]:
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    found = [s for document in documents for s in sequences_in(document.read_text())]
    return [*found, *help_sequences()]


def sequences_to_run() -> list[tuple[tuple[str, ...], ...]]:
    """Every documented sequence once (in a fork, without `make fork`); one that begins another
    is run as part of the longer one."""
    sequences = documented_sequences()
    if forked_already():
        sequences = [tuple(c for c in s if c[1] != "fork") for s in sequences]
    unique = list(dict.fromkeys(filter(None, sequences)))
    return [s for s in unique if not any(o != s and o[: len(s)] == s for o in unique)]


def make(copy: Path, *arguments: str) -> str:
    """`make` in the copy with this venv's tools, and without `setup` (this venv is set up)."""
    venv = Path(sys.executable).parent
    path = f"PATH={venv}{os.pathsep}{os.environ['PATH']}"
    return run(copy, "env", path, "make", "--no-print-directory", "-o", "setup", "RUN=", *arguments)


def test_the_documents_show_the_generator_and_the_fork() -> None:
    commands = {command[1] for sequence in documented_sequences() for command in sequence}

    assert commands == set(TOOLS)


def named(sequence: tuple[tuple[str, ...], ...]) -> str:
    return " then ".join(" ".join(command[1:]) for command in sequence)


@pytest.mark.parametrize("sequence", sequences_to_run(), ids=named)
def test_documented_commands_work_as_written_and_leave_a_project_that_passes_lint_and_unit_tests(
    copy: Path, sequence: tuple[tuple[str, ...], ...]
) -> None:
    for command in sequence:
        make(copy, *command[1:])

    make(copy, "lint", "unit-without-dqlite")
