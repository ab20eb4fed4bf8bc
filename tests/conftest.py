from typing import Any

import pytest

from tests.measurements import RECORDED

# The longest modules (a cluster each, or a copy of the project to lint and test), started
# first: the workers of `make test` (pytest-xdist, a module per worker at a time) then end
# together instead of one of them running a long module alone at the end.
LONGEST_FIRST = [
    "test_cluster_faults.py",
    "test_day_two.py",
    "test_fork.py",
    "test_partitions.py",
    "test_bench.py",
    "test_documented_commands.py",
    "test_cluster.py",
    "test_backup.py",
    "test_generator.py",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: each module's tests keep their order


def pytest_sessionfinish(session: pytest.Session) -> None:
    """In a pytest-xdist worker, hand its figures to the controller, which prints them all."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["measured"] = list(RECORDED)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    RECORDED.extend(node.workeroutput.get("measured", []))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if RECORDED:
        terminalreporter.section("measured")
        for line in RECORDED:
            terminalreporter.write_line(line)
