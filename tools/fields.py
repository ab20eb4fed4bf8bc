"""The fields of an aggregate `make aggregate` writes: `FIELDS="number:str! due:date note:str?"`
parsed and checked, and what each field and its filters look like in each generated file."""

import keyword
import re
from dataclasses import dataclass

from domain.fields import TEXT_MAX_LENGTH
from tools.sql_keywords import SQL_KEYWORDS

KINDS = ("str", "int", "bool", "float", "date", "datetime")
RESERVED_FIELDS = {"id", "details", "limit", "offset", "query", "revise"}
NAME = re.compile(r"[a-z][a-z0-9_]*")
MAX_NAME_LENGTH = 32
FIELD = re.compile(r"(?P<name>[^:]+):(?P<kind>[a-z]+)(\((?P<length>\d+)\))?(?P<flags>[?!]*)")


class Refused(Exception):
    """The request cannot be generated; nothing was written."""


def check_name(name: str, what: str, max_length: int = MAX_NAME_LENGTH) -> str:
    if not NAME.fullmatch(name) or name.endswith("_"):
        raise Refused(f"{what} {name!r} is not a lower-case identifier (a-z, 0-9, _)")
    if len(name) > max_length:  # longer ones would push generated lines past 100 columns
        raise Refused(f"{what} {name!r} is longer than {max_length} characters")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise Refused(f"{what} {name!r} is a Python keyword")
    if name.upper() in SQL_KEYWORDS:
        raise Refused(f"{what} {name!r} is an SQL reserved word")
    return name


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    length: int | None = None  # for str; None takes TEXT_MAX_LENGTH
    optional: bool = False
    unique: bool = False

    @property
    def CONST(self) -> str:  # noqa: N802  (read as a constant's prefix in the templates)
        return self.name.upper()

    @property
    def max_length_expr(self) -> str:
        return "TEXT_MAX_LENGTH" if self.length is None else str(self.length)

    @property
    def max_length(self) -> str:
        return f"{self.CONST}_MAX_LENGTH"

    @property
    def width(self) -> int:
        return TEXT_MAX_LENGTH if self.length is None else self.length

    @property
    def annotation(self) -> str:
        return self.kind + (" | None" if self.optional else "")

    def check(self, value: str) -> str:
        name = f'"{self.name}"'
        return {
            "str": f"check_text({name}, {value}, min_length=0, max_length={self.max_length})",
            "int": f"check_int({name}, {value})",
            "bool": f"check_bool({name}, {value})",
            "float": f"check_float({name}, {value})",
            "date": f"check_date({name}, {value})",
            "datetime": f"check_moment({name}, {value})",
        }[self.kind]

    @property
    def column_args(self) -> str:
        column = {
            "str": f"String({self.max_length})",
            "int": "",
            "bool": "Flag",
            "float": "Float",
            "date": "IsoDate",
            "datetime": "AwareDateTime",
        }[self.kind]
        args = [column] if column else []
        if self.unique:
            args.append("unique=True")
        return ", ".join(args)

    @property
    def api_annotation(self) -> str:
        base = {
            "str": f"Annotated[str, Field(max_length={self.max_length})]",
            "int": "Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]",
            "bool": "bool",
            "float": "float",
            # JSON has no dates: ISO 8601 text only (entrypoints/api/iso.py).
            "date": "IsoDate",
            "datetime": "IsoMoment",
        }[self.kind]
        return base + (" | None" if self.optional else "")

    @property
    def api_default(self) -> str:
        return " = None" if self.optional else ""

    # Values the generated tests use, as Python source.
    @property
    def strategy(self) -> str:
        if self.kind == "str":
            short = min(self.width, 8)
            return f"st.text(chars, max_size={short}) | st.text(chars, max_size={self.max_length})"
        return {
            "int": "small_ints | st.sampled_from([INT64_MIN, INT64_MAX]) | st.integers(INT64_MIN, INT64_MAX)",  # noqa: E501
            "bool": "st.booleans()",
            "float": "st.floats(allow_nan=False, allow_infinity=False)",
            "date": "st.dates(date(2026, 1, 1), date(2026, 1, 10)) | st.dates()",
            "datetime": "near_moments | moments",
        }[self.kind]

    @property
    def sample(self) -> str:
        return {
            "str": f"str(n)[-{self.width}:]",
            "int": "n",
            "bool": "n % 2 == 0",
            "float": "n / 4",
            "date": "date(2026, 1, 1) + timedelta(days=n)",
            "datetime": "WRITTEN_AT + timedelta(seconds=n)",
        }[self.kind]

    @property
    def sample_one(self) -> str:
        return {
            "str": repr("first"[: self.width]),
            "int": "1",
            "bool": "True",
            "float": "1.5",
            "date": "date(2026, 3, 31)",
            "datetime": "datetime(2026, 3, 31, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))",  # noqa: E501
        }[self.kind]

    @property
    def edge(self) -> str:
        if self.optional:
            return "None"
        return {
            "str": f'("€😀é%_" * {self.max_length})[: {self.max_length}]',
            "int": "INT64_MIN",
            "bool": "False",
            "float": "-1.7976931348623157e308",
            "date": "date(1, 1, 1)",
            "datetime": "datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))",
        }[self.kind]

    @property
    def bad_values(self) -> list[str]:
        bad = {
            "str": ["1", f'"x" * ({self.max_length} + 1)', repr("a\x00b")],
            "int": ["True", '"1"', "INT64_MAX + 1", "INT64_MIN - 1"],
            "bool": ["1", '"true"'],
            "float": ['float("nan")', '"1.5"', "True"],
            "date": ['"2026-03-31"', "datetime(2026, 3, 31, tzinfo=timezone.utc)"],
            "datetime": ["datetime(2026, 3, 31)", '"2026-03-31T12:00:00Z"'],
        }[self.kind]
        return bad if self.optional else [*bad, "None"]

    @property
    def json_sample(self) -> str:
        return {
            "str": repr("first"[: self.width]),
            "int": "42",
            "bool": "True",
            "float": "1.5",
            "date": '"2026-03-31"',
            "datetime": '"2026-03-31T12:00:00.123456+02:00"',
        }[self.kind]

    @property
    def json_other(self) -> str:
        return {
            "str": repr("second"[: self.width]),
            "int": "-7",
            "bool": "False",
            "float": "-2.25",
            "date": '"2026-04-15"',
            "datetime": '"2026-04-15T08:30:00-05:30"',
        }[self.kind]

    @property
    def json_bad(self) -> str:
        return {
            "str": "1",
            "int": '"42"',
            "bool": '"yes"',
            "float": '"1.5"',
            "date": '"31/03/2026"',
            "datetime": '"2026-03-31T12:00:00"',
        }[self.kind]

    @property
    def filters(self) -> list["Filter"]:
        return [Filter(self, suffix) for suffix in FILTER_SUFFIXES[self.kind]]


