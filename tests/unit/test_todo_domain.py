from typing import Any

import pytest

from domain.errors import InvalidValue
from domain.paging import MAX_LIMIT, MAX_OFFSET, Cursor
from domain.principals import SUBJECT_MAX_LENGTH, Principal
from domain.todos import Todo, TodoFilter, TodoKey, TodoValue


@pytest.mark.parametrize("text", ["k", "k" * 128, "ünï €😀", " "])
def test_a_key_of_1_to_128_storable_characters_is_accepted(text: str) -> None:
    assert TodoKey(text).text == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "1 to 128 characters"),
        ("k" * 129, "1 to 128 characters"),
        ("a\x00b", "NUL"),
        ("\ud800", "surrogate"),
        (5, "must be a string"),
        ("a\nb", "control characters"),  # no route could address it
        ("ab\n", "control characters"),
        ("tab\there", "control characters"),
    ],
)
def test_an_unstorable_or_unaddressable_key_is_rejected_with_the_reason(
    text: object, reason: str
) -> None:
    with pytest.raises(InvalidValue, match=reason) as error:
        TodoKey(text)  # type: ignore[arg-type]
    assert error.value.field == "key"


def test_a_key_spelled_two_ways_by_unicode_is_one_key() -> None:
    composed, decomposed = "caf\u00e9", "cafe\u0301"

    assert TodoKey(composed) == TodoKey(decomposed)
    assert TodoKey(decomposed).text == composed


def test_a_value_may_be_empty_but_not_longer_than_128_characters() -> None:
    assert TodoValue("").text == ""
    with pytest.raises(InvalidValue, match="value"):
        TodoValue("v" * 129)


def test_a_new_todo_is_not_done_and_can_be_marked_done_and_undone() -> None:
    todo = Todo.create("1", "k", "v")
    assert not todo.done
    todo.mark_done()
    assert todo.done
    todo.mark_done(False)
    assert not todo.done


@pytest.mark.parametrize("done", [1, "true", None])
def test_done_must_be_a_real_boolean(done: object) -> None:
    with pytest.raises(InvalidValue, match="true or false"):
        Todo("1", TodoKey("k"), TodoValue(""), done)  # type: ignore[arg-type]
    with pytest.raises(InvalidValue, match="true or false"):
        Todo.create("1", "k", "").mark_done(done)  # type: ignore[arg-type]


def test_changing_the_value_validates_it() -> None:
    todo = Todo.create("1", "k", "old")
    with pytest.raises(InvalidValue):
        todo.change_value("x" * 129)
    assert todo.value.text == "old"


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": MAX_LIMIT + 1}, "limit"),
        ({"limit": True}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": MAX_OFFSET + 1}, "offset"),
        ({"offset": 1, "after": Cursor(("1", "k"))}, "offset"),
        ({"offset": 1, "key_contains": "k"}, "offset"),
        ({"offset": 1, "value_contains": "v"}, "offset"),
        ({"after": Cursor((1,))}, "after"),
        ({"after": Cursor(("1", "k", "extra"))}, "after"),
        ({"with_total": "yes"}, "with_total"),
    ],
)
def test_a_filter_window_out_of_bounds_or_ill_combined_is_rejected(
    window: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidValue) as error:
        TodoFilter(**window)
    assert error.value.field == field


def test_a_filter_defaults_to_the_first_100_todos() -> None:
    query = TodoFilter()
    assert (query.limit, query.offset) == (100, 0)


def test_a_filter_matches_only_when_every_condition_holds() -> None:
    todo = Todo.create("1", "shopping", "Milk")
    todo.mark_done()
    assert TodoFilter(key_contains="shop", value_contains="Milk", done=True).matches(todo)
    assert not TodoFilter(key_contains="shop", done=False).matches(todo)
    assert not TodoFilter(value_contains="milk").matches(todo)  # case-sensitive
    assert TodoFilter(key_contains="", value_contains="").matches(todo)
    assert TodoFilter(owner="1", key_contains="shop").matches(todo)
    assert not TodoFilter(owner="2").matches(todo)


@pytest.mark.parametrize("owner", ["1", "", "s" * SUBJECT_MAX_LENGTH])
def test_a_todo_belongs_to_a_subject_or_to_nobody_when_its_owner_is_empty(owner: str) -> None:
    assert Todo.create(owner, "k", "v").owner == owner


@pytest.mark.parametrize("owner", ["s" * (SUBJECT_MAX_LENGTH + 1), "a\x00b", 1])
def test_an_owner_that_no_subject_could_be_is_rejected(owner: object) -> None:
    with pytest.raises(InvalidValue) as error:
        Todo.create(owner, "k", "v")  # type: ignore[arg-type]
    assert error.value.field == "owner"
    with pytest.raises(InvalidValue):
        TodoFilter(owner=owner)  # type: ignore[arg-type]


def test_anyone_but_an_admin_lists_only_their_own_todos_whatever_owner_they_ask_for() -> None:
    alice = Principal("1")

    assert TodoFilter(done=True).seen_by(alice) == TodoFilter(owner="1", done=True)
    assert TodoFilter(owner="2").seen_by(alice) == TodoFilter(owner="1")


def test_an_admin_lists_every_owner_s_todos_or_those_of_the_owner_asked_for() -> None:
    admin = Principal("9", frozenset({"admin"}))

    assert TodoFilter().seen_by(admin) == TodoFilter()
    assert TodoFilter(owner="2").seen_by(admin) == TodoFilter(owner="2")
