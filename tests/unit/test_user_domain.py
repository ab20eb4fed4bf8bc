from datetime import UTC, datetime

import pytest

from domain.errors import InvalidValue
from domain.posts import Post
from domain.users import Email, User, UserFilter

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
        User.register(1, "", "a@b.co", NOW)
    with pytest.raises(InvalidValue, match="name"):
        User.register(1, "n" * 101, "a@b.co", NOW)
    with pytest.raises(InvalidValue, match="timezone"):
        User.register(1, "Ann", "a@b.co", datetime(2026, 1, 1))


@pytest.mark.parametrize("user_id", [0, -1, 2**63, True])
def test_ids_are_positive_64_bit_whole_numbers(user_id: int) -> None:
    with pytest.raises(InvalidValue, match="id"):
        User.register(user_id, "Ann", "a@b.co", NOW)


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
    user = User.register(1, "Ann", "Ann@Example.org", NOW)
    assert UserFilter(name_contains="An", email_contains="EXAMPLE").matches(user)
    assert not UserFilter(name_contains="an").matches(user)
    assert not UserFilter(active=False).matches(user)
