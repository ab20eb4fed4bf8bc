"""`make fork` on a copy of this project: the examples and their bounded contexts are gone from
every layer, the project carries its new name and passes every check, and an aggregate generated
afterwards, in a context of its own, passes every check and test."""

import re
import sys
from pathlib import Path

from tests.integration.project_copy import attempt, commit, copy, run, tool
from tools.aggregate import ROOT

__all__ = ["copy"]

# The examples' and their contexts' names as modules, attributes and classes; not
# `router.post` and the like.
EXAMPLE = re.compile(
    r"(?<![\w.])(todos|users|posts|accounts|transfers|blog|bank)\b"
    r"|\b(Todo|User|Post|Account|Transfer|Blog|Bank)\w*"
)
NEW_CONTEXT_MARKER = "# (make aggregate adds a new context above this line)"
# The platform's process, cluster and fault tests run on the tests' own ledger, so a fork keeps
# them. The fork runs the unit-of-work tests and one write over HTTP to the ledger's launcher
# (proving it serves in the fork); the rest of the process tests and the workers, cluster,
# membership, fault, partition, TLS, backup, day-2, disk, browser, keepalive, schemathesis,
# sign-in cluster and keyed-create tests, 8+ minutes more, it only collects: the fork leaves
# those files and the launcher byte for byte as they are here, where `make test` runs them. So
# too the documented commands' test, whose fork-then-aggregate sequence `make test` runs here.
SERVES = (
    "tests/integration/test_api_process.py::test_a_write_over_http_is_acknowledged_and_read_back"
)
PLATFORM_TESTS = ["test_unit_of_work_sql.py"]
COLLECTED_ONLY = [
    "test_api_process.py",
    "test_schemathesis.py",
    "test_cluster.py",
    "test_membership.py",
    "test_cluster_faults.py",
    "test_partitions.py",
    "test_tls.py",
    "test_backup.py",
    "test_day_two.py",
    "test_disk_full.py",
    "test_docs_in_browser.py",
    "test_vanished_client.py",
    "test_auth_cluster.py",
    "test_documented_commands.py",
    "test_workers.py",
    "test_keyed_creates.py",
]
LAUNCHER = [
    "tests/integration/process.py",
    "tests/integration/cluster.py",
    "tests/integration/bank_workload.py",
    "tests/integration/set_workload.py",
    "tests/integration/netns.py",
    "tests/integration/promotion.py",
    *(f"tests/ledger/{name}.py" for name in ("model", "storage", "database", "api", "serve")),
]


def lint(copy: Path) -> None:
    run(copy, tool("ruff"), "check", ".")
    run(copy, tool("ruff"), "format", "--check", ".")
    run(copy, tool("mypy"))
    run(copy, tool("lint-imports"), "--no-cache")


def mentions_of_examples(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root)}: {line.strip()}"
        for path in root.rglob("*.py")
        if "__pycache__" not in path.parts
        for line in path.read_text().splitlines()
        if EXAMPLE.search(line)
    ]


def test_a_fork_on_a_dirty_work_tree_is_refused_and_changes_nothing(copy: Path) -> None:
    (copy / "notes.txt").write_text("not committed")

    result = attempt(copy, sys.executable, "-m", "tools.fork", "billing")

    assert result.returncode == 2
    assert "commit or stash" in result.stderr
    assert run(copy, "git", "status", "--porcelain").splitlines() == ["?? notes.txt"]


def test_a_fork_keeps_no_example_and_a_new_aggregate_then_passes_every_check(
    copy: Path,
) -> None:
    run(copy, sys.executable, "-m", "tools.fork", "billing")

    assert mentions_of_examples(copy / "src") == []
    assert mentions_of_examples(copy / "migrations") == []
    # identity is the platform's, kept with its history
    assert sorted(p.name for p in (copy / "migrations").iterdir()) == [
        "env.py",
        "identity",
        "script.py.mako",
    ]
    assert NEW_CONTEXT_MARKER in (copy / "src" / "service" / "contexts.py").read_text()
    registry = (copy / "src" / "adapters" / "contexts.py").read_text()
    assert re.findall(r'^    Context\(\n        "(\w+)"', registry, re.M) == ["identity"]
    assert f"\n    {NEW_CONTEXT_MARKER}\n)\n" in registry
    assert not (copy / "tests" / "integration" / "test_fork.py").exists()
    assert 'name = "billing"' in (copy / "pyproject.toml").read_text()
    assert 'name = "billing"' in (copy / "uv.lock").read_text()
    assert 'title="Billing"' in (copy / "src" / "entrypoints" / "app.py").read_text()
    unit = (copy / "deploy" / "billing.service").read_text()
    assert "/opt/billing" in unit
    assert "ddd-dqlite" not in unit
    assert not (copy / "deploy" / "ddd-dqlite.service").exists()
    readme = (copy / "README.md").read_text()
    assert readme.startswith("# Billing\n")
    assert "/todos" not in readme
    assert "## The aggregates" not in readme
    assert "## Performance" not in readme
    assert re.findall(r"\b(?:Blog|Bank)\w*|make bench|\w*[Tt]odo\w*", readme) == []
    assert not (copy / "tools" / "bench").exists()
    assert "bench" not in (copy / "Makefile").read_text()

    lint(copy)  # with no context at all
    assert " passed" in run(
        copy, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit"
    )

    commit(copy)
    run(
        copy,
        sys.executable,
        "-m",
        "tools.aggregate",
        "fork_specimen",
        "number:str! due:date",
        "--context",
        "specimens",
    )
    first_revision = (copy / "migrations" / "specimens" / "0001_add_fork_specimens.py").read_text()
    assert "op.create_table('fork_specimens'" in first_revision
    assert "op.create_table('outbox_events'" in first_revision
    # Lint after the aggregate is test_documented_commands' (forking.md's fork-then-aggregate).
    output = run(
        copy,
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests",
        "--deselect",
        "tests/integration/test_generator.py",
        *(f"--deselect=tests/integration/{name}" for name in COLLECTED_ONLY),
    )
    assert " passed" in output
    assert "failed" not in output
    served = run(copy, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", SERVES)
    assert "1 passed" in served
    collected = run(copy, sys.executable, "-m", "pytest", "--collect-only", "-q", "tests")
    for name in [*PLATFORM_TESTS, *COLLECTED_ONLY]:
        assert f"tests/integration/{name}::" in collected, name
    for path in [*(f"tests/integration/{n}" for n in COLLECTED_ONLY), *LAUNCHER]:
        assert (copy / path).read_bytes() == (ROOT / path).read_bytes(), path
    assert "[dqlite-fork_specimens]" in run(
        copy, sys.executable, "-m", "pytest", "--collect-only", "-q", "tests/contract"
    )
