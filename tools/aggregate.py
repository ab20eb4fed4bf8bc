"""`make aggregate NAME=invoice FIELDS="number:str! amount_cents:int due:date note:str?"
CONTEXT=billing` (and `OWNED=no` for a shared one).

Writes a whole aggregate in the shape of the examples (domain, use cases, both repositories and
the table, the router, an Alembic revision of its context's database, contract and unit tests)
from the Jinja templates in tools/templates/aggregate, registers it in the four registration
files, and formats what it wrote. The aggregate joins the bounded context named, or a new one
(its unit of work, its registration, its database and its migration history). Refuses, writing
nothing, a name or field it cannot generate correctly.

Owned by default: each one belongs to the principal who created it (an `owner` column holding
the principal's subject); someone else's does not exist for a principal (404), an admin reads
every one and changes none (403), and a list holds only one's own. `--owned no` makes a shared
one, which every signed-in principal reads and changes. Either way its routes need a token.

Field kinds: str, str(N), int, bool, float, date, datetime; `?` after the kind makes a field
optional, `!` makes it unique (409 on a duplicate; per owner, for an owned aggregate). The store
assigns an integer `id`.
"""

import argparse
import ast
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from adapters.contexts import CONTEXTS
from adapters.outbox import OutboxEventRow, OutboxLeaseRow
from tools import openapi
from tools.fields import Field, Filter, Refused, check_name, parse_fields

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = Path(__file__).resolve().parent / "templates" / "aggregate"
# A context's name goes into marker comments that must fit in 100 columns, indented.
MAX_CONTEXT_NAME_LENGTH = 20
NEW_CONTEXT_MARKER = "# (make aggregate adds a new context above this line)"
# Names the generated modules use for something else: an aggregate named so would shadow them.
RESERVED_AGGREGATE_NAMES = {"principal"}  # every route's and owned use case's parameter
# The owner's subject: a field of this name would clash with the owner an aggregate is given.
OWNER = "owner"


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

    @property
    def joinable(self) -> bool:
        """Whether `make aggregate` may add to it: it has its marker lines (the platform's
        identity context has none: it takes no generated aggregate)."""
        marker = BoundedContext(self.name, self.unit_of_work).repositories_marker
        units_of_work = ROOT / "src" / "service" / "contexts.py"
        return units_of_work.exists() and marker in units_of_work.read_text()


def unit_of_work_class(context: str) -> str:
    """billing -> BillingUnitOfWork, some_thing -> SomeThingUnitOfWork."""
    return "".join(part.capitalize() for part in context.split("_")) + "UnitOfWork"


@dataclass(frozen=True)
class Aggregate:
    singular: str
    plural: str
    fields: list[Field]
    context: BoundedContext
    owned: bool = True  # each belongs to the principal who created it; False: shared

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

    @property
    def indexed_filters(self) -> list[Filter]:
        return [q for q in self.filters if q.indexed]

    @property
    def searched_filters(self) -> list[Filter]:
        return [q for q in self.filters if q.searched]

    def filter_indexes(self, q: Filter) -> list[tuple[str, list[str]]]:
        """The indexes a list narrowed by `q` reads through, in id order: alone (an admin's,
        or a shared aggregate's) and with the owner's (a principal's)."""
        alone = (f"ix_{self.plural}_{q.field.name}", [q.field.name])
        if not self.owned:
            return [alone]
        return [alone, (f"ix_{self.plural}_owner_{q.field.name}", [OWNER, q.field.name])]

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
        names = {"check_id", "check_bool", *(checks[k] for k in self._kinds())}
        names |= {q.matcher for q in self.filters}
        if self.owned:
            names |= {"check_text", "equals"}  # the owner's subject, and the filter by it
        if any(f.kind == "str" and f.length is None for f in self.fields):
            names.add("TEXT_MAX_LENGTH")
        return ", ".join(sorted(names))

    @property
    def sqlalchemy_imports(self) -> str:
        names = {"ColumnElement"}
        if self.uses_string:
            names.add("func")
        if self.uses_string or self.owned:
            names.add("String")
        if self.uses_float:
            names.add("Float")
        if self.owned or self.indexed_filters:
            names.add("Index")
        if self.owned and self.unique_fields:
            names.add("UniqueConstraint")
        return ", ".join(sorted(names))

    @property
    def orm_imports(self) -> str:
        names = {"Base", "Connection", "delete_row", "get_row", "insert", "next_id", "update_row"}
        names |= {{"bool": "Flag", "date": "IsoDate"}.get(k, "") for k in self._kinds()} - {""}
        if self.uses_aware:
            names |= {"AwareDateTime", "instant", "instant_key"}
        return ", ".join(sorted(names))

    @property
    def owner_index(self) -> str:
        """The index a principal's list is read through: its owner's rows in id order."""
        return f"ix_{self.plural}_owner_id"

    def column_args(self, field: Field) -> str:
        """A field's column; an owned aggregate's unique field is unique per owner instead (a
        table constraint), so that a 409 never tells one principal what another holds."""
        if self.owned and field.unique:
            return replace(field, unique=False).column_args
        return field.column_args

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


