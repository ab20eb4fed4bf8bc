"""The OpenAPI schema describes the API: schemathesis, with every check but
positive_data_acceptance (business rules refuse some input the schema allows), against the app
on a real node, finds nothing."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.process import AppProcess

MAX_EXAMPLES = 25  # per operation and phase: bounded, so the run takes well under a minute


@pytest.fixture
def app(tmp_path: Path) -> Iterator[AppProcess]:
    process = AppProcess(tmp_path)
    try:
        process.start()
        yield process
    finally:
        process.stop()


def test_schemathesis_finds_no_failure_in_any_operation(app: AppProcess) -> None:
    st = str(Path(sys.executable).with_name("st"))
    command = [
        st,
        "run",
        f"{app.base_url}/openapi.json",
        "--checks",
        "all",
        "--exclude-checks",
        "positive_data_acceptance",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--workers",
        "2",
        "--no-color",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)

    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
