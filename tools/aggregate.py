"""`make aggregate NAME=invoice FIELDS="number:str! amount_cents:int due:date note:str?"
CONTEXT=billing`.

Writes a whole aggregate in the shape of the examples (domain, use cases, both repositories and
the table, the router, an Alembic revision of its context's database, contract and unit tests)
from the Jinja templates in tools/templates/aggregate, registers it in the four registration
files, and formats what it wrote. The aggregate joins the bounded context named, or a new one
(its unit of work, its registration, its database and its migration history). Refuses, writing
nothing, a name or field it cannot generate correctly.

Field kinds: str, str(N), int, bool, float, date, datetime; `?` after the kind makes a field
optional, `!` makes it unique (409 on a duplicate). The store assigns an integer `id`.
"""

import argparse
import keyword
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from adapters.contexts import CONTEXTS
from adapters.outbox import OutboxEventRow, OutboxLeaseRow
from domain.fields import TEXT_MAX_LENGTH
from tools.sql_keywords import SQL_KEYWORDS

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = Path(__file__).resolve().parent / "templates" / "aggregate"
KINDS = ("str", "int", "bool", "float", "date", "datetime")
RESERVED_FIELDS = {"id", "details", "limit", "offset", "query", "revise"}
NAME = re.compile(r"[a-z][a-z0-9_]*")
MAX_NAME_LENGTH = 32
# A context's name goes into marker comments that must fit in 100 columns, indented.
MAX_CONTEXT_NAME_LENGTH = 20
NEW_CONTEXT_MARKER = "# (make aggregate adds a new context above this line)"
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


def plural_of(singular: str) -> str:
    if singular.endswith("y") and singular[-2:-1] not in tuple("aeiou"):
        return singular[:-1] + "ies"
    if singular.endswith(("s", "x", "z", "ch", "sh")):
        return singular + "es"
    return singular + "s"


@dataclass(frozen=True)
class BoundedContext:
    """The context an aggregate joins: one registered already, or a new one."""

    name: str
    unit_of_work: str  # its class in service/contexts.py
    new: bool = False

    @property
    def repositories_marker(self) -> str:
        return f"# (make aggregate adds the {self.name} context's repositories above this line)"

    @property
    def registrations_marker(self) -> str:
        return f"# (make aggregate adds the {self.name} context's registrations above this line)"


@dataclass(frozen=True)
class RegisteredContext:
    """A context of CONTEXTS in src/adapters/contexts.py, as the generator reads it."""

    name: str
    unit_of_work: str
    aggregates: tuple[str, ...]


def unit_of_work_class(context: str) -> str:
    """billing -> BillingUnitOfWork, some_thing -> SomeThingUnitOfWork."""
    return "".join(part.capitalize() for part in context.split("_")) + "UnitOfWork"


