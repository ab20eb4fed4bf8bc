"""The in-memory tables' copies: whatever a row holds, a change to a copy never reaches the
stored row, nor the other way round; only what cannot change is shared."""

from dataclasses import dataclass, field

from adapters.memory.copies import copied


@dataclass(frozen=True, slots=True)
class Name:
    text: str


@dataclass(slots=True)
class Plain:
    name: Name
    count: int
    note: str | None = None


@dataclass
class Listed:
    name: Name
    tags: list[str] = field(default_factory=list)


@dataclass
class Grown:
    name: Name

    def grow(self) -> None:
        self.later = ["set outside the fields"]


def test_a_value_that_cannot_change_is_shared() -> None:
    name = Name("ada")

    assert copied(name) is name


def test_an_entity_of_values_that_cannot_change_is_copied_and_changes_stay_apart() -> None:
    stored = Plain(Name("ada"), 1)

    copy = copied(stored)
    copy.count = 2
    copy.name = Name("bo")

    assert stored == Plain(Name("ada"), 1)


def test_a_list_in_a_field_or_set_beside_the_fields_is_copied_too() -> None:
    listed, grown = Listed(Name("ada"), ["a"]), Grown(Name("bo"))
    grown.grow()

    listed_copy, grown_copy = copied(listed), copied(grown)
    listed_copy.tags.append("b")
    grown_copy.later.append("more")

    assert listed.tags == ["a"]
    assert grown.later == ["set outside the fields"]
