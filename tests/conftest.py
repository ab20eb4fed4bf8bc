import pytest

from tests.measurements import RECORDED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RECORDED:
        terminalreporter.section("measured")
        for line in RECORDED:
            terminalreporter.write_line(line)
