"""`make aggregate` refuses what it cannot generate correctly, before writing anything; and what
it would write for an owned aggregate and a shared one differs only where it should."""

import ast
from pathlib import Path

import pytest

from tools import aggregate as aggregate_tool
from tools.aggregate import (
    ROOT,
    Aggregate,
    BoundedContext,
    generate,
    joinable_contexts,
    main,
    plural_of,
    registered_contexts,
    render,
    unit_of_work_class,
)
from tools.fields import Refused, parse_fields

NEW_CONTEXT = "widget_works"  # a context no project is likely to hold


def snapshot() -> dict[str, str]:
    """Every file the generator could write or edit, with its text ('' when absent), and the
    migration histories there are."""
    context = BoundedContext(NEW_CONTEXT, unit_of_work_class(NEW_CONTEXT), new=True)
    aggregate = Aggregate("widget", "widgets", parse_fields("name:str"), context)
    paths = [*aggregate.files().values(), *(r.path for r in aggregate.registrations())]
    texts = {str(p): p.read_text() if p.exists() else "" for p in paths}
    return {
        **texts,
        "migrations": " ".join(sorted(p.name for p in (ROOT / "migrations").iterdir())),
    }


@pytest.mark.parametrize(
    ("name", "fields", "reason"),
    [
        ("Widget", "name:str", "not a lower-case identifier"),
        ("wid-get", "name:str", "not a lower-case identifier"),
        ("class", "name:str", "Python keyword"),
        ("match", "name:str", "Python keyword"),
        ("order", "name:str", "SQL reserved word"),
        ("widget", "name:text", "unknown kind 'text'"),
        ("widget", "name:str name:int", "appears twice"),
        ("widget", "select:str", "SQL reserved word"),
        ("widget", "from:str", "Python keyword"),
        ("widget", "id:int", "taken by the generated code"),
        ("widget", "name", "cannot read field"),
        ("widget", "size:int(4)", "only str takes a length"),
        ("widget", "at:datetime!", "cannot be unique"),
        ("widget", "due:date due_before:int", "filters of the same name"),
        ("widget", "", "at least one field"),
        ("w" * 33, "name:str", "longer than 32"),
        ("widget", f"{'n' * 33}:str", "longer than 32"),
        ("principal", "name:str", "taken by the generated code"),  # every route's parameter
        ("widget", "name:str owner:str", "an owned aggregate has one already"),
    ],
)
def test_a_request_it_cannot_generate_is_refused_and_nothing_is_written(
    name: str, fields: str, reason: str
) -> None:
    before = snapshot()

    with pytest.raises(Refused, match=reason):
        generate(name, fields, context=NEW_CONTEXT, migrate=False)

    assert snapshot() == before


@pytest.mark.parametrize(
    ("context", "reason"),
    [
        (None, "name the aggregate's bounded context"),
        ("", "name the aggregate's bounded context"),
        ("Widgets", "not a lower-case identifier"),
        ("widget-works", "not a lower-case identifier"),
        ("widget_works_", "not a lower-case identifier"),
        ("lambda", "Python keyword"),
        ("type", "Python keyword"),
        ("table", "SQL reserved word"),
        ("w" * 21, "longer than 20"),
        ("abstract", "would be AbstractUnitOfWork, a name src/"),  # the base class
        ("in_memory", "would be InMemoryUnitOfWork, a name src/"),  # a store's class
        ("ledger", "would be LedgerUnitOfWork, a name tests/"),  # the tests' own context
    ],
)
def test_a_missing_or_unusable_context_is_refused_and_nothing_is_written(
    context: str | None, reason: str
) -> None:
    before = snapshot()

    with pytest.raises(Refused, match=reason):
        generate("widget", "name:str", context=context, migrate=False)

    assert snapshot() == before


