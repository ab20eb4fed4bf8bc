"""Hypothesis building blocks every aggregate's contract tests use: text biased towards where
SQL and Python disagree first."""

from hypothesis import strategies as st

# Case pairs, LIKE wildcards, accents, astral code points: where SQL and Python disagree first.
TRICKY = "aAbB%_\\ é€😀"
_any_storable = st.characters(codec="utf-8", exclude_characters="\x00")
chars = st.one_of(st.sampled_from(TRICKY), _any_storable)
# For text that names a resource in a URL (a todo's key): no control characters.
key_chars = st.one_of(
    st.sampled_from(TRICKY), st.characters(codec="utf-8", exclude_categories=["Cc"])
)
