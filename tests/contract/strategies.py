"""Hypothesis strategies for valid domain values, biased towards the tricky ones."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from domain.accounts import MAX_CENTS
from domain.todos import KEY_MAX_LENGTH, VALUE_MAX_LENGTH, TodoFilter
from domain.transfers import TransferFilter
from domain.users import UserFilter

# Case pairs, LIKE wildcards, accents, astral code points: where SQL and Python disagree first.
TRICKY = "aAbB%_\\ é€😀"
_any_storable = st.characters(codec="utf-8", exclude_characters="\x00")
chars = st.one_of(st.sampled_from(TRICKY), _any_storable)

keys = st.text(chars, min_size=1, max_size=4) | st.text(chars, min_size=1, max_size=KEY_MAX_LENGTH)
values = st.text(chars, max_size=6) | st.text(chars, max_size=VALUE_MAX_LENGTH)
fragments = st.text(st.sampled_from(TRICKY), max_size=2)

todo_filters = st.builds(
    TodoFilter,
    key_contains=st.none() | fragments,
    value_contains=st.none() | fragments,
    done=st.none() | st.booleans(),
    limit=st.integers(1, 12) | st.just(1000),
    offset=st.integers(0, 12),
)

# Users and posts: small alphabets so that names, emails and filters collide often.
offsets = st.sampled_from([timedelta(0), timedelta(hours=2), timedelta(hours=-5, minutes=-30)])
moments = st.builds(
    lambda seconds, offset: (
        datetime(2026, 1, 1, tzinfo=UTC).astimezone(timezone(offset))
        + timedelta(microseconds=seconds)
    ),
    st.integers(0, 10**12),
    offsets,
)
names = st.text(st.sampled_from("aAbé😀 _%"), min_size=1, max_size=6)
emails = st.builds(
    lambda local, domain: f"{local}@{domain}.org",
    st.text(st.sampled_from("aAbB."), min_size=1, max_size=3),
    st.sampled_from(["x", "X", "ex"]),
)
user_filters = st.builds(
    UserFilter,
    active=st.none() | st.booleans(),
    name_contains=st.none() | st.text(st.sampled_from("aAé_"), max_size=2),
    email_contains=st.none() | st.text(st.sampled_from("aAbB@x."), max_size=3),
    limit=st.integers(1, 8) | st.just(1000),
    offset=st.integers(0, 8),
)
titles = st.text(chars, min_size=1, max_size=8)
contents = st.none() | st.text(chars, max_size=8)

# Accounts and transfers.
balances = st.integers(0, 1_000) | st.just(MAX_CENTS)
amounts = st.integers(1, 600)
idempotency_keys = st.sampled_from(["k1", "k2", "k3", "k4", "k5", "k6"])
transfer_filters = st.builds(
    TransferFilter,
    account_id=st.none() | st.integers(1, 5),
    limit=st.integers(1, 8) | st.just(1000),
    offset=st.integers(0, 8),
)
