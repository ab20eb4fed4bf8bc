"""The OpenAPI document: what a client generator needs of it, and the committed copies
(docs/openapi.json, clients/python/) that every API change must update (`make client`)."""

import difflib
import filecmp
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tools import openapi

PROBLEM = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi.document()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]


def test_every_operation_id_is_unique_and_names_its_tag_and_function(
    document: dict[str, Any],
) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]

    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    for _, _, operation in operations(document):
        tag, _, function = operation["operationId"].partition("-")
        assert tag == operation["tags"][0], operation
        assert re.fullmatch(r"[a-z][a-z0-9_]*", function), operation


def test_every_error_response_is_the_one_problem_component(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400 and "application/problem+json" in response.get("content", {}):
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == PROBLEM, (method, path, status)
    problem = document["components"]["schemas"]["Problem"]
    assert problem["properties"]["errors"]["anyOf"][0]["items"] == {
        "$ref": "#/components/schemas/ProblemError"
    }


def test_every_header_parameter_is_a_plain_string(document: dict[str, Any]) -> None:
    headers = [
        (path, parameter)
        for _, path, operation in operations(document)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "header"
    ]

    if not headers:  # a fork before its first idempotent route
        pytest.skip("no operation takes a header")
    for path, parameter in headers:
        assert parameter["schema"]["type"] == "string", (path, parameter)


def _diff(committed: str, current: str, name: str) -> str:
    lines = difflib.unified_diff(
        committed.splitlines(), current.splitlines(), f"committed {name}", "the app's", lineterm=""
    )
    return "\n".join(list(lines)[:80])


def test_the_committed_document_is_the_one_the_app_serves(document: dict[str, Any]) -> None:
    committed = openapi.DOCUMENT.read_text()
    current = openapi.as_text(document)

    assert committed == current, (
        "docs/openapi.json is stale: run `make client` and commit what it writes\n"
        + _diff(committed, current, "docs/openapi.json")
    )


def _files(root: Path) -> set[Path]:
    return {
        path.relative_to(root)
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_committed_client_is_the_one_generated_from_the_document(
    document: dict[str, Any], tmp_path: Path
) -> None:
    (tmp_path / "openapi.json").write_text(openapi.as_text(document))
    fresh = tmp_path / "python"
    openapi.generate_client(tmp_path / "openapi.json", fresh)

    committed = _files(openapi.CLIENT)
    generated = _files(fresh)
    stale = "clients/python is stale: run `make client` and commit what it writes"
    assert committed == generated, f"{stale}; files differ: {sorted(committed ^ generated)}"
    differing = [
        path
        for path in sorted(generated)
        if not filecmp.cmp(openapi.CLIENT / path, fresh / path, shallow=False)
    ]
    diffs = [
        _diff((openapi.CLIENT / path).read_text(), (fresh / path).read_text(), str(path))
        for path in differing
    ]
    assert not differing, f"{stale}\n" + "\n".join(diffs)


def test_the_client_has_a_function_for_every_operation(document: dict[str, Any]) -> None:
    modules = {path.stem for path in (openapi.CLIENT / openapi.PACKAGE / "api").rglob("*.py")} - {
        "__init__"
    }

    wanted = {
        operation["operationId"].replace("-", "_") for _, _, operation in operations(document)
    }

    assert wanted == modules, sorted(wanted ^ modules)
    assert json.loads(openapi.DOCUMENT.read_text())["openapi"].startswith("3.")
