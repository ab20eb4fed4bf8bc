"""`make aggregate` on a copy of this project: the code it writes, owned (the default) and shared
(`OWNED=no`), into a context that exists and into a new one, passes lint, types, the layer rules,
and its own unit and contract tests on both backends, with no hand edits."""

import ast
import json
import sys
from pathlib import Path

from tests.integration.project_copy import attempt, copy, run, tool
from tests.measurements import measured
from tools.aggregate import joinable_contexts, unit_of_work_class

__all__ = ["copy"]

# As long as a context's name may be; names that a project is unlikely to hold already.
NEW_CONTEXT = "shipping_and_customs"
# The README's fields without a unique one, and every other kind and flag, one of them with an
# irregular plural: the first joins a context that exists, the second the new one; both owned.
# The third, shared, joins the new context after it was made.
IN_AN_EXISTING_CONTEXT = (
    "ledger_entry",
    "number:str amount_cents:int paid:bool due:date note:str?",
)
IN_A_NEW_CONTEXT = (
    "international_parcel_shipment",  # as long as a name may be
    "code:str(8)! weight:float sent_at:datetime arrived_at:datetime? batch:int? open:bool? "
    "expected_delivery_window_closes:datetime?",
)
SHARED = ("notice", "title:str! body:str? pinned:bool")
OWNED_PLURALS = ("international_parcel_shipments", "ledger_entries")
CLIENT_PROBES = [  # (plural, singular, a body of its create) for the regenerated client
    ("notices", "notice", '{"title": "closed on Monday", "pinned": true}'),
    (
        "ledger_entries",
        "ledger_entry",
        '{"number": "A-1", "amount_cents": 250, "paid": false, "due": "2026-03-31"}',
    ),
]


def use_case_parameters(source: str) -> dict[str, list[str]]:
    """The parameter names of each use case a service module defines."""
    return {
        node.name: [argument.arg for argument in node.args.args]
        for node in ast.parse(source).body
        if isinstance(node, ast.AsyncFunctionDef) and not node.name.startswith("_")
    }


