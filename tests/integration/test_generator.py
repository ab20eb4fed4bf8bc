"""`make aggregate` on a copy of this project: the code it writes passes lint, types, the layer
rules, and its own unit and contract tests on both backends, with no hand edits."""

import sys
from pathlib import Path

from tests.integration.project_copy import attempt, copy, run, tool
from tests.measurements import measured

__all__ = ["copy"]

# The README's fields without a unique one, and every other kind and flag; names that a
# project is unlikely to hold already, one of them with an irregular plural.
AGGREGATES = {
    "ledger_entry": "number:str amount_cents:int paid:bool due:date note:str?",
    "international_parcel_shipment": (  # as long as a name may be
        "code:str(8)! weight:float sent_at:datetime arrived_at:datetime? batch:int? open:bool? "
        "expected_delivery_window_closes:datetime?"
    ),
}


def test_a_generated_aggregate_passes_every_check_and_its_tests_on_both_backends(
    copy: Path,
) -> None:
    for name, fields in AGGREGATES.items():
        run(copy, sys.executable, "-m", "tools.aggregate", name, fields)

    again = attempt(
        copy, sys.executable, "-m", "tools.aggregate", *next(iter(reversed(AGGREGATES.items())))
    )
    assert again.returncode == 2
    assert "registered already" in again.stderr  # even with its registration wrapped by ruff

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
    first = [name for name in added if "ledger_entr" in name]
    lines = sum(len((copy / name).read_text().splitlines()) for name in first)
    measured(f"make aggregate (5 fields): {len(first)} new files, {lines} lines; 4 files edited")

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
        "tests/unit/test_ledger_entry_domain.py",
        "tests/unit/test_ledger_entry_api.py",
        "tests/unit/test_international_parcel_shipment_domain.py",
        "tests/unit/test_international_parcel_shipment_api.py",
        "tests/unit/test_registration.py",
        "tests/contract/test_ledger_entries.py",
        "tests/contract/test_international_parcel_shipments.py",
        "tests/contract/test_unit_of_work.py",
        "tests/integration/test_migrations.py",
    )
    assert " passed" in output
    assert "failed" not in output
    collected = run(copy, sys.executable, "-m", "pytest", "--collect-only", "-q", "tests/contract")
    assert "[dqlite-ledger_entries]" in collected
    assert "[dqlite-international_parcel_shipments]" in collected
