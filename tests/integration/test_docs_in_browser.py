"""/docs and /redoc open in a real browser with no network beyond 127.0.0.1, and show every
operation of the API: their scripts and styles come from the app, not from a CDN.

Debian's Chromium, headless: every host name but 127.0.0.1 resolves to nothing, so a page that
still needed a CDN would stay blank.
"""

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.process import AppProcess

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless",
    "--no-sandbox",  # as root, in a container
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--virtual-time-budget=15000",  # let the page's scripts run to completion
    "--window-size=1280,2400",
]
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppProcess]:
    process = AppProcess(tmp_path_factory.mktemp("docs-app"), module="entrypoints")
    process.extra_env = {"APP_STORAGE": "memory"}
    try:
        process.start()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def operations(app: AppProcess) -> list[tuple[str, str, str]]:
    """(method, path, operationId) of every operation the app documents."""
    schema: dict[str, Any] = httpx.get(f"{app.base_url}/openapi.json", trust_env=False).json()
    return [
        (method, path, operation["operationId"])
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def browse(url: str, profile: Path, *extra: str) -> str:
    """The DOM of `url` once its scripts have run, as headless Chromium renders it."""
    assert CHROMIUM is not None
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *extra, "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_swagger_ui_renders_every_operation_without_any_network(
    app: AppProcess, operations: list[tuple[str, str, str]], tmp_path: Path
) -> None:
    page = browse(f"{app.base_url}/docs", tmp_path / "profile")

    missing = [
        f"{method.upper()} {path}"
        for method, path, _ in operations
        if f'class="opblock opblock-{method}' not in page or f'data-path="{path}"' not in page
    ]
    assert 'class="swagger-ui"' in page
    assert missing == [], f"not rendered: {missing}"
    assert page.count("opblock-summary-path") >= len(operations)
    # The bearer scheme is understood: an Authorize button, and a lock on protected operations.
    assert "btn authorize" in page
    assert page.count("authorization__btn") >= len(operations) // 2


def test_redoc_renders_every_operation_without_any_network(
    app: AppProcess, operations: list[tuple[str, str, str]], tmp_path: Path
) -> None:
    page = browse(f"{app.base_url}/redoc", tmp_path / "profile")

    missing = [f"{m.upper()} {p}" for m, p, id in operations if f"operation/{id}" not in page]
    assert "redoc-wrap" in page
    assert missing == [], f"not rendered: {missing}"


def test_the_docs_pages_name_no_host_but_their_own(app: AppProcess) -> None:
    for path in ("/docs", "/redoc"):
        html = httpx.get(f"{app.base_url}{path}", trust_env=False).text
        assert "cdn." not in html, html
        assert "https://" not in html, html