@dataclass(frozen=True)
class Aggregate:
    singular: str
    plural: str
    fields: list[Field]
    context: BoundedContext

    @property
    def Class(self) -> str:  # noqa: N802  (the class name, as the templates read it)
        return "".join(part.capitalize() for part in self.singular.split("_"))

    @property
    def CONST(self) -> str:  # noqa: N802
        return self.plural.upper()

    @property
    def article(self) -> str:
        return "an" if self.singular[0] in "aeiou" else "a"

    @property
    def text_fields(self) -> list[Field]:
        return [f for f in self.fields if f.kind == "str"]

    @property
    def unique_fields(self) -> list[Field]:
        return [f for f in self.fields if f.unique]

    @property
    def filters(self) -> list[Filter]:
        return [q for f in self.fields for q in f.filters]

    def _kinds(self) -> set[str]:
        return {f.kind for f in self.fields}

    @property
    def imports_date(self) -> str:
        return ", ".join(k for k in ("date", "datetime") if k in self._kinds())

    imports_date_test = "date, datetime, timedelta, timezone"

    @property
    def uses_string(self) -> bool:
        return "str" in self._kinds()

    @property
    def uses_float(self) -> bool:
        return "float" in self._kinds()

    @property
    def uses_aware(self) -> bool:
        return "datetime" in self._kinds()

    @property
    def domain_imports(self) -> str:
        checks = {
            "str": "check_text",
            "int": "check_int",
            "bool": "check_bool",
            "float": "check_float",
            "date": "check_date",
            "datetime": "check_moment",
        }
        names = {"check_id", *(checks[k] for k in self._kinds())}
        names |= {q.matcher for q in self.filters}
        if any(f.kind == "str" and f.length is None for f in self.fields):
            names.add("TEXT_MAX_LENGTH")
        return ", ".join(sorted(names))

    @property
    def orm_imports(self) -> str:
        names = {"Base", "flush", "insert", "next_id"}
        names |= {{"bool": "Flag", "date": "IsoDate"}.get(k, "") for k in self._kinds()} - {""}
        if self.uses_aware:
            names |= {"AwareDateTime", "instant", "instant_key"}
        return ", ".join(sorted(names))

    @property
    def api_iso_imports(self) -> str:
        """The router's date and time types from entrypoints/api/iso.py ("" for none)."""
        names = {"date": "IsoDate", "datetime": "IsoMoment"}
        return ", ".join(names[k] for k in ("date", "datetime") if k in self._kinds())

    @property
    def api_field_imports(self) -> str:
        """What the router needs from domain/fields.py ("" for nothing)."""
        return "INT64_MAX, INT64_MIN" if "int" in self._kinds() else ""

    def files(self) -> dict[str, Path]:
        """Template name -> the file it becomes."""
        return {
            "domain.py.jinja": ROOT / "src" / "domain" / f"{self.plural}.py",
            "service.py.jinja": ROOT / "src" / "service" / f"{self.plural}.py",
            "adapters.py.jinja": ROOT / "src" / "adapters" / f"{self.plural}.py",
            "api.py.jinja": ROOT / "src" / "entrypoints" / "api" / f"{self.plural}.py",
            "test_contract.py.jinja": ROOT / "tests" / "contract" / f"test_{self.plural}.py",
            "test_domain.py.jinja": ROOT / "tests" / "unit" / f"test_{self.singular}_domain.py",
            "test_api.py.jinja": ROOT / "tests" / "unit" / f"test_{self.singular}_api.py",
        }

    @property
    def migrations(self) -> Path:
        """Its context's Alembic history (made by scripts/new_migration.py for a new one)."""
        return ROOT / "migrations" / self.context.name

    def registrations(self) -> list["Registration"]:
        c, p, context = self.Class, self.plural, self.context
        repository = f"{p}: Abstract{c}Repository"
        registration = f'Registration("{p}", SqlAlchemy{c}Repository, InMemory{c}Repository),'
        if context.new:
            unit_of_work = [
                f"class {context.unit_of_work}(AbstractUnitOfWork):",
                f'    """The {context.name} context."""',
                "",
                f"    {repository}",
                f"    {context.repositories_marker}",
                "",
                "",
            ]
            entry = [
                "Context(",
                f'    "{context.name}",',
                f"    {context.unit_of_work},",
                "    (",
                f"        {registration}",
                f"        {context.registrations_marker}",
                "    ),",
                "),",
            ]
        else:
            unit_of_work, entry = [repository], [registration]
        service_imports = [f"from domain.{p} import Abstract{c}Repository"]
        adapters_imports = [
            f"from adapters.{p} import InMemory{c}Repository, SqlAlchemy{c}Repository"
        ]
        if context.new:
            service_imports.append("from service.unit_of_work import AbstractUnitOfWork")
            adapters_imports.append(f"from service.contexts import {context.unit_of_work}")
        return [
            Registration(
                ROOT / "src" / "service" / "contexts.py",
                tuple(service_imports),
                tuple(unit_of_work),
                NEW_CONTEXT_MARKER if context.new else context.repositories_marker,
            ),
            Registration(
                ROOT / "src" / "adapters" / "contexts.py",
                tuple(adapters_imports),
                tuple(entry),
                NEW_CONTEXT_MARKER if context.new else context.registrations_marker,
            ),
            Registration(
                ROOT / "src" / "entrypoints" / "api" / "__init__.py",
                (f"from entrypoints.api.{p} import router as {p}_router",),
                (f"{p}_router,",),
                "# (make aggregate adds its router above this line)",
            ),
            Registration(
                ROOT / "tests" / "contract" / "aggregates.py",
                (f"from tests.contract.test_{p} import {self.CONST}",),
                (f"{self.CONST},",),
                "# (make aggregate adds its probe above this line)",
            ),
        ]


