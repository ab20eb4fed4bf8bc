"""`make fork NAME=billing`: start a new service from this template, in place.

Renames the project (pyproject and lock file, app title, systemd unit and its paths, default
database name), removes the example aggregates from every layer and their tests, starts a fresh
migration history, and rewrites the README's example sections. Refuses on a dirty work tree,
so that `git diff` shows exactly what it did and `git checkout .` undoes it.
"""

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

from alembic import command

from adapters.dqlite.migrations import alembic_config
from tools.aggregate import ROOT, Refused, check_name, format_python

# The examples, as the registration files name them (plural, singular).
EXAMPLES = {
    "todos": "todo",
    "users": "user",
    "posts": "post",
    "accounts": "account",
    "transfers": "transfer",
}
# Tests of the examples themselves over HTTP or SQL on dqlite. The platform's process, cluster
# and fault tests stay: they run on the tests' own ledger (tests/ledger), not on an example.
REMOVED_TESTS = [
    "tests/integration/test_todos_process.py",
    "tests/integration/test_bank_concurrency.py",
    "tests/integration/test_users_posts_queries.py",
    "tests/integration/test_identity_keys_migration.py",
    "tests/integration/test_fork.py",  # the template's own: a fork is not forked again
    "tests/integration/test_outbox_relay.py",  # a user's welcome todo: two examples' events
    "tests/unit/test_domain_events_api.py",
]
# `make bench` loads the examples' endpoints (the figures in docs/performance.md are theirs):
# it goes with them, until a fork points it at aggregates of its own.
BENCH = [
    "tools/bench",
    "tests/integration/test_bench.py",
    "docs/performance.md",
    "docs/performance",
]
REGISTRATION_FILES = [
    "src/service/unit_of_work.py",
    "src/adapters/repositories.py",
    "src/entrypoints/api/__init__.py",
    "tests/contract/aggregates.py",
    "src/service/handlers.py",
]
OLD_NAME = "dqlite-ddd-template"
OLD_UNIT = "ddd-dqlite"
OLD_TITLE = "DDD on dqlite"


def example_files() -> list[Path]:
    files: list[Path] = []
    for plural, singular in EXAMPLES.items():
        files += [
            ROOT / "src" / "domain" / f"{plural}.py",
            ROOT / "src" / "service" / f"{plural}.py",
            ROOT / "src" / "adapters" / f"{plural}.py",
            ROOT / "src" / "entrypoints" / "api" / f"{plural}.py",
            ROOT / "tests" / "contract" / f"test_{plural}.py",
            *(ROOT / "tests" / "unit").glob(f"test_{singular}_*.py"),
        ]
    return [path for path in files if path.exists()]


def unregister_examples(text: str) -> str:
    """`text` without the lines that import or list an example's repository, router, probe or
    event handlers."""
    names = "|".join(EXAMPLES)
    classes = "|".join(singular.capitalize() for singular in EXAMPLES.values())
    consts = "|".join(plural.upper() for plural in EXAMPLES)
    example = re.compile(
        rf"^(from \S*\b({names})\b.* import .*"  # from domain.todos import ...
        rf"|\s+({names}): Abstract({classes})Repository"  # the unit of work's attribute
        rf'|\s+Registration\("({names})".*'  # the registry's entry
        rf"|\s+({names})_router,"  # the router list's entry
        rf"|\s+({consts}),"  # the probe list's entry
        rf"|\s+({classes})\w*: \(.*\),)$"  # an example event's handlers
    )
    return "\n".join(line for line in text.split("\n") if not example.match(line))


def rename(name: str) -> None:
    snake = name.replace("-", "_")
    title = name.replace("-", " ").replace("_", " ").title()
    _substitute("pyproject.toml", [(f'name = "{OLD_NAME}"', f'name = "{name}"')])
    _substitute("src/entrypoints/app.py", [(f'title="{OLD_TITLE}"', f'title="{title}"')])
    _substitute(
        "src/entrypoints/settings.py", [('database: str = "app"', f'database: str = "{snake}"')]
    )
    unit = ROOT / "deploy" / f"{OLD_UNIT}.service"
    unit.write_text(unit.read_text().replace(OLD_UNIT, name).replace(OLD_TITLE, title))
    unit.rename(ROOT / "deploy" / f"{name}.service")


