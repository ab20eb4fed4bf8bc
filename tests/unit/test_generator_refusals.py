"""`make aggregate` refuses what it cannot generate correctly, before writing anything."""

import pytest

from adapters.repositories import REPOSITORIES
from tools.aggregate import Aggregate, Refused, generate, parse_fields, plural_of


def snapshot() -> dict[str, str]:
    """Every file the generator could write or edit, with its text ('' when absent)."""
    aggregate = Aggregate("widget", "widgets", parse_fields("name:str"))
    paths = [*aggregate.files().values(), *(r.path for r in aggregate.registrations())]
    return {str(p): p.read_text() if p.exists() else "" for p in paths}


@pytest.mark.parametrize(
    ("name", "fields", "reason"),
    [
        ("Widget", "name:str", "not a lower-case identifier"),
        ("wid-get", "name:str", "not a lower-case identifier"),
        ("class", "name:str", "Python keyword"),
        ("match", "name:str", "Python keyword"),
        ("order", "name:str", "SQL reserved word"),
        ("widget", "name:text", "unknown kind 'text'"),
        ("widget", "name:str name:int", "appears twice"),
        ("widget", "select:str", "SQL reserved word"),
        ("widget", "from:str", "Python keyword"),
        ("widget", "id:int", "taken by the generated code"),
        ("widget", "name", "cannot read field"),
        ("widget", "size:int(4)", "only str takes a length"),
        ("widget", "at:datetime!", "cannot be unique"),
        ("widget", "due:date due_before:int", "filters of the same name"),
        ("widget", "", "at least one field"),
        ("w" * 33, "name:str", "longer than 32"),
        ("widget", f"{'n' * 33}:str", "longer than 32"),
    ],
)
def test_a_request_it_cannot_generate_is_refused_and_nothing_is_written(
    name: str, fields: str, reason: str
) -> None:
    before = snapshot()

    with pytest.raises(Refused, match=reason):
        generate(name, fields, migrate=False)

    assert snapshot() == before


def test_plurals_follow_english_spelling_for_the_common_cases() -> None:
    assert [plural_of(s) for s in ("invoice", "box", "category", "day", "batch")] == [
        "invoices",
        "boxes",
        "categories",
        "days",
        "batches",
    ]


@pytest.mark.skipif(not REPOSITORIES, reason="no aggregate is registered")
def test_an_aggregate_that_is_registered_already_is_refused_and_nothing_is_written() -> None:
    before = snapshot()

    with pytest.raises(Refused, match="registered already"):
        generate("whatever", "name:str", plural=REPOSITORIES[0].name, migrate=False)

    assert snapshot() == before