@dataclass(frozen=True)
class Registration:
    """What an aggregate adds to one existing file: imports, and lines above a marker comment
    (indented as the marker is)."""

    path: Path
    import_lines: tuple[str, ...]
    entry_lines: tuple[str, ...]
    marker: str

    def added_to(self, text: str) -> str:
        lines = text.split("\n")
        marker = next((i for i, line in enumerate(lines) if self.marker in line), None)
        if marker is None:
            raise Refused(f"{self.path.relative_to(ROOT)} lost its line {self.marker!r}")
        indent = lines[marker][: len(lines[marker]) - len(lines[marker].lstrip())]
        lines[marker:marker] = [indent + line if line else "" for line in self.entry_lines]
        position = _after_imports(lines)
        lines[position:position] = self.import_lines  # ruff sorts and merges them
        return "\n".join(lines)


def _after_imports(lines: list[str]) -> int:
    """The index just after the last top-level import statement, or after the module's
    docstring when there is none (ruff then adds the blank lines)."""
    imports = [i for i, line in enumerate(lines) if line.startswith(("from ", "import "))]
    if not imports:
        return _after_docstring(lines)
    last = imports[-1]
    if lines[last].endswith("("):
        last = next(i for i in range(last, len(lines)) if lines[i] == ")")
    return last + 1


def _after_docstring(lines: list[str]) -> int:
    quotes = lines[0][:3] if lines and lines[0][:3] in ('"""', "'''") else ""
    if not quotes:
        return 0
    if lines[0].count(quotes) >= 2:
        return 1
    return next(i for i in range(1, len(lines)) if quotes in lines[i]) + 1


def render(aggregate: Aggregate) -> dict[Path, str]:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Python source, not HTML
    )
    environment.filters["sql"] = lambda q: q.sql_condition(f"{aggregate.Class}Row")
    return {
        path: environment.get_template(name).render(a=aggregate)
        for name, path in aggregate.files().items()
    }


def registered_contexts() -> list[RegisteredContext]:
    """The contexts of CONTEXTS in src/adapters/contexts.py, as this process imported them."""
    return [
        RegisteredContext(
            context.name,
            context.unit_of_work.__name__,
            tuple(registration.name for registration in context.registrations),
        )
        for context in CONTEXTS
    ]


def existing_aggregates() -> set[str]:
    return {name for context in registered_contexts() for name in context.aggregates}


def choose_context(name: str | None) -> BoundedContext:
    """The context named, registered or new; refused if the name cannot be one."""
    contexts = registered_contexts()
    if not name:
        known = ", ".join(c.name for c in contexts)
        choices = f"one of {known}, or a new one" if known else "none exists yet: name a new one"
        raise Refused(f"name the aggregate's bounded context (CONTEXT=, --context): {choices}")
    check_name(name, "context", MAX_CONTEXT_NAME_LENGTH)
    for context in contexts:
        if context.name == name:
            return BoundedContext(name, context.unit_of_work)
    unit_of_work = unit_of_work_class(name)
    uses = re.compile(rf"\b{unit_of_work}\b")
    for path in sorted([*(ROOT / "src").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]):
        if uses.search(path.read_text()):
            raise Refused(
                f"a new context {name!r} would be {unit_of_work}, "
                f"a name {path.relative_to(ROOT)} holds already"
            )
    if (ROOT / "migrations" / name).exists():
        raise Refused(f"migrations/{name} exists, yet no context {name!r} is registered")
    return BoundedContext(name, unit_of_work, new=True)


