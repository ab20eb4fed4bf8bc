"""Figures tests measure (speeds, gaps, counts), shown at the end of every run, not only
with `pytest -s`. Tests record them; nothing asserts on timing through this."""

RECORDED: list[str] = []


def measured(line: str) -> None:
    RECORDED.append(line)
