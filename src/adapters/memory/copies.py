"""Copies of what the in-memory tables store, no deeper than a change could reach.

A row copied in and out of a table is a deep copy in effect: a change to an entity not saved
must not reach the table. `copy.deepcopy` walks every field of every value object, which cost
an eighth of a GET on the in-memory store (17 µs a todo). An entity whose fields' declared
types are all immutable (text, numbers, dates, enums, frozen dataclasses of those, tuples
of them) is copied as a shallow copy, which is then as deep as a change can go; a frozen one
of those is not copied at all. Anything else is deep-copied, as before.
"""

import copy
import dataclasses
import datetime
import decimal
import enum
import functools
import types
import typing
import uuid
from typing import Any

_IMMUTABLE: tuple[type, ...] = (
    str,
    bytes,
    int,
    float,
    bool,
    type(None),
    decimal.Decimal,
    datetime.date,
    datetime.time,
    datetime.timedelta,
    uuid.UUID,
    enum.Enum,
)


_HOW: dict[type, str] = {}  # each class's way, found once


def copied[V](value: V) -> V:
    kind: type = type(value)
    how = _HOW.get(kind) or _HOW.setdefault(kind, _how_to_copy(kind))
    if how == "share":
        return value
    if how == "shallow" and _fields_only(value):
        return copy.copy(value)
    return copy.deepcopy(value)


def _fields_only(value: object) -> bool:
    """No attribute beside its dataclass fields (one set outside them could be a list)."""
    attributes = getattr(value, "__dict__", None)
    return attributes is None or len(attributes) <= len(dataclasses.fields(type(value)))  # type: ignore[arg-type]


def _how_to_copy(kind: type) -> str:
    if not dataclasses.is_dataclass(kind) or not _fields_immutable(kind):
        return "share" if _immutable_type(kind) else "deep"
    return "share" if kind.__dataclass_params__.frozen else "shallow"  # type: ignore[attr-defined]


def _fields_immutable(kind: type) -> bool:
    try:
        hints = typing.get_type_hints(kind)
    except (NameError, TypeError):  # an annotation that cannot be resolved: assume the worst
        return False
    fields = {field.name for field in dataclasses.fields(kind)}
    if set(kind.__dict__.get("__slots__", ())) - fields:
        return False  # state beside the fields
    return all(_immutable_annotation(hints.get(name, Any)) for name in fields)


def _immutable_annotation(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return all(_immutable_annotation(argument) for argument in arguments)
    if origin is typing.Literal:
        return True
    if origin in (tuple, frozenset):
        return all(_immutable_annotation(a) for a in arguments if a is not Ellipsis)
    return isinstance(annotation, type) and _immutable_type(annotation)


@functools.cache
def _immutable_type(kind: type) -> bool:
    if issubclass(kind, _IMMUTABLE):
        return True
    frozen = dataclasses.is_dataclass(kind) and kind.__dataclass_params__.frozen  # type: ignore[attr-defined]
    return bool(frozen) and _fields_immutable(kind)