def generate(
    singular: str,
    spec: str,
    plural: str | None = None,
    *,
    context: str | None,
    migrate: bool = True,
) -> list[Path]:
    """Write the aggregate into `context` (registered or new) and register it; return every
    file written or changed."""
    singular = check_name(singular, "name")
    plural = check_name(plural or plural_of(singular), "plural name")
    if plural == singular:
        raise Refused(f"the plural of {singular!r} must differ from it (give --plural)")
    fields = parse_fields(spec)
    aggregate = Aggregate(singular, plural, fields, choose_context(context))
    if plural in existing_aggregates():
        raise Refused(f"an aggregate {plural!r} is registered already")
    sources = render(aggregate)
    taken = [str(path.relative_to(ROOT)) for path in sources if path.exists()]
    if taken:
        raise Refused(f"these files exist already: {', '.join(taken)}")
    registrations = aggregate.registrations()
    originals = {r.path: r.path.read_text() for r in registrations}
    edited = dict(originals)
    for r in registrations:  # two may edit one file
        edited[r.path] = r.added_to(edited[r.path])
    history = aggregate.migrations
    history_existed = history.exists()
    before = set(history.glob("*.py"))
    try:
        for path, text in [*sources.items(), *edited.items()]:
            path.write_text(text)
        touched = [*sources, *edited]
        format_python(touched)
        if migrate:
            new_migration = "scripts/new_migration.py"
            _run(sys.executable, new_migration, aggregate.context.name, f"add {plural}")
            check_migration(aggregate, sorted(set(history.glob("*.py")) - before))
    except BaseException:
        for path in sources:
            path.unlink(missing_ok=True)
        for path, text in originals.items():
            path.write_text(text)
        if not history_existed:
            shutil.rmtree(history, ignore_errors=True)
        for path in set(history.glob("*.py")) - before:
            path.unlink()
        raise
    return [*touched, *sorted(set(history.glob("*.py")) - before)]


def check_migration(aggregate: Aggregate, revisions: list[Path]) -> None:
    """The revision Alembic wrote creates the aggregate's table, and, as the first of a new
    context, the outbox's too."""
    tables = [aggregate.plural]
    if aggregate.context.new:
        tables += [OutboxEventRow.__tablename__, OutboxLeaseRow.__tablename__]
    text = "".join(revision.read_text() for revision in revisions)
    missing = [t for t in tables if f"op.create_table({t!r}" not in text]
    if len(revisions) != 1 or missing:
        written = ", ".join(str(r.relative_to(ROOT)) for r in revisions) or "no revision"
        raise Refused(f"the migration does not create {missing} ({written}); check the models")


def format_python(paths: list[Path]) -> None:
    ruff = str(Path(sys.executable).with_name("ruff"))
    _run(ruff, "format", "--quiet", *map(str, paths))
    _run(ruff, "check", "--fix", "--quiet", *map(str, paths))
    _run(ruff, "format", "--quiet", *map(str, paths))


def _run(*command: str) -> None:
    subprocess.run(command, cwd=ROOT, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make aggregate", description=__doc__.split("\n\n")[0])
    parser.add_argument("name", help="the aggregate's name, singular (invoice)")
    parser.add_argument("fields", help='e.g. "number:str! amount_cents:int due:date note:str?"')
    parser.add_argument("--plural", help="when adding s, es or ies is wrong")
    parser.add_argument(
        "--context", help="the bounded context it joins (billing): a registered one, or a new one"
    )
    args = parser.parse_args(argv)
    try:
        written = generate(args.name, args.fields, args.plural, context=args.context)
    except Refused as refusal:
        print(f"make aggregate: {refusal}; nothing was written", file=sys.stderr)
        return 2
    for path in written:
        print(f"  wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