def rewrite_readme(name: str) -> None:
    title = name.replace("-", " ").replace("_", " ").title()
    readme = ROOT / "README.md"
    text = readme.read_text()
    text = re.sub(r"\A# .*", f"# {title}\n\nStarted from the DDD-on-dqlite service template.", text)
    text = re.sub(
        r"Try it:\n\n```sh\n(curl .*\n)+```\n",
        "Add an aggregate (`make aggregate`, below), then try it with curl or at /docs.\n",
        text,
    )
    text = re.sub(r"## The aggregates\n.*?(?=\n## )", "", text, flags=re.DOTALL)
    text = re.sub(r"## Performance\n.*?(?=\n## )", "", text, flags=re.DOTALL)
    text = re.sub(r"- \*\*The example:\*\*.*?(?=\n## )", "", text, flags=re.DOTALL)
    text = text.replace(
        "(a transfer, thanks to its idempotency key)", "(e.g. thanks to an idempotency key)"
    )
    text = text.replace(f"deploy/{OLD_UNIT}.service", f"deploy/{name}.service")
    text = re.sub(
        r"\(`domain/todos\.py`.*?`entrypoints/api/todos\.py`\)",
        "(`domain/<plural>.py`, `service/<plural>.py`,\n"
        "`adapters/<plural>.py`, `entrypoints/api/<plural>.py`)",
        text,
        flags=re.DOTALL,
    )
    text = text.replace("await uow.todos.add(todo)", "await uow.invoices.add(invoice)")
    text = text.replace("await uow.todos.find(query)", "await uow.invoices.find(query)")
    readme.write_text(text)


def remove_bench() -> None:
    for relative in BENCH:
        path = ROOT / relative
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    makefile = ROOT / "Makefile"
    text = makefile.read_text().replace(" fork bench\n", " fork\n")
    text = re.sub(r"\t@echo \"make bench .*\n", "", text)
    text = re.sub(r"\nbench: setup\n\t.*\n", "", text)
    makefile.write_text(text)


def fresh_migrations() -> None:

    versions = ROOT / "migrations" / "versions"
    for revision in versions.glob("*.py"):
        revision.unlink()
    shutil.rmtree(versions / "__pycache__", ignore_errors=True)
    # No database is needed for an empty revision: it is the base the first aggregate builds on.
    command.revision(alembic_config("dqlite://127.0.0.1:1/unused"), message="start", rev_id="0001")


def fork(name: str) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", name) or name.endswith(("-", "_")):
        raise Refused(f"{name!r} is not a project name (a-z, 0-9, - and _)")
    check_name(name.replace("-", "_"), "name")
    dirty = _git("status", "--porcelain")
    if dirty:
        raise Refused(f"the work tree has changes; commit or stash them first:\n{dirty}")
    if not (ROOT / "deploy" / f"{OLD_UNIT}.service").exists():
        raise Refused("this project was forked already")
    for path in example_files():
        path.unlink()
    for name_of_test in REMOVED_TESTS:
        (ROOT / name_of_test).unlink(missing_ok=True)
    remove_bench()
    for registration in REGISTRATION_FILES:
        path = ROOT / registration
        path.write_text(unregister_examples(path.read_text()))
    rename(name)
    rewrite_readme(name)
    fresh_migrations()
    format_python([ROOT / registration for registration in REGISTRATION_FILES])
    subprocess.run([str(ROOT / "scripts" / "uv"), "lock", "--quiet"], cwd=ROOT, check=True)


def _substitute(relative: str, changes: list[tuple[str, str]]) -> None:
    path = ROOT / relative
    text = path.read_text()
    for old, new in changes:
        if old not in text:
            raise Refused(f"{relative} no longer holds {old!r}: fork by hand")
        text = text.replace(old, new)
    path.write_text(text)


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make fork", description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="the new service's name, e.g. billing")
    args = parser.parse_args(argv)
    try:
        fork(args.name)
    except Refused as refusal:
        print(f"make fork: {refusal}", file=sys.stderr)
        return 2
    print(f"forked as {args.name}: see `git status`; next, `make aggregate` and `make test`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