def joinable_contexts() -> list[RegisteredContext]:
    """The registered contexts an aggregate may join."""
    return [context for context in registered_contexts() if context.joinable]


def names_bound_in(source: str) -> set[str]:
    """The names a module defines or imports, at any depth; not those its comments, docstrings
    or other strings merely mention."""
    bound: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        match node:
            case ast.ClassDef(name=name) | ast.FunctionDef(name=name):
                bound.add(name)
            case ast.AsyncFunctionDef(name=name) | ast.TypeAlias(name=ast.Name(id=name)):
                bound.add(name)
            case ast.Import(names=aliases) | ast.ImportFrom(names=aliases):
                bound.update((alias.asname or alias.name).partition(".")[0] for alias in aliases)
            case ast.Name(id=name, ctx=ast.Store()):
                bound.add(name)
    return bound


def names_bound_in_file(path: Path) -> set[str]:
    """names_bound_in the module at `path`; refused if it is not Python that parses."""
    try:
        return names_bound_in(path.read_text())
    except SyntaxError as error:
        where = f"{path.relative_to(ROOT)}, line {error.lineno}"
        raise Refused(f"{where} does not parse ({error.msg}): fix it first") from None


def choose_context(name: str | None) -> BoundedContext:
    """The context named, registered or new; refused if the name cannot be one."""
    contexts = registered_contexts()
    if not name:
        known = ", ".join(c.name for c in contexts if c.joinable)
        choices = f"one of {known}, or a new one" if known else "none exists yet: name a new one"
        raise Refused(f"name the aggregate's bounded context (CONTEXT=, --context): {choices}")
    check_name(name, "context", MAX_CONTEXT_NAME_LENGTH)
    for context in contexts:
        if context.name == name and not context.joinable:
            raise Refused(
                f"the {name} context takes no generated aggregate (src/service/contexts.py has "
                f"no line {BoundedContext(name, context.unit_of_work).repositories_marker!r})"
            )
        if context.name == name:
            return BoundedContext(name, context.unit_of_work)
    unit_of_work = unit_of_work_class(name)
    for path in sorted([*(ROOT / "src").rglob("*.py"), *(ROOT / "tests").rglob("*.py")]):
        if unit_of_work in names_bound_in_file(path):
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
    owned: bool = True,
    migrate: bool = True,
) -> list[Path]:
    """Write the aggregate into `context` (registered or new), owned by whoever creates each
    one or shared, and register it; return every file written or changed."""
    singular = check_name(singular, "name")
    plural = check_name(plural or plural_of(singular), "plural name")
    if plural == singular:
        raise Refused(f"the plural of {singular!r} must differ from it (give --plural)")
    for name in (singular, plural):
        if name in RESERVED_AGGREGATE_NAMES:
            raise Refused(f"name {name!r} is taken by the generated code")
    fields = parse_fields(spec)
    if owned and any(field.name == OWNER for field in fields):
        raise Refused(
            f"field {OWNER!r}: an owned aggregate has one already (the creator's subject); "
            "rename the field, or make the aggregate shared (OWNED=no)"
        )
    aggregate = Aggregate(singular, plural, fields, choose_context(context), owned)
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
    """The revision Alembic wrote creates the aggregate's table (an owned one's with its owner
    column and the index its lists read through), the index of each equality filter, the
    trigram index of its substring filters, and, as the first of a new context, the outbox's
    tables too."""
    tables = [aggregate.plural]
    if aggregate.context.new:
        tables += [OutboxEventRow.__tablename__, OutboxLeaseRow.__tablename__]
    text = "".join(revision.read_text() for revision in revisions)
    missing = [t for t in tables if f"op.create_table({t!r}" not in text]
    indexes = [name for q in aggregate.indexed_filters for name, _ in aggregate.filter_indexes(q)]
    expected = {f"index {name!r}": f"create_index({name!r}" for name in indexes}
    if aggregate.searched_filters:
        index = f"{aggregate.plural}_search"
        expected[f"trigram index {index!r}"] = f"CREATE VIRTUAL TABLE {index} USING fts5("
    if aggregate.owned:
        expected[f"column {OWNER!r}"] = f"sa.Column({OWNER!r}"
        expected[f"index {aggregate.owner_index!r}"] = f"create_index({aggregate.owner_index!r}"
    missing += [what for what, written in expected.items() if written not in text]
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
    parser.add_argument(
        "--owned",
        choices=("yes", "no"),
        default="yes",
        help="yes (the default): each belongs to the principal who created it; "
        "no: shared by every signed-in principal",
    )
    args = parser.parse_args(argv)
    try:
        written = generate(
            args.name, args.fields, args.plural, context=args.context, owned=args.owned == "yes"
        )
    except Refused as refusal:
        print(f"make aggregate: {refusal}; nothing was written", file=sys.stderr)
        return 2
    for path in written:
        print(f"  wrote {path.relative_to(ROOT)}")
    openapi.regenerate()  # the document and the client gain the new routes
    return 0


if __name__ == "__main__":
    sys.exit(main())
