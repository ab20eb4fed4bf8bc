"""`make fork NAME=billing`: start a new service from this template, in place.

Renames the project (pyproject and lock file, app title, systemd unit and its paths), removes
the example aggregates from every layer and their tests, and the example bounded contexts with
their units of work, registrations and migration histories, and rewrites the README's example
sections. Refuses on a dirty work tree, so that `git diff` shows exactly what it did and
`git checkout .` undoes it.
"""

import argparse
import ast
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from tools import openapi
from tools.aggregate import ROOT, format_python
from tools.fields import Refused, check_name

# The examples, as the registration files name them (plural, singular).
EXAMPLES = {
    "todos": "todo",
    "users": "user",
    "posts": "post",
    "accounts": "account",
    "transfers": "transfer",
}
# The example bounded contexts, as src/adapters/contexts.py names them, with their units of work.
EXAMPLE_CONTEXTS = {
    "todos": "TodosUnitOfWork",
    "blog": "BlogUnitOfWork",
    "bank": "BankUnitOfWork",
}
# Tests of the examples themselves over HTTP or SQL on dqlite. The platform's process, cluster
# and fault tests stay: they run on the tests' own ledger (tests/ledger), not on an example.
REMOVED_TESTS = [
    "tests/integration/test_todos_process.py",
    "tests/integration/test_bank_concurrency.py",
    "tests/integration/test_users_posts_queries.py",
    "tests/integration/test_fork.py",  # the template's own: a fork is not forked again
    "tests/integration/test_outbox_relay.py",  # a user's welcome todo: two examples' events
    "tests/unit/test_domain_events_api.py",
    "tests/integration/test_client_examples.py",  # the examples' use cases, through the client
    "tests/contract/test_at_scale.py",  # the twin against dqlite at 10^5 todos
    "tests/integration/test_round_trips.py",  # a todo read and written, a transfer
    "tests/integration/test_bank_migrations.py",  # the bank's history
    "tests/integration/test_tracing.py",  # a user's welcome todo, and todos, traced on dqlite
    "tests/containers/test_containers.py",  # a bank workload on the compose cluster
]
# `make bench` and `make soak` load the examples' endpoints (the figures in docs/performance.md
# and the README's are theirs): they go with them, until a fork points them at its own.
BENCH = [
    "tools/bench",
    "tests/integration/test_bench.py",
    "tests/integration/test_bench_scale.py",
    "tools/soak",
    "tests/integration/test_soak.py",
    "docs/performance.md",
    "docs/performance",
]
REGISTRATION_FILES = [
    "src/service/contexts.py",
    "src/adapters/contexts.py",
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
    contexts = "|".join(EXAMPLE_CONTEXTS.values())
    example = re.compile(
        rf"^(from \S*\b({names})\b.* import .*"  # from domain.todos import ...
        rf"|from service\.contexts import ({contexts})(, ({contexts}))*"  # the examples' only
        rf"|\s+({names}): Abstract({classes})Repository"  # the unit of work's attribute
        rf'|\s+Registration\("({names})".*'  # the registry's entry
        rf"|\s+({names})_router,"  # the router list's entry
        rf"|\s+({consts}),"  # the probe list's entry
        rf"|\s+({classes})\w*: \(.*\),)$"  # an example event's handlers
    )
    return "\n".join(line for line in text.split("\n") if not example.match(line))


def remove_example_contexts() -> None:
    """Take the example contexts out of src/service/contexts.py (their units of work) and
    src/adapters/contexts.py (their entries in CONTEXTS), and delete their migration histories;
    the marker lines where `make aggregate` adds a new context stay."""
    path = ROOT / "src" / "service" / "contexts.py"
    tree = ast.parse(text := path.read_text())
    classes = [
        node
        for node in tree.body
        if isinstance(node, ast.ClassDef) and node.name in EXAMPLE_CONTEXTS.values()
    ]
    _check_found(path, [node.name for node in classes], EXAMPLE_CONTEXTS.values())
    path.write_text(_without(text, classes, with_trailing_comments=True))

    path = ROOT / "src" / "adapters" / "contexts.py"
    tree = ast.parse(text := path.read_text())
    entries = [
        entry
        for node in tree.body
        if isinstance(node, ast.AnnAssign | ast.Assign) and isinstance(node.value, ast.Tuple)
        for entry in node.value.elts
        if isinstance(entry, ast.Call)
        and isinstance(entry.func, ast.Name)
        and entry.func.id == "Context"
        and entry.args
        and isinstance(entry.args[0], ast.Constant)
        and entry.args[0].value in EXAMPLE_CONTEXTS
    ]
    _check_found(path, [ast.literal_eval(entry.args[0]) for entry in entries], EXAMPLE_CONTEXTS)
    path.write_text(_without(text, entries, with_trailing_comments=False))

    for context in EXAMPLE_CONTEXTS:
        shutil.rmtree(ROOT / "migrations" / context, ignore_errors=True)
    shutil.rmtree(ROOT / "migrations" / "__pycache__", ignore_errors=True)


def _check_found(path: Path, found: list[str], expected: Iterable[str]) -> None:
    missing = sorted(set(expected) - set(found))
    if missing:
        raise Refused(f"{path.relative_to(ROOT)} no longer holds {missing}: fork by hand")


def _without(
    text: str, nodes: Sequence[ast.stmt | ast.expr], *, with_trailing_comments: bool
) -> str:
    """`text` without the lines of `nodes` (and, for a class, the indented comments and blank
    lines that follow its body: its marker line)."""
    lines = text.split("\n")
    dropped: set[int] = set()
    for node in nodes:
        first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
        if with_trailing_comments:
            while last + 1 < len(lines) and (
                not lines[last + 1].strip() or lines[last + 1].startswith((" ", "\t"))
            ):
                last += 1
        dropped |= set(range(first, last + 1))
    return "\n".join(line for i, line in enumerate(lines) if i not in dropped)


def rename(name: str) -> None:
    title = name.replace("-", " ").replace("_", " ").title()
    _substitute("pyproject.toml", [(f'name = "{OLD_NAME}"', f'name = "{name}"')])
    _substitute("src/entrypoints/app.py", [(f'title="{OLD_TITLE}"', f'title="{title}"')])
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
    text = re.sub(r"## (Performance|Memory and disk)\n.*?(?=\n## )", "", text, flags=re.DOTALL)
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
    text = re.sub(r"```python\n.*?```", _example_code_renamed, text, flags=re.DOTALL)
    text = re.sub(  # a handler's signature, as the relay's description shows one
        r"\(`async def \w+\(event: \w+, uow: \w+\)`\)",
        "(`async def on_invoice_created(event: InvoiceCreated, uow: BillingUnitOfWork)`)",
        text,
    )
    # What `make bench` measures: it goes with the examples.
    text = re.sub(r"\s*`make bench`.*?(?=\n- |\n\n|\Z)", "", text, flags=re.DOTALL)
    readme.write_text(text)


def _example_code_renamed(block: re.Match[str]) -> str:
    """A README code block with the todos' names as a generated aggregate's would be."""
    names = {
        "TodosUnitOfWork": "BillingUnitOfWork",
        "Todo": "Invoice",
        "todo": "invoice",
        "todos": "invoices",
    }
    return re.sub(  # also in the generated client's names: todos_create_todo, TodoIn
        r"\b(TodosUnitOfWork|Todo|todos|todo)\b|(?<=_)todo\b|\btodos(?=_)|\bTodo(?=[A-Z])",
        lambda name: names[name[0]],
        block[0],
    )


def remove_bench() -> None:
    for relative in BENCH:
        path = ROOT / relative
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    makefile = ROOT / "Makefile"
    text = makefile.read_text().replace(" soak bench\n", "\n", 1)  # from .PHONY
    text = re.sub(r"\t@echo \"make (bench|soak) .*\n(\t@echo \"  .*\n)*", "", text)
    text = re.sub(r"\n(bench|soak): setup\n\t.*\n", "", text)
    makefile.write_text(text)


def forked_already() -> bool:
    """Whether this project is a fork: the template's systemd unit has taken the fork's name."""
    return not (ROOT / "deploy" / f"{OLD_UNIT}.service").exists()


def fork(name: str) -> None:
    if not re.fullmatch(r"[a-z][a-z0-9_-]*", name) or name.endswith(("-", "_")):
        raise Refused(f"{name!r} is not a project name (a-z, 0-9, - and _)")
    check_name(name.replace("-", "_"), "name")
    dirty = _git("status", "--porcelain")
    if dirty:
        raise Refused(f"the work tree has changes; commit or stash them first:\n{dirty}")
    if forked_already():
        raise Refused("this project was forked already")
    for path in example_files():
        path.unlink()
    for name_of_test in REMOVED_TESTS:
        (ROOT / name_of_test).unlink(missing_ok=True)
    remove_bench()
    remove_example_contexts()
    for registration in REGISTRATION_FILES:
        path = ROOT / registration
        path.write_text(unregister_examples(path.read_text()))
    rename(name)
    rewrite_readme(name)
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
    openapi.regenerate()  # the document and the client lose the examples' routes
    print(f"forked as {args.name}: see `git status`; next, `make aggregate` and `make test`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