FILTER_SUFFIXES = {
    "str": ["_contains"],
    "int": [""],
    "bool": [""],
    "float": [],  # equality on floats is a trap; write a range filter by hand if it is needed
    "date": ["_before", "_after"],
    "datetime": ["_before", "_after"],
}


@dataclass(frozen=True)
class Filter:
    field: Field
    suffix: str

    @property
    def name(self) -> str:
        return self.field.name + self.suffix

    @property
    def annotation(self) -> str:
        return self.field.kind

    @property
    def indexed(self) -> bool:
        """Whether an index answers it: equality does; a substring or a range is checked on
        each row a page walks (domain.paging)."""
        return self.suffix == ""

    @property
    def searched(self) -> bool:
        """Whether a trigram index looks its fragment up (one of 3 characters or more)."""
        return self.suffix == "_contains"

    @property
    def check(self) -> str:
        if self.suffix == "_contains":
            return (
                f'check_text("{self.name}", self.{self.name}, min_length=0, '
                f"max_length={self.field.max_length})"
            )
        return Field(self.name, self.field.kind).check(f"self.{self.name}")

    @property
    def matcher(self) -> str:
        """The domain.fields function that matches a value against this filter."""
        return {"_contains": "contains", "_before": "before", "_after": "after"}.get(
            self.suffix, "equals"
        )

    @property
    def python_match(self) -> str:
        return f"{self.matcher}(details.{self.field.name}, self.{self.name})"

    def sql_condition(self, row: str) -> str:
        column, bound = f"{row}.{self.field.name}", f"query.{self.name}"
        if self.field.kind == "datetime":
            column, bound = f"instant({column})", f"instant_key({bound})"
        match self.suffix:
            case "_contains":
                return f"func.instr({column}, {bound}) > 0"
            case "_before":
                return f"{column} < {bound}"
            case "_after":
                return f"{column} > {bound}"
        return f"{column} == {bound}"

    @property
    def api_annotation(self) -> str:
        if self.suffix == "_contains":
            return f"Annotated[str, Field(max_length={self.field.max_length})]"
        return {"date": "IsoDate", "datetime": "IsoMoment"}.get(self.field.kind, self.field.kind)

    api_default = "None"

    @property
    def strategy(self) -> str:
        return {
            "str": "fragments",
            "int": "small_ints",
            "bool": "st.booleans()",
            "date": "st.dates(date(2026, 1, 1), date(2026, 1, 10)) | st.dates()",
            "datetime": "near_moments | moments",
        }[self.field.kind]

    @property
    def json_selecting_first(self) -> str:
        """A query value that BODY's value passes and OTHER's does not (or the reverse, for
        `_after`: see `selects`)."""
        return {
            "str": '"f"',
            "int": "42",
            "bool": '"true"',
            "date": '"2026-04-01"',
            "datetime": '"2026-04-01T00:00:00+00:00"',
        }[self.field.kind]

    @property
    def selects(self) -> str:
        return "second" if self.suffix == "_after" else "first"


def parse_fields(spec: str) -> list[Field]:
    fields: list[Field] = []
    for word in spec.split():
        match = FIELD.fullmatch(word)
        if match is None:
            raise Refused(
                f"cannot read field {word!r}: write name:kind, e.g. due:date or note:str?"
            )
        name = check_name(match["name"], "field")
        kind, length, flags = match["kind"], match["length"], match["flags"]
        if kind not in KINDS:
            raise Refused(f"field {name!r}: unknown kind {kind!r} (known: {', '.join(KINDS)})")
        if length is not None and (kind != "str" or not 1 <= int(length) <= 1_000_000):
            raise Refused(f"field {name!r}: only str takes a length, from 1 to 1000000")
        if name in RESERVED_FIELDS:
            raise Refused(f"field {name!r}: the name is taken by the generated code")
        if any(field.name == name for field in fields):
            raise Refused(f"field {name!r} appears twice")
        if len(set(flags)) != len(flags):
            raise Refused(f"field {name!r}: a flag appears twice in {flags!r}")
        if "!" in flags and kind in ("float", "datetime"):
            raise Refused(f"field {name!r}: a {kind} cannot be unique (equal values differ in SQL)")
        fields.append(
            Field(name, kind, None if length is None else int(length), "?" in flags, "!" in flags)
        )
    if not fields:
        raise Refused("an aggregate needs at least one field")
    filter_names = [f.name for field in fields for f in field.filters]
    if len(set(filter_names)) != len(filter_names):
        raise Refused(f"two fields make filters of the same name: {sorted(filter_names)}")
    return fields