def test_generated_aggregates_in_an_existing_and_a_new_context_pass_every_check_and_test(
    copy: Path,
) -> None:
    contexts = joinable_contexts()  # not the identity context: it takes no generated aggregate
    # A fork has no context before its first aggregate: there, the new one is the existing one.
    existing = contexts[0].name if contexts else NEW_CONTEXT
    existing_unit_of_work = contexts[0].unit_of_work if contexts else unit_of_work_class(existing)
    new_unit_of_work = unit_of_work_class(NEW_CONTEXT)

    aggregate = [sys.executable, "-m", "tools.aggregate"]
    run(copy, *aggregate, *IN_A_NEW_CONTEXT, "--context", NEW_CONTEXT)
    run(copy, *aggregate, *IN_AN_EXISTING_CONTEXT, "--context", existing)
    run(copy, *aggregate, *SHARED, "--context", NEW_CONTEXT, "--owned", "no")

    again = attempt(copy, *aggregate, *IN_A_NEW_CONTEXT, "--context", NEW_CONTEXT)
    assert again.returncode == 2
    assert "registered already" in again.stderr  # even with its registration wrapped by ruff

    status = run(copy, "git", "status", "--porcelain", "--untracked-files=all").splitlines()
    # The generated client (make client, which make aggregate runs) is checked below.
    status = [line for line in status if not line[3:].startswith(("clients/", "docs/openapi"))]
    edited = sorted(line[3:] for line in status if line.startswith(" M"))
    added = sorted(line[3:] for line in status if line.startswith("??"))
    assert edited == [
        "src/adapters/contexts.py",
        "src/entrypoints/api/__init__.py",
        "src/service/contexts.py",
        "tests/contract/aggregates.py",
    ]
    assert len(added) == 24, added  # for each, seven modules and one migration
    first = [name for name in added if "ledger_entr" in name]
    lines = sum(len((copy / name).read_text().splitlines()) for name in first)
    measured(f"make aggregate (5 fields): {len(first)} new files, {lines} lines; 4 files edited")

    new_history = sorted((copy / "migrations" / NEW_CONTEXT).glob("*.py"))
    assert new_history[0].name == "0001_add_international_parcel_shipments.py"
    first_revision = new_history[0].read_text()
    for table in (
        "outbox_events",
        "outbox_lease",
        "idempotency_keys",
        "read_barrier",
        "international_parcel_shipments",
    ):
        assert f"op.create_table({table!r}" in first_revision, table
    assert [p for p in added if p.startswith(f"migrations/{existing}/")][-1].endswith(
        "_add_notices.py" if existing == NEW_CONTEXT else "_add_ledger_entries.py"
    )
    revisions = {
        plural: (copy / next(p for p in added if p.endswith(f"_add_{plural}.py"))).read_text()
        for plural in ("international_parcel_shipments", "ledger_entries", "notices")
    }
    contexts_module = (copy / "src" / "service" / "contexts.py").read_text()
    assert f"class {new_unit_of_work}(AbstractUnitOfWork):" in contexts_module
    for plural, unit_of_work in [
        ("international_parcel_shipments", new_unit_of_work),
        ("ledger_entries", existing_unit_of_work),
        ("notices", new_unit_of_work),
    ]:
        owned = plural in OWNED_PLURALS
        router = (copy / "src" / "entrypoints" / "api" / f"{plural}.py").read_text()
        service = (copy / "src" / "service" / f"{plural}.py").read_text()
        assert f"Depends(unit_of_work({unit_of_work}))" in router, plural
        assert "responses={**PROTECTED_OPERATION" in router, plural
        assert router.count("principal: PrincipalDep") == 5, plural  # every route needs one
        parameters = use_case_parameters(service)
        assert len(parameters) == 5, plural  # create, get, list, replace, delete
        for use_case, names in parameters.items():  # the principal second, after the uow
            assert names[:2] == (["uow", "principal"] if owned else ["uow", names[1]]), use_case
            assert ("principal" in names) == owned, use_case
        # An owned table has its owner, and an index by it for each principal's list.
        assert ("sa.Column('owner', sa.String(length=255)" in revisions[plural]) == owned, plural
        index = f"create_index('ix_{plural}_owner_id', ['owner', 'id']"
        assert (index in revisions[plural]) == owned, plural
    # An owned aggregate's unique field is unique per owner: a 409 tells no one what others hold.
    assert "sa.UniqueConstraint('owner', 'code')" in revisions["international_parcel_shipments"]
    assert "sa.UniqueConstraint('title')" in revisions["notices"]

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
        "tests/unit/test_notice_domain.py",
        "tests/unit/test_notice_api.py",
        "tests/unit/test_registration.py",
        "tests/contract/test_ledger_entries.py",
        "tests/contract/test_international_parcel_shipments.py",
        "tests/contract/test_notices.py",
        "tests/contract/test_unit_of_work.py",
        "tests/integration/test_migrations.py",
    )
    assert " passed" in output
    assert "failed" not in output
    # make aggregate regenerated docs/openapi.json and the client: they are current, and the
    # client creates and reads the new aggregates.
    run(copy, sys.executable, "-m", "pytest", "-q", "tests/unit/test_openapi_document.py")
    for plural, singular, body in CLIENT_PROBES:
        probe = [sys.executable, "-m", "tests.integration.client_probe", plural, singular]
        answer = json.loads(run(copy, *probe, body))
        assert answer["read"] == answer["created"], answer
    collected = run(copy, sys.executable, "-m", "pytest", "--collect-only", "-q", "tests/contract")
    assert "[dqlite-ledger_entries]" in collected
    assert "[dqlite-international_parcel_shipments]" in collected
    assert "[dqlite-notices]" in collected
