"""`make client`: the app's OpenAPI document into docs/openapi.json, and the typed Python client
openapi-python-client generates from it into clients/python/. `make test` checks that both
are what the app's routes make now, so every change of the API shows in review."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "docs" / "openapi.json"
CLIENT = ROOT / "clients" / "python"
CONFIG = Path(__file__).with_name("openapi_client.yaml")
PACKAGE = "api_client"


def document() -> dict[str, Any]:
    """The OpenAPI document the app serves (built on the in-memory store: no node needed)."""
    # Imported here: `make aggregate` and `make fork` import this module before they change
    # the routes, and regenerate in a process of its own (`regenerate`).
    from dependency_injector import providers

    from entrypoints.app import create_app
    from entrypoints.container import Container
    from entrypoints.settings import Settings

    container = Container()
    container.settings.override(providers.Object(Settings(storage="memory")))
    schema: dict[str, Any] = create_app(container).openapi()
    return schema


def as_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def generate_client(document_path: Path, output: Path) -> str:
    """Generate the client package into `output`; return what the generator printed. It fails
    on any warning: a warning means an operation or a model the client would lack."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(document_path),
            "--output-path",
            str(output),
            "--config",
            str(CONFIG),
            "--meta",
            "uv",
            "--overwrite",
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        cwd=output.parent,
        env=_with_venv_on_path(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"openapi-python-client failed:\n{done.stdout}{done.stderr}")
    return done.stdout + done.stderr


def _with_venv_on_path() -> dict[str, str]:
    """The post hooks call `ruff`: the one installed beside this Python."""
    bin_dir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}


def regenerate() -> None:
    """`make client`, in a new process: the routes were just changed on disk."""
    subprocess.run([sys.executable, "-m", "tools.openapi"], cwd=ROOT, check=True)


def main() -> int:
    DOCUMENT.write_text(as_text(document()))
    CLIENT.parent.mkdir(parents=True, exist_ok=True)
    print(generate_client(DOCUMENT, CLIENT), end="")
    print(f"wrote {DOCUMENT.relative_to(ROOT)}, and the client package in clients/python")
    return 0


if __name__ == "__main__":
    sys.exit(main())
