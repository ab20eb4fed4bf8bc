"""Hypothesis strategies for valid domain values, biased towards the tricky ones."""

from hypothesis import strategies as st

from domain.todos import KEY_MAX_LENGTH, VALUE_MAX_LENGTH, TodoFilter

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
