from datetime import UTC, datetime
from typing import Any

import pytest

from domain.errors import InvalidValue
from domain.fields import Email
from domain.posts import Post
from domain.principals import Principal
from domain.users import User, UserFilter, UserRegistered

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("text", ["a@b.co", "Ann.Lee+tag@Example.ORG", "ü@exämple.de"])
def test_a_plausible_email_is_accepted_and_keyed_in_lower_case(text: str) -> None:
    assert Email(text).key == text.lower()


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("straße@example.org", "STRASSE@example.org"),  # case folding, not lower()
        ("kate@example.org", "\u212aATE@example.org"),  # the Kelvin sign is a K
        ("caf\u00e9@example.org", "cafe\u0301@example.org"),  # NFC and NFD
    ],
)
def test_two_spellings_of_one_email_have_the_same_key(one: str, other: str) -> None:
    assert Email(one).key == Email(other).key


@pytest.mark.parametrize(
    "text", ["", "plain", "@example.org", "ann@", "ann@example", "ann@example.", "a b@c.org", "a@@"]
)
def test_an_implausible_email_is_rejected(text: str) -> None:
    with pytest.raises(InvalidValue, match="email"):
        Email(text)


def test_a_user_needs_a_name_of_1_to_100_characters_and_an_aware_time() -> None:
    with pytest.raises(InvalidValue, match="name"):
        User.register(1, "1", "", "a@b.co", NOW)
    with pytest.raises(InvalidValue, match="name"):
        User.register(1, "1", "n" * 101, "a@b.co", NOW)
    with pytest.raises(InvalidValue, match="timezone"):
        User.register(1, "1", "Ann", "a@b.co", datetime(2026, 1, 1))


@pytest.mark.parametrize("user_id", [0, -1, 2**63, True])
def test_ids_are_positive_64_bit_whole_numbers(user_id: int) -> None:
    with pytest.raises(InvalidValue, match="id"):
        User.register(user_id, "1", "Ann", "a@b.co", NOW)


def test_a_post_keeps_no_content_apart_from_empty_content() -> None:
    assert Post.write(1, 1, "t", None, NOW).content is None
    post = Post.write(2, 1, "t", "", NOW)
    assert post.content is not None
    assert post.content.text == ""


def test_a_post_title_is_1_to_200_characters() -> None:
    with pytest.raises(InvalidValue, match="title"):
        Post.write(1, 1, "", None, NOW)
    with pytest.raises(InvalidValue, match="title"):
        Post.write(1, 1, "t" * 201, None, NOW)


def test_the_user_filter_matches_names_by_case_and_emails_in_any_case() -> None:
    user = User.register(1, "1", "Ann", "Ann@Example.org", NOW)
    assert UserFilter(name_contains="An", email_contains="EXAMPLE").matches(user)
    assert not UserFilter(name_contains="an").matches(user)
    assert not UserFilter(active=False).matches(user)


def test_a_user_is_owned_by_a_subject_or_by_nobody_for_users_from_before_owners() -> None:
    assert User.register(1, "auth0|42", "Ann", "a@b.co", NOW).owner == "auth0|42"
    assert User.register(1, "", "Ann", "a@b.co", NOW).owner == ""
    with pytest.raises(InvalidValue, match="owner"):
        User.register(1, "s" * 256, "Ann", "a@b.co", NOW)


def test_a_registration_records_its_owner_and_one_stored_without_it_reads_back_as_nobodys() -> None:
    user = User.register(1, "1", "Ann", "a@b.co", NOW)
    stored_before_owners: dict[str, Any] = {"user_id": 1, "name": "Ann", "email": "a@b.co"}

    assert user.events == [UserRegistered(1, "Ann", "a@b.co", owner="1")]
    assert UserRegistered(**stored_before_owners).owner == ""


def test_a_filter_seen_by_a_principal_keeps_to_their_users_and_an_admins_to_what_was_asked() -> (
    None
):
    alice, admin = Principal("1"), Principal("9", frozenset({"admin"}))
    users = [
        User.register(1, "1", "Ann", "a@b.co", NOW),
        User.register(2, "2", "Bob", "b@b.co", NOW),
    ]

    assert [u.id for u in users if UserFilter().seen_by(alice).matches(u)] == [1]
    assert [u.id for u in users if UserFilter(owner="2").seen_by(alice).matches(u)] == [1]
    assert [u.id for u in users if UserFilter().seen_by(admin).matches(u)] == [1, 2]
    assert [u.id for u in users if UserFilter(owner="2").seen_by(admin).matches(u)] == [2]
