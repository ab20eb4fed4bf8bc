"""The layer rules (pyproject.toml, [tool.importlinter]) hold for the code as it is."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What the use cases may take of OpenTelemetry: its API. Which SDK, exporter and
# instrumentations run is the container's choice (import-linter cannot tell an external
# package's parts apart).
OPENTELEMETRY_API = {"opentelemetry", "opentelemetry.trace", "opentelemetry.context"}


def test_every_layer_contract_is_kept() -> None:
    result = subprocess.run(
        [Path(sys.executable).with_name("lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_the_use_cases_trace_through_opentelemetry_s_api_only() -> None:
    imported = {
        (path.name, name)
        for path in (ROOT / "src" / "service").glob("*.py")
        for name in _imported_modules(path)
        if name.split(".")[0] == "opentelemetry"
    }

    assert imported  # service/tracing.py uses it
    assert {(path, name) for path, name in imported if name not in OPENTELEMETRY_API} == set()


def _imported_modules(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names
