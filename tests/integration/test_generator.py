"""`make aggregate` on a copy of this project: the code it writes passes lint, types, the layer
rules, and its own unit and contract tests on both backends, with no hand edits."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.measurements import measured
from tools.aggregate import ROOT

# The README's example without a unique field, and one with every other kind and flag.
AGGREGATES = {
    "invoice": "number:str amount_cents:int paid:bool due:date note:str?",
    "shipment": (
        "code:str(8)! weight:float sent_at:datetime arrived_at:datetime? batch:int? open:bool?"
    ),
}


def run(copy: Path, *command: str) -> str:
    environment = {**os.environ, "PYTHONPATH": f"{copy / 'src'}{os.pathsep}{copy}"}
    result = subprocess.run(
        command, cwd=copy, env=environment, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}\n{result.stderr}"
    return result.stdout


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
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "copy"]):
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", *command]
        subprocess.run(git, cwd=copy, check=True)
    return copy


def test_a_generated_aggregate_passes_every_check_and_its_tests_on_both_backends(
    copy: Path,
) -> None:
    for name, fields in AGGREGATES.items():
        run(copy, sys.executable, "-m", "tools.aggregate", name, fields)

    status = run(copy, "git", "status", "--porcelain").splitlines()
    edited = sorted(line[3:] for line in status if line.startswith(" M"))
    added = sorted(line[3:] for line in status if line.startswith("??"))
    assert edited == [
        "src/adapters/repositories.py",
        "src/entrypoints/api/__init__.py",
        "src/service/unit_of_work.py",
        "tests/contract/aggregates.py",
    ]
    assert len(added) == 16, added  # for each, seven modules and one migration
    invoice = [name for name in added if "invoice" in name]
    lines = sum(len((copy / name).read_text().splitlines()) for name in invoice)
    measured(f"make aggregate invoice: {len(invoice)} new files, {lines} lines; 4 files edited")

    run(copy, tool("ruff"), "check", ".")
    run(copy, tool("ruff"), "format", "--check", ".")
    run(copy, tool("mypy"))
    run(copy, tool("lint-imports"), "--no-cache")
    output = run(
        copy,
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/unit/test_invoice_domain.py",
        "tests/unit/test_invoice_api.py",
        "tests/unit/test_shipment_domain.py",
        "tests/unit/test_shipment_api.py",
        "tests/unit/test_registration.py",
        "tests/contract/test_invoices.py",
        "tests/contract/test_shipments.py",
        "tests/contract/test_unit_of_work.py",
        "tests/integration/test_migrations.py",
    )
    assert " passed" in output
    assert "failed" not in output
    collected = run(copy, sys.executable, "-m", "pytest", "--collect-only", "-q", "tests/contract")
    assert "[dqlite-invoices]" in collected
    assert "[dqlite-shipments]" in collected