def test_without_a_context_the_command_exits_with_2_naming_the_contexts_there_are(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = snapshot()

    assert main(["widget", "name:str"]) == 2

    error = capsys.readouterr().err
    assert "nothing was written" in error
    names = [context.name for context in joinable_contexts()]
    assert f"one of {', '.join(names)}, or a new one" in error if names else "none exists" in error
    assert snapshot() == before


def test_owned_must_be_yes_or_no(capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot()

    with pytest.raises(SystemExit) as exit:
        main(["widget", "name:str", "--context", NEW_CONTEXT, "--owned", "maybe"])

    assert exit.value.code == 2
    assert "invalid choice: 'maybe'" in capsys.readouterr().err
    assert snapshot() == before


PLATFORM = [c.name for c in registered_contexts() if not c.joinable]


@pytest.mark.skipif(not PLATFORM, reason="every registered context takes aggregates")
def test_a_context_without_marker_lines_takes_no_aggregate_and_nothing_is_written() -> None:
    """The identity context is the platform's: who signs in is no place for an aggregate."""
    before = snapshot()

    with pytest.raises(Refused, match=f"the {PLATFORM[0]} context takes no generated aggregate"):
        generate("widget", "name:str", context=PLATFORM[0], migrate=False)

    assert snapshot() == before
    assert PLATFORM[0] not in {context.name for context in joinable_contexts()}


def rendered(owned: bool) -> dict[str, str]:
    """What the generator would write for a widget, by path, without writing it."""
    context = BoundedContext(NEW_CONTEXT, unit_of_work_class(NEW_CONTEXT), new=True)
    aggregate = Aggregate("widget", "widgets", parse_fields("name:str! size:int?"), context, owned)
    return {str(path.relative_to(ROOT)): text for path, text in render(aggregate).items()}


def parameters(source: str) -> dict[str, list[str]]:
    """The parameter names of each public async function a module defines."""
    return {
        node.name: [argument.arg for argument in node.args.args]
        for node in ast.parse(source).body
        if isinstance(node, ast.AsyncFunctionDef) and not node.name.startswith("_")
    }


@pytest.mark.parametrize("owned", [True, False], ids=["owned", "shared"])
def test_every_route_needs_a_principal_and_only_an_owned_aggregates_use_cases_take_it(
    owned: bool,
) -> None:
    files = rendered(owned)
    use_cases = parameters(files["src/service/widgets.py"])
    routes = parameters(files["src/entrypoints/api/widgets.py"])

    verbs = ("create_widget", "get_widget", "list_widgets", "replace_widget", "delete_widget")
    assert set(use_cases) == set(routes) == set(verbs)
    assert all("principal" in names for names in routes.values())
    for names in use_cases.values():
        assert names[0] == "uow"
        assert (names[1] == "principal") is owned
        assert ("principal" in names) is owned
    assert ("owner" in files["src/domain/widgets.py"]) is owned
    assert ("owner" in files["src/adapters/widgets.py"]) is owned
    assert "PROTECTED_OPERATION" in files["src/entrypoints/api/widgets.py"]


def project_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str = "") -> None:
    """A project at tmp_path whose src holds this checkout's registry and `module`."""
    registry = tmp_path / "src" / "adapters" / "contexts.py"
    registry.parent.mkdir(parents=True)
    registry.write_text((ROOT / "src" / "adapters" / "contexts.py").read_text())
    (tmp_path / "src" / "entrypoints.py").write_text(module)
    monkeypatch.setattr(aggregate_tool, "ROOT", tmp_path)


def test_a_new_context_whose_migrations_folder_exists_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_with(tmp_path, monkeypatch)
    (tmp_path / "migrations" / NEW_CONTEXT).mkdir(parents=True)  # left by a failed attempt

    with pytest.raises(Refused, match=f"migrations/{NEW_CONTEXT} exists"):
        aggregate_tool.choose_context(NEW_CONTEXT)


def test_a_new_context_whose_class_name_is_only_mentioned_in_comments_and_docstrings_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's example once was: BillingUnitOfWork stood in docstrings and comments, and
    the generator refused `CONTEXT=billing` for it."""
    project_with(
        tmp_path,
        monkeypatch,
        '"""e.g. a WidgetWorksUnitOfWork."""\n'
        "# store.unit_of_work(WidgetWorksUnitOfWork)\n"
        'EXAMPLE = "WidgetWorksUnitOfWork"\n',
    )

    context = aggregate_tool.choose_context(NEW_CONTEXT)

    assert context == BoundedContext(NEW_CONTEXT, "WidgetWorksUnitOfWork", new=True)


@pytest.mark.parametrize(
    "module",
    [
        "class WidgetWorksUnitOfWork: ...\n",
        "from service.contexts import WidgetWorksUnitOfWork\n",
        "from service import contexts as WidgetWorksUnitOfWork\n",
        "import WidgetWorksUnitOfWork.sub\n",
        "WidgetWorksUnitOfWork = object\n",
        "WidgetWorksUnitOfWork: type = object\n",
        "type WidgetWorksUnitOfWork = object\n",
        "def build() -> None:\n    class WidgetWorksUnitOfWork: ...\n",
        "async def WidgetWorksUnitOfWork() -> None: ...\n",
    ],
)
def test_a_new_context_whose_class_name_the_code_defines_or_imports_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    project_with(tmp_path, monkeypatch, module)

    with pytest.raises(Refused, match="would be WidgetWorksUnitOfWork, a name src/entrypoints"):
        aggregate_tool.choose_context(NEW_CONTEXT)


def test_a_new_context_is_refused_while_a_module_does_not_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its names cannot be read, so a clash cannot be ruled out."""
    project_with(tmp_path, monkeypatch, "class WidgetWorksUnitOfWork(\n")

    with pytest.raises(Refused, match=r"src/entrypoints\.py, line 1 does not parse"):
        aggregate_tool.choose_context(NEW_CONTEXT)


def test_plurals_follow_english_spelling_for_the_common_cases() -> None:
    assert [plural_of(s) for s in ("invoice", "box", "category", "day", "batch")] == [
        "invoices",
        "boxes",
        "categories",
        "days",
        "batches",
    ]


REGISTERED = [(c.name, name) for c in joinable_contexts() for name in c.aggregates]


@pytest.mark.skipif(not REGISTERED, reason="no aggregate is registered")
@pytest.mark.parametrize("in_its_context", [True, False], ids=["same", "another"])
def test_an_aggregate_that_is_registered_already_is_refused_in_any_context(
    in_its_context: bool,
) -> None:
    context, plural = REGISTERED[0]
    before = snapshot()

    with pytest.raises(Refused, match="registered already"):
        generate(
            "whatever",
            "name:str",
            plural=plural,
            context=context if in_its_context else NEW_CONTEXT,
            migrate=False,
        )

    assert snapshot() == before
